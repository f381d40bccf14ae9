import type {
  ApiKeyWithUser, JobCompleteParams, JobGetByIdParams, JobQueuePositionParams, JobRecord,
} from '../store.js';
import { Batcher, unwrap, type BatchItemError } from './batch.js';
import type { Sql } from './db.js';
import * as fair from './fair.js';
import * as jobs from './jobs.js';
import * as keys from './keys.js';
import { toJob, type JobRow } from './rows.js';

/** Up to this many calls share a statement; at most this many such statements per kind are out at once. */
const LIMITS = { maxBatch: 64, maxInFlight: 2 };

/**
 * The hot calls, batched: the ones a busy server makes many times per turn of the event loop
 * (run creations without idempotency key, completions, key lookups, job reads, queue
 * positions). Each kind gathers the calls of one turn into one statement (see `Batcher`); the
 * statements themselves are the `...Many` functions of the query modules.
 */
export class PgBatched {
  private readonly creations: Batcher<jobs.CreateItem, jobs.CreateOutcome | BatchItemError>;
  private readonly completions: Batcher<jobs.CompleteItem, JobRecord | null | BatchItemError>;
  private readonly keyLookups: Batcher<string, keys.KeyRow | null | BatchItemError>;
  private readonly jobReads: Batcher<string, JobRow | null | BatchItemError>;
  private readonly positions: Batcher<JobQueuePositionParams, number | BatchItemError>;

  constructor(sql: Sql) {
    this.creations = new Batcher((items) => jobs.createMany(sql, items), LIMITS);
    this.completions = new Batcher((items) => jobs.completeMany(sql, items), LIMITS);
    this.keyLookups = new Batcher((hashes) => keys.getByHashMany(sql, hashes), LIMITS);
    this.jobReads = new Batcher((ids) => jobs.readMany(sql, ids), LIMITS);
    this.positions = new Batcher((items) => fair.queuePositionMany(sql, items), LIMITS);
  }

  async jobCreate(p: jobs.CreateItem): Promise<jobs.CreateOutcome> {
    return unwrap(await this.creations.add(p));
  }

  async jobComplete(p: JobCompleteParams): Promise<JobRecord | null> {
    return unwrap(await this.completions.add(jobs.completeItem(p)));
  }

  async apiKeyGetByHash(keyHash: string): Promise<ApiKeyWithUser | null> {
    const row = unwrap(await this.keyLookups.add(keyHash));
    return row ? keys.toKeyWithUser(row) : null;
  }

  /** With `userId`, another account's job is not found. */
  async jobGetById(p: JobGetByIdParams): Promise<JobRecord | null> {
    const row = unwrap(await this.jobReads.add(p.id));
    return row && (p.userId === undefined || row.user_id === p.userId) ? toJob(row) : null;
  }

  async jobQueuePosition(p: JobQueuePositionParams): Promise<number> {
    return unwrap(await this.positions.add({ id: p.id, createdAt: p.createdAt, newest: p.newest === true }));
  }
}
