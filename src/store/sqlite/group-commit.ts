import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** One write of the batch threw: the batch is rolled back and run again without it. */
class WriteFailed {
  constructor(readonly item: Pending, readonly err: unknown) {}
}

/**
 * Group commit: writes submitted in the same event-loop turn share one immediate transaction,
 * committed at `setImmediate` (or at once when `maxBatch` are waiting). A commit costs far more
 * than the statements it carries, so a busy server pays it once per turn instead of per write.
 *
 * A write that throws fails alone: the transaction is rolled back and the batch runs again
 * without it (writes are statements only, so running one again is safe). That costs a re-run
 * only when something throws, where a savepoint around each write would cost on every write.
 * Refusals a write answers with (insufficient credits, a stale lease) are results, not throws.
 * Every caller's promise settles only after the COMMIT: what it got is durable, and if the
 * commit itself fails, every write of the batch is rejected.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly batch: Database.Transaction<(items: Pending[]) => unknown[]>;

  constructor(private readonly db: Database.Database, private readonly maxBatch = 256) {
    this.batch = db.transaction((items: Pending[]) => items.map((item) => {
      try {
        return item.work();
      } catch (err) {
        // Some errors (a full disk, I/O) make SQLite roll back the whole transaction itself:
        // then the batch cannot go on, and everything in it fails.
        if (!this.db.inTransaction) throw err;
        throw new WriteFailed(item, err);
      }
    }));
  }

  /** Queues `work` (synchronous statements) for the next commit; resolves with its result once committed. */
  submit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Commits what is queued now. */
  flush(): void {
    let items = this.queue;
    if (items.length === 0) return;
    this.queue = [];
    for (;;) {
      let values: unknown[];
      try {
        values = this.batch.immediate(items);
      } catch (err) {
        if (err instanceof WriteFailed) {
          err.item.reject(err.err);
          items = items.filter((item) => item !== err.item);
          if (items.length > 0) continue;
          return;
        }
        for (const item of items) item.reject(err);
        return;
      }
      items.forEach((item, i) => item.resolve(values[i]));
      return;
    }
  }
}
