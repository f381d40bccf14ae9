// The faults the suite injects, each with the time the system took to recover from it. A fault
// waits for its own recovery before the next one starts, so each recovery time is its own.
import { setTimeout as sleep } from 'node:timers/promises';
import { query } from './database.mjs';
import { waitFor } from './processes.mjs';
import { FAKE_MODEL } from './load.mjs';

/** Whether a job of `model` (any model when null) reached a terminal status after `since` (epoch ms). */
async function finishedSince(pool, since, { model = null, status = null } = {}) {
  const rows = await pool.query(`SELECT 1 FROM jobs WHERE completed_at > $1
    AND ($2::text IS NULL OR model_id = $2) AND ($3::text IS NULL OR status = $3) LIMIT 1`, [since, model, status]);
  return rows.rowCount > 0;
}

/**
 * SIGKILL an executor, start a new one in its slot after `restartDelayMs`. Recovered when the new
 * one runs and every job the dead one held (processing under its lease) has finished, taken
 * over by a claim once its lease ran out.
 */
export async function killExecutor({ slot, pool, restartDelayMs, limitMs }) {
  const t0 = Date.now();
  const owner = slot.owner;
  await slot.kill();
  const held = (await query(pool, `SELECT id FROM jobs WHERE status = 'processing' AND lease_owner = $1`, [owner])).map((r) => r.id);
  const nextJob = waitFor(() => finishedSince(pool, t0), limitMs);
  const heldDone = waitFor(async () => held.length === 0
    || (await pool.query(`SELECT 1 FROM jobs WHERE id = ANY($1) AND status IN ('pending', 'processing') LIMIT 1`, [held])).rowCount === 0, limitMs);
  await sleep(restartDelayMs);
  await slot.start();
  const restartedMs = Date.now() - t0;
  const heldFinishedMs = await heldDone;
  return {
    kind: 'kill -9 executor', target: slot.name, restartDelayMs, heldJobs: held.length,
    restartedMs, nextJobFinishedMs: await nextJob, heldFinishedMs,
    recoveredMs: heldFinishedMs === null ? null : Math.max(restartedMs, heldFinishedMs),
  };
}

/** SIGKILL an API process, start a new one after `restartDelayMs`. Recovered when it answers /readyz with 200. */
export async function killApi({ slot, restartDelayMs }) {
  const t0 = Date.now();
  await slot.kill();
  await sleep(restartDelayMs);
  await slot.start(); // resolves at the first 200 from /readyz
  const readyMs = Date.now() - t0;
  return { kind: 'kill -9 API process', target: slot.name, restartDelayMs, readyMs, recoveredMs: readyMs };
}

/**
 * Stops PostgreSQL (fast: every session cut) for `downMs`, then starts it. Recovered when both
 * API processes answer /readyz again and a job has finished after the restart.
 */
export async function restartDatabase({ db, apis, pool, downMs, limitMs }) {
  const t0 = Date.now();
  await db.stop();
  const stoppedMs = Date.now() - t0;
  await sleep(downMs);
  await db.start();
  const t1 = Date.now();
  const nextJob = waitFor(() => finishedSince(pool, t1), limitMs);
  const apisReadyMs = await waitFor(async () => (await Promise.all(apis.map((a) => a.ready()))).every(Boolean), limitMs);
  const nextJobFinishedMs = await nextJob;
  return {
    kind: 'database restart', target: 'postgres', downMs: t1 - t0, stoppedMs,
    apisReadyMs, nextJobFinishedMs,
    recoveredMs: apisReadyMs === null || nextJobFinishedMs === null ? null : Math.max(apisReadyMs, nextJobFinishedMs),
  };
}

/**
 * Turns the fake provider to `mode` (hang, fail, 429) for `windowMs`. Recovered when a job of the
 * fake provider's model completes after the window.
 */
export async function providerFault({ provider, mode, pool, windowMs, limitMs }) {
  const before = provider.counts[mode];
  const t0 = Date.now();
  provider.setMode(mode);
  await sleep(windowMs);
  // At least one call meets the fault, however few runs of the model came in the window.
  await waitFor(() => provider.counts[mode] > before, limitMs);
  provider.setMode('ok');
  const t1 = Date.now();
  const recoveredMs = await waitFor(() => finishedSince(pool, t1, { model: FAKE_MODEL, status: 'completed' }), limitMs);
  return { kind: `provider ${mode === 'hang' ? 'hangs' : mode === 'fail' ? 'fails (500)' : 'answers 429'}`, target: FAKE_MODEL, windowMs: t1 - t0, calls: provider.counts[mode] - before, recoveredMs };
}

/**
 * Takes the webhook receiver down for `windowMs`. Recovered when the deliveries owed while it was
 * down have all arrived (the outbox holds none pending from before it came back).
 */
export async function webhookOutage({ receiver, pool, windowMs, limitMs }) {
  const t0 = Date.now();
  await receiver.down();
  await sleep(windowMs);
  // At least one delivery meets the closed port, however few jobs finished in the window.
  await waitFor(async () => (await pool.query(`SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND attempts > 0 LIMIT 1`)).rowCount > 0, limitMs);
  await receiver.up();
  const t1 = Date.now();
  const owed = Number((await query(pool, `SELECT COUNT(*)::int AS n FROM webhook_deliveries WHERE status = 'pending' AND created_at < $1`, [t1]))[0].n);
  const firstDeliveryMs = await waitFor(() => receiver.lastAt > t1, limitMs);
  const backlogDeliveredMs = await waitFor(async () => (await pool.query(
    `SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND created_at < $1 LIMIT 1`, [t1])).rowCount === 0, limitMs);
  return { kind: 'webhook receiver down', target: 'receiver', windowMs: t1 - t0, owedWhenBack: owed, firstDeliveryMs, backlogDeliveredMs, recoveredMs: backlogDeliveredMs };
}
