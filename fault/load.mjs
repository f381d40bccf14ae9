// The fault suite's clients: a steady stream of mixed runs, sent round-robin to the API
// processes. Every run carries an Idempotency-Key, and a request that gets no answer (its API
// process was killed, the database is down: a network error, a 5xx, a 429) is sent again, with
// the same key, to the next API process until it is answered, as a careful client would. A
// run is *accepted* when an answer carries its job id.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long one run keeps being retried before the client gives up on it. */
const GIVE_UP_MS = 180_000;

export const FAKE_MODEL = 'fault/fake-image';
export const CHAIN_APP = 'f4a17c00-5eed-4c1a-9b0d-7a11f0c2e001';

/** A small seeded generator (mulberry32), so that a run of the suite can be repeated. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

/** local/test's duration: mostly quick, some slower, a few of several seconds. */
function duration(r) {
  const x = r.next();
  if (x < 0.4) return r.int(0, 50);
  if (x < 0.85) return r.int(100, 800);
  return r.int(1_000, 4_000);
}

/**
 * One run's request: 57% local/test, 3% local/test past a Cancel-After deadline, 20% the fake
 * provider, 20% the two-node app; half with a webhook.
 */
export function makeRun(r, webhookUrl) {
  const webhook = r.chance(0.5) ? { webhook_url: webhookUrl } : {};
  const x = r.next();
  let kind;
  let route;
  let body;
  let headers = {};
  if (x < 0.03) {
    // Far longer than its Cancel-After deadline: the maintenance service's deadline chore cancels
    // it, even when a database outage (a few seconds) holds the chore back for a while.
    kind = 'deadline';
    route = '/models/run';
    body = { model: 'local/test', input: { duration_ms: r.int(30_000, 40_000) }, ...webhook };
    headers = { 'cancel-after': '5s' };
  } else if (x < 0.6) {
    kind = 'model';
    route = '/models/run';
    body = { model: 'local/test', input: { duration_ms: duration(r), outcome: r.chance(0.15) ? 'failed' : 'completed' }, ...webhook };
  } else if (x < 0.8) {
    kind = 'provider';
    route = '/models/run';
    body = { model: FAKE_MODEL, input: { prompt: `a lighthouse, take ${r.int(1, 1e6)}` }, ...webhook };
  } else {
    kind = 'app';
    route = '/apps/run';
    body = { app_id: CHAIN_APP, inputs: { first_ms: duration(r), second_ms: duration(r), outcome: r.chance(0.15) ? 'failed' : 'completed' }, ...webhook };
  }
  return { kind, route, body, headers, webhook: 'webhook_url' in webhook, cancel: r.chance(0.05), cancelDelayMs: r.int(0, 600) };
}

/** One HTTP call; a network error or a timeout comes back as status 0. */
async function call(base, key, method, route, body, headers = {}) {
  try {
    const res = await fetch(`${base}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: json, replayed: res.headers.get('idempotent-replayed') === 'true' };
  } catch (err) {
    return { status: 0, body: null, error: err?.cause?.code ?? err?.name ?? String(err) };
  }
}

const retryable = (status) => status === 0 || status === 429 || status >= 500;

/**
 * Sends `run` until it is answered. Returns the accepted job, or the refusal (a 4xx that is not
 * a 429), or a give-up after GIVE_UP_MS.
 */
export async function submit(run, { apis, key, startAt }) {
  const idempotencyKey = randomUUID();
  const started = Date.now();
  const ids = new Set();
  for (let attempt = 0; ; attempt++) {
    const api = apis[(startAt + attempt) % apis.length];
    const res = await call(api.url, key, 'POST', run.route, run.body, { ...run.headers, 'idempotency-key': idempotencyKey });
    if (typeof res.body?.id === 'string') ids.add(res.body.id);
    if (res.status === 200 || res.status === 202) {
      return { accepted: true, id: res.body.id, attempts: attempt + 1, replayed: res.replayed, distinctIds: ids.size };
    }
    if (!retryable(res.status)) return { accepted: false, status: res.status, body: res.body, attempts: attempt + 1 };
    if (Date.now() - started > GIVE_UP_MS) return { accepted: false, status: res.status, gaveUp: true, attempts: attempt + 1 };
    await sleep(100 + Math.floor(Math.random() * 200));
  }
}

/** Asks another API process to cancel the job; 200 (cancelled) and 409 (already finished) both end it. */
export async function cancel(id, { apis, key, startAt }) {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const api = apis[(startAt + attempt) % apis.length];
    const res = await call(api.url, key, 'POST', `/jobs/${id}/cancel`);
    if (res.status === 200 || res.status === 409) return res.status;
    if (!retryable(res.status) || Date.now() - started > GIVE_UP_MS) return res.status;
    await sleep(100 + Math.floor(Math.random() * 200));
  }
}

/**
 * Sends runs at `ratePerSec` (at most `maxInFlight` unanswered at once) until `stop()` is true
 * and at least `minRuns` were sent; resolves with every run's outcome once all are answered.
 */
export async function runLoad({ r, apis, keys, webhookUrl, ratePerSec, maxInFlight, minRuns, stop, onAccepted }) {
  const results = [];
  const pending = new Set();
  let n = 0;
  const gapMs = 1000 / ratePerSec;
  let nextAt = Date.now();
  while (n < minRuns || !stop()) {
    if (pending.size >= maxInFlight) {
      await Promise.race(pending);
      continue;
    }
    const wait = nextAt - Date.now();
    if (wait > 0) await sleep(wait);
    nextAt = Math.max(nextAt + gapMs, Date.now() - 1000);
    const run = makeRun(r, webhookUrl);
    const i = n++;
    const key = keys[i % keys.length];
    const task = (async () => {
      const outcome = await submit(run, { apis, key, startAt: i });
      const result = { kind: run.kind, webhook: run.webhook, account: i % keys.length, ...outcome };
      if (outcome.accepted) {
        onAccepted?.(result);
        if (run.cancel) {
          await sleep(run.cancelDelayMs);
          result.cancel = await cancel(outcome.id, { apis, key, startAt: i + 1 });
        }
      }
      results.push(result);
    })();
    pending.add(task);
    void task.finally(() => pending.delete(task));
  }
  await Promise.all(pending);
  return results;
}
