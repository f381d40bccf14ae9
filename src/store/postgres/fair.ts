import { QUEUE_POSITION_CAP, type JobClaimParams, type JobQueuePositionParams, type JobRecord, type UserRecord, type UserSetSchedulingParams } from '../store.js';
import { assertSchedulingSettings } from '../scheduling.js';
import { priorityRank } from '../vocabulary.js';
import { settleEach, type BatchItemError } from './batch.js';
import { unreachable, type Sql } from './db.js';
import { toJob, toUser, type JobRow, type UserRow } from './rows.js';

/**
 * The SQL of the fair scheduler (docs/architecture.md, "Fair dispatch"). The claim and the queue
 * position are functions in the database (migrations 0011 and 0012: genjobs_fair_claim,
 * genjobs_queue_position), so a claim is one round trip however many accounts it serves.
 */

/** Queue positions within an account below this are counted from the front of its queue, larger ones from the back. */
const NEAR_FRONT = 128;

/**
 * Leases that ran out first, then pending jobs in the fair order, in the order they were picked.
 * Concurrent claims of one account wait for each other on its fair_accounts row, so its limits
 * hold exactly whatever the number of executors.
 */
export async function claim(sql: Sql, p: JobClaimParams): Promise<JobRecord[]> {
  if (p.limit <= 0) return [];
  const rows = await sql.q<JobRow>('SELECT * FROM genjobs_fair_claim($1, $2, $3, $4, $5::text[], $6::text[], $7, $8, $9)', [
    p.owner, p.now + p.leaseMs, p.now, p.maxAttempts, p.excludeModels ?? [], p.onlyModels ?? null, p.limit,
    p.defaultMaxRunning ?? null, p.defaultMaxRunningPerModel ?? null,
  ]);
  // A row with a null id says an account was held back by a limit (see genjobs_fair_claim).
  const jobs = rows.filter((r) => r.id !== null);
  if (jobs.length < rows.length) p.onLimited?.();
  return jobs.map(toJob);
}

/** Queue positions asked for in one turn, estimated by one statement (see genjobs_queue_position). */
export async function queuePositionMany(sql: Sql, items: JobQueuePositionParams[]): Promise<(number | BatchItemError)[]> {
  const one = async (p: JobQueuePositionParams) =>
    (await sql.one<{ n: number }>('SELECT genjobs_queue_position($1, $2, $3, $4) AS n', [p.id, QUEUE_POSITION_CAP, NEAR_FRONT, p.newest === true]))?.n ?? 0;
  return settleEach(items, async (all) => {
    const rows = await sql.q<{ k: number; n: number }>(`SELECT i.k::int AS k, genjobs_queue_position(i.id, $2, $3, i.newest) AS n
      FROM unnest($1::text[], $4::boolean[]) WITH ORDINALITY AS i(id, newest, k)`,
    [all.map((p) => p.id), QUEUE_POSITION_CAP, NEAR_FRONT, all.map((p) => p.newest === true)]);
    const out: number[] = new Array(all.length).fill(0);
    for (const r of rows) out[r.k - 1] = r.n;
    return out;
  }, one, unreachable);
}

export async function setScheduling(sql: Sql, p: UserSetSchedulingParams): Promise<UserRecord | null> {
  assertSchedulingSettings(p);
  const args: unknown[] = [p.userId];
  const sets: string[] = [];
  const set = (column: string, value: unknown) => sets.push(`${column} = $${args.push(value)}`);
  if (p.weight !== undefined) set('weight', p.weight);
  if (p.maxRunning !== undefined) set('max_running', p.maxRunning);
  if (p.maxRunningPerModel !== undefined) set('max_running_per_model', p.maxRunningPerModel);
  if (p.maxPriority !== undefined) set('max_priority', priorityRank(p.maxPriority));
  const row = await sql.one<UserRow>(sets.length === 0
    ? 'SELECT * FROM users WHERE id = $1'
    : `UPDATE users SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, args);
  return row ? toUser(row) : null;
}
