import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * Group commit: writes submitted in the same event-loop turn share one immediate transaction,
 * committed at `setImmediate` (or at once when `maxBatch` are waiting). A commit costs far more
 * than the statements it carries, so a busy server pays it once per turn instead of per write.
 *
 * Each write runs in a savepoint of its own: one that throws is rolled back alone and its caller
 * gets the error, the others go on. Every caller's promise settles only after the COMMIT: what it
 * got is durable, and if the commit itself fails, every write of the batch is rejected.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Runs one write; inside the batch's transaction, better-sqlite3 makes it a SAVEPOINT. */
  private readonly savepoint: (work: () => unknown) => unknown;
  private readonly batch: Database.Transaction<(items: Pending[]) => Outcome[]>;

  constructor(private readonly db: Database.Database, private readonly maxBatch = 256) {
    this.savepoint = db.transaction((work: () => unknown) => work());
    this.batch = db.transaction((items: Pending[]) => items.map((item): Outcome => {
      try {
        return { ok: true, value: this.savepoint(item.work) };
      } catch (err) {
        // Some errors (a full disk, I/O) make SQLite roll back the whole transaction: then the
        // batch cannot go on, and everything in it fails.
        if (!this.db.inTransaction) throw err;
        return { ok: false, err };
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
    const items = this.queue;
    if (items.length === 0) return;
    this.queue = [];
    let outcomes: Outcome[];
    try {
      outcomes = this.batch.immediate(items);
    } catch (err) {
      for (const item of items) item.reject(err);
      return;
    }
    outcomes.forEach((o, i) => (o.ok ? items[i]!.resolve(o.value) : items[i]!.reject(o.err)));
  }
}
