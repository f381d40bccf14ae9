// The fault suite's verdict, read from the database and the webhook receiver once the run has
// drained: what was lost, left unfinished, charged or refunded twice, never delivered, and
// whether every account's balance is its grants less its charges plus its refunds.
import { query } from './database.mjs';

/**
 * `accepted`: the job ids the clients were given; `grants`: account id -> credits the suite
 * granted; `receiver`: the webhook receiver. Every figure in `zeros` must be 0.
 */
export async function checkBooks({ pool, accepted, grants, receiver, apis, keyOf }) {
  const ids = [...accepted];
  const found = new Set((await query(pool, 'SELECT id FROM jobs WHERE id = ANY($1)', [ids])).map((r) => r.id));
  const lost = ids.filter((id) => !found.has(id));
  const all = await query(pool, `SELECT id, status, run_type, model_id, webhook_url, credits_charged, credits_refunded, attempts, error_message FROM jobs`);
  const byStatus = {};
  for (const j of all) byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
  const acceptedSet = new Set(ids);
  // A job no client was told about: a retried request that made a second job instead of
  // replaying the first (every request carried an Idempotency-Key).
  const unknown = all.filter((j) => !acceptedSet.has(j.id)).map((j) => j.id);
  // Given up as abandoned (its lease lapsed GENJOBS_MAX_ATTEMPTS times): the faults are spaced so
  // that no job lives through three of them, so a healthy cluster abandons none.
  const abandoned = all.filter((j) => j.status === 'failed' && /abandoned/.test(j.error_message ?? '')).map((j) => j.id);
  const attempts = {};
  for (const j of all) attempts[j.attempts] = (attempts[j.attempts] ?? 0) + 1;
  const unfinished = all.filter((j) => j.status === 'pending' || j.status === 'processing').map((j) => j.id);

  const perJob = await query(pool, `SELECT j.id, j.status, j.credits_charged::bigint AS charged, j.credits_refunded::bigint AS refunded,
      COUNT(l.id) FILTER (WHERE l.kind = 'charge')::int AS charges, COUNT(l.id) FILTER (WHERE l.kind = 'refund')::int AS refunds,
      COALESCE(-SUM(l.amount) FILTER (WHERE l.kind = 'charge'), 0)::bigint AS charge_sum,
      COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'refund'), 0)::bigint AS refund_sum
    FROM jobs j LEFT JOIN ledger_entries l ON l.job_id = j.id GROUP BY j.id`);
  const doubleCharges = perJob.filter((j) => j.charges > 1).map((j) => j.id);
  const doubleRefunds = perJob.filter((j) => j.refunds > 1 || Number(j.refund_sum) > Number(j.charge_sum)).map((j) => j.id);
  // Each job's ledger as its status says: charged once for what it shows; a completed job never
  // refunded; a failed one refunded in full; a cancelled one by what it shows as refunded.
  const ledgerMismatch = perJob.filter((j) => j.charges !== 1 || Number(j.charge_sum) !== Number(j.charged)
    || (j.status === 'completed' && j.refunds !== 0)
    || (j.status === 'failed' && Number(j.refund_sum) !== Number(j.charged))
    || Number(j.refund_sum) !== Number(j.refunded)).map((j) => j.id);

  const accounts = await query(pool, `SELECT u.id, u.credits::bigint AS balance,
      COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'grant'), 0)::bigint AS grants,
      COALESCE(-SUM(l.amount) FILTER (WHERE l.kind = 'charge'), 0)::bigint AS charges,
      COALESCE(SUM(l.amount) FILTER (WHERE l.kind = 'refund'), 0)::bigint AS refunds
    FROM users u LEFT JOIN ledger_entries l ON l.user_id = u.id GROUP BY u.id ORDER BY u.id`);
  const books = accounts.map((a) => ({
    account: a.id, balance: Number(a.balance), grants: Number(a.grants), granted: grants.get(a.id) ?? 0,
    charges: Number(a.charges), refunds: Number(a.refunds),
  }));
  const unbalanced = books.filter((b) => b.balance !== b.grants - b.charges + b.refunds || b.grants !== b.granted).map((b) => b.account);

  // What clients see: every accepted job read back through the API processes, in turn, agrees
  // with the store (status, refund, webhook flag); a process's memory of final jobs included.
  const stored = new Map(all.map((j) => [j.id, j]));
  const flags = new Map((await query(pool, 'SELECT id, webhook_delivered FROM jobs')).map((r) => [r.id, r.webhook_delivered]));
  const apiDisagrees = [];
  await eachLimited(ids, 16, async (id, i) => {
    const j = stored.get(id);
    if (!j) return;
    const res = await fetch(`${apis[i % apis.length].url}/api/v1/jobs/${id}`, { headers: { authorization: `Bearer ${keyOf.get(id)}` } });
    const body = await res.json();
    if (res.status !== 200 || body.status !== j.status || Number(body.credits_refunded ?? 0) !== Number(j.credits_refunded)
      || body.webhook_delivered !== flags.get(id)) apiDisagrees.push(id);
  });
  const delivered = new Set((await query(pool, `SELECT DISTINCT job_id FROM webhook_deliveries WHERE status = 'delivered'`)).map((r) => r.job_id));
  const flagWrong = all.filter((j) => j.webhook_url && flags.get(j.id) !== delivered.has(j.id)).map((j) => j.id);

  const owed = all.filter((j) => j.webhook_url && ['completed', 'failed', 'cancelled'].includes(j.status));
  const neverDelivered = owed.filter((j) => !receiver.deliveries.has(j.id)).map((j) => j.id);
  let deliveries = 0;
  for (const d of receiver.deliveries.values()) deliveries += d.count;
  const outbox = await query(pool, `SELECT status, COUNT(*)::int AS n, MAX(attempts)::int AS max_attempts FROM webhook_deliveries GROUP BY status`);

  return {
    jobs: { accepted: ids.length, inStore: all.length, byStatus, byAttempts: attempts },
    zeros: {
      'jobs lost': lost.length,
      'jobs no client was told about': unknown.length,
      'jobs unfinished after the recovery window': unfinished.length,
      'jobs failed as abandoned': abandoned.length,
      'double charges': doubleCharges.length,
      'double refunds': doubleRefunds.length,
      'jobs whose ledger disagrees with their status': ledgerMismatch.length,
      'accounts whose balance is not grants - charges + refunds': unbalanced.length,
      'webhooks never delivered': neverDelivered.length,
      'jobs whose webhook_delivered disagrees with the outbox': flagWrong.length,
      'jobs the API shows otherwise than the store': apiDisagrees.length,
    },
    examples: { lost, unknown, unfinished, abandoned, doubleCharges, doubleRefunds, ledgerMismatch, unbalanced, neverDelivered, flagWrong, apiDisagrees },
    books,
    webhooks: { owed: owed.length, deliveries, distinctJobs: receiver.deliveries.size, duplicates: deliveries - receiver.deliveries.size, outbox },
  };
}

/** Runs `work` over `items`, at most `n` at once. */
async function eachLimited(items, n, work) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  }));
}
