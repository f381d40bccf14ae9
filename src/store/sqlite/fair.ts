import { QUEUE_POSITION_CAP, type JobClaimParams, type JobQueuePositionParams, type UserRecord, type UserSetSchedulingParams } from '../store.js';
import { assertSchedulingSettings, turnOf } from '../scheduling.js';
import { priorityRank } from '../vocabulary.js';
import type { SqliteDb } from './db.js';
import { toUser, type JobRow, type UserRow } from './rows.js';

/**
 * The SQL of the fair scheduler (docs/architecture.md, "Fair dispatch"): the fair pick of a
 * claim, the estimate of a pending job's place in the fair order, and an account's settings.
 * `fair_accounts` (migration 0010) holds each account's virtual time and pending count; the
 * triggers there keep the count and start an account that comes back at the current virtual time.
 */

/** Queue positions within an account below this are counted from the front of its queue, larger ones from the back. */
const NEAR_FRONT = 128;
/** How many pages of accounts one claim looks at before it stops (each page: those with the next lowest passes). */
const MAX_PAGES = 8;

interface Candidate {
  userId: string;
  pass: number;
  since: number;
  weight: number;
  maxRunning: number | null;
  maxPerModel: number | null;
  running: number;
  live: boolean;
  /** Whether it started a job in this claim (its pass moved). */
  moved: boolean;
}

/** Named parameters of the claim's statements, as `jobs.claim` builds them. */
export interface PickArgs {
  owner: string;
  expiry: number;
  now: number;
  exclude: string;
  only: string;
}

const before = (a: Candidate, b: Candidate) =>
  a.pass < b.pass || (a.pass === b.pass && (a.since < b.since || (a.since === b.since && a.userId < b.userId)));

/**
 * Up to `limit` pending jobs, in weighted round-robin across accounts; runs inside the claim's
 * write transaction. Accounts come a page at a time in pass order, so the work is
 * O(jobs claimed + accounts looked at), never O(backlog).
 */
