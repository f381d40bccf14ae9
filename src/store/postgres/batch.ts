/**
 * Gathers calls made in the same turn of the event loop and sends them to the database as one
 * statement. `run` gets the items in call order and answers one result per item, in that order;
 * each caller's promise settles with its own result.
 *
 * At most `maxInFlight` batches are sent at once: calls that arrive while they are out wait and
 * go together in the next one, so under load batches grow instead of queueing for connections.
 * A batch that fails as a whole (a bad item, a deadlock with another writer) is not the fault of
 * every caller in it: `run` decides how to answer each item (see `settleEach`).
 */
export class Batcher<I, O> {
  private queue: { item: I; resolve: (out: O) => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly opts: { maxBatch: number; maxInFlight: number },
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate: after every callback of this turn's I/O phase, so their calls join the batch.
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.item)).then(
        (outs) => batch.forEach((b, i) => b.resolve(outs[i]!)),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      ).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }
}

/**
 * Runs `all` over the items; if it throws, runs `each` on every item alone, so an error reaches
 * only the callers whose item causes it. Errors that say nothing about the items (the database
 * cannot be reached) go to every caller at once.
 */
export async function settleEach<I, O>(
  items: I[], all: (items: I[]) => Promise<O[]>, each: (item: I) => Promise<O>, isShared: (err: unknown) => boolean,
): Promise<O[]> {
  if (items.length === 1) return [await each(items[0]!)];
  try {
    return await all(items);
  } catch (err) {
    if (isShared(err)) throw err;
  }
  // Alone, one by one: the outcome of each is what the caller gets, error or not.
  const outs = await Promise.allSettled(items.map((item) => each(item)));
  return outs.map((o) => (o.status === 'fulfilled' ? o.value : new BatchItemError(o.reason) as unknown as O));
}

/** Carries one item's own error through a batch's results; the store rethrows it to that caller. */
export class BatchItemError {
  constructor(readonly cause: unknown) {}
}

/** A result of `settleEach`, or the item's error thrown. */
export function unwrap<O>(out: O | BatchItemError): O {
  if (out instanceof BatchItemError) throw out.cause;
  return out;
}