export function pickFresh(db: SqliteDb, p: JobClaimParams, args: PickArgs, models: string, limit: number): JobRow[] {
  const picked: JobRow[] = [];
  const cands: Candidate[] = [];
  const defaultMax = p.defaultMaxRunning ?? null;
  const defaultPerModel = p.defaultMaxRunningPerModel ?? null;
  const head = db.sql(`UPDATE jobs SET status = 'processing', attempts = attempts + 1, lease_owner = @owner, lease_token = lease_token + 1,
      lease_expires_at = @expiry, started_at = COALESCE(started_at, MAX(@now, created_at))
    WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_fair WHERE user_id = @user AND status = 'pending' AND ${models}
      AND (@perModel IS NULL OR COALESCE(model_id, '') NOT IN (SELECT COALESCE(model_id, '') FROM jobs INDEXED BY jobs_running_by_user
        WHERE user_id = @user AND status = 'processing' GROUP BY COALESCE(model_id, '') HAVING COUNT(*) >= @perModel))
      ORDER BY priority DESC, created_at, id LIMIT @want)
    RETURNING *`);
  const page = db.sql(`SELECT f.user_id, f.pass, f.active_since, u.weight, u.max_running, u.max_running_per_model
    FROM fair_accounts f INDEXED BY fair_accounts_active JOIN users u ON u.id = f.user_id
    WHERE f.active = 1 AND f.user_id NOT IN (SELECT value FROM json_each(@known))
    ORDER BY f.pass, f.active_since, f.user_id LIMIT @size`);
  const running = db.sql(`SELECT COUNT(*) AS n FROM jobs INDEXED BY jobs_running_by_user WHERE user_id = ? AND status = 'processing'`);
  let pages = 0;
  let limited = false;
  while (picked.length < limit) {
    let best: Candidate | undefined;
    for (const c of cands) if (c.live && (!best || before(c, best))) best = c;
    if (!best) {
      if (pages >= MAX_PAGES) break;
      pages++;
      const rows = page.all({ known: JSON.stringify(cands.map((c) => c.userId)), size: (limit - picked.length + 4) * pages }) as {
        user_id: string; pass: number; active_since: number; weight: number; max_running: number | null; max_running_per_model: number | null;
      }[];
      if (rows.length === 0) break;
      for (const r of rows) {
        const maxRunning = r.max_running ?? defaultMax;
        cands.push({
          userId: r.user_id, pass: r.pass, since: r.active_since, weight: r.weight, maxRunning,
          maxPerModel: r.max_running_per_model ?? defaultPerModel,
          running: maxRunning === null ? 0 : (running.get(r.user_id) as { n: number }).n,
          live: true,
          moved: false,
        });
      }
      continue;
    }
    if (best.maxRunning !== null && best.running >= best.maxRunning) {
      best.live = false;
      limited = true;
      continue;
    }
    // How many turns in a row it gets before another account's pass is lower: taken by one
    // statement, up to what is left of the batch and of its limit (one at a time with a
    // per-model limit, which the statement counts job by job).
    let second: Candidate | undefined;
    for (const c of cands) if (c.live && c !== best && (!second || before(c, second))) second = c;
    const turn = turnOf(best.weight);
    const gap = second ? second.pass - best.pass : 0;
    let want = best.maxPerModel !== null ? 1
      : !second ? limit - picked.length
        : before({ ...best, pass: 0 }, { ...second, pass: 0 }) ? Math.floor(gap / turn) + 1 : Math.ceil(gap / turn);
    want = Math.min(want, limit - picked.length, best.maxRunning === null ? Infinity : best.maxRunning - best.running);
    const rows = (head.all({ ...args, user: best.userId, perModel: best.maxPerModel, want }) as JobRow[])
      .sort((a, b) => b.priority - a.priority || a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    if (rows.length < want) {
      // Nothing more to take from it in this claim; with a per-model limit, it may have been passed over for it.
      best.live = false;
      limited ||= best.maxPerModel !== null;
      if (rows.length === 0) continue;
    }
    picked.push(...rows);
    best.running += rows.length;
    best.pass += rows.length * turn;
    best.moved = true;
  }
  const save = db.sql('UPDATE fair_accounts SET pass = ? WHERE user_id = ?');
  for (const c of cands) if (c.moved) save.run(c.pass, c.userId);
  if (limited && p.onLimited) queueMicrotask(p.onLimited);
  return picked;
}

/**
 * An estimate of how many pending jobs start before this one in the fair order: those ahead of
 * it in its account's own queue (counted from whichever end is nearer: the account's pending
 * count is kept), then, for each account whose virtual time is below the one this job will
 * start at, the jobs it starts first at its weight, at most what it has pending. Costs
 * O(accounts with work ahead in virtual time), never O(backlog) at either end of a queue.
 * Limits and excluded models are left out: it is an estimate.
 */
export function queuePosition(db: SqliteDb, p: JobQueuePositionParams): number {
  // (A job that is no longer pending gets the count of those that would start before it.)
  const job = db.sql(`SELECT user_id, priority, created_at FROM jobs WHERE id = ?`).get(p.id) as
    { user_id: string; priority: number; created_at: number } | undefined;
  if (!job) return 0;
  const mine = db.sql(`SELECT f.pass, f.pending, f.active_since, u.weight FROM fair_accounts f JOIN users u ON u.id = f.user_id WHERE f.user_id = ?`)
    .get(job.user_id) as { pass: number; pending: number; active_since: number; weight: number } | undefined;
  if (!mine) return 0;
  const at = { user: job.user_id, priority: job.priority, createdAt: job.created_at, id: p.id, near: NEAR_FRONT, cap: QUEUE_POSITION_CAP };
  const count = (where: string, limit: 'near' | 'cap') => (db.sql(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs INDEXED BY jobs_fair
    WHERE user_id = @user AND status = 'pending' AND ${where} LIMIT @${limit})`).get(at) as { n: number }).n;
  /** The account's pending jobs from this one back (itself included), up to the limit. */
  const behind = (limit: 'near' | 'cap') => count('priority = @priority AND (created_at, id) >= (@createdAt, @id)', limit) + count('priority < @priority', limit);
  // A job just created is most likely at the back of its queue: those behind it first.
  const behindNear = p.newest ? behind('near') : NEAR_FRONT;
  let ahead: number;
  if (behindNear < NEAR_FRONT) ahead = Math.max(0, mine.pending - behindNear);
  else {
    ahead = count('priority = @priority AND (created_at, id) < (@createdAt, @id)', 'near');
    if (ahead < NEAR_FRONT) ahead += count('priority > @priority', 'cap');
    else ahead = Math.max(NEAR_FRONT, mine.pending - behind('cap'));
  }
  const startsAt = mine.pass + ahead * turnOf(mine.weight);
  const others = db.sql(`SELECT f.user_id, f.pass, f.pending, f.active_since, u.weight FROM fair_accounts f INDEXED BY fair_accounts_active
      JOIN users u ON u.id = f.user_id WHERE f.active = 1 AND f.pass <= ? AND f.user_id <> ?`)
    .all(startsAt, job.user_id) as { user_id: string; pass: number; pending: number; active_since: number; weight: number }[];
  let total = ahead;
  for (const o of others) {
    // Its i-th next job starts at pass + i * turn; a tie goes to the account with work the longest, as in the claim.
    const turn = turnOf(o.weight);
    const gap = startsAt - o.pass;
    const wins = o.active_since < mine.active_since || (o.active_since === mine.active_since && o.user_id < job.user_id);
    const first = gap % turn === 0 ? gap / turn + (wins ? 1 : 0) : Math.floor(gap / turn) + 1;
    total += Math.min(o.pending, first);
    if (total >= QUEUE_POSITION_CAP) return QUEUE_POSITION_CAP;
  }
  return total;
}

export function setScheduling(db: SqliteDb, p: UserSetSchedulingParams): UserRecord | null {
  assertSchedulingSettings(p);
  const sets: string[] = [];
  const args: unknown[] = [];
  const set = (column: string, value: unknown) => { sets.push(`${column} = ?`); args.push(value); };
  if (p.weight !== undefined) set('weight', p.weight);
  if (p.maxRunning !== undefined) set('max_running', p.maxRunning);
  if (p.maxRunningPerModel !== undefined) set('max_running_per_model', p.maxRunningPerModel);
  if (p.maxPriority !== undefined) set('max_priority', priorityRank(p.maxPriority));
  const row = (sets.length === 0
    ? db.sql('SELECT * FROM users WHERE id = ?').get(p.userId)
    : db.sql(`UPDATE users SET ${sets.join(', ')} WHERE id = ? RETURNING *`).get(...args, p.userId)) as UserRow | undefined;
  return row ? toUser(row) : null;
}
