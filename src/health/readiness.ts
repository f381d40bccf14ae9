import type { Store } from '../store/store.js';
import { latestMigration } from '../store/migrations.js';

/** One check of `GET /readyz`: passed, or failed with what a person reads. */
export type CheckResult = { ok: true; detail?: string } | { ok: false; detail: string };

export interface ReadinessDeps {
  store: Store;
  /** The executor of this process; null in a role that runs none (its check passes as "not run here"). */
  executor: { loopHealth(): CheckResult } | null;
  /** Set once the process starts shutting down. */
  lifecycle: { draining: boolean };
  /** How long the store may take to answer. (Default: 2000 ms) */
  storeTimeoutMs?: number;
}

export interface Readiness {
  ready: boolean;
  /** The checks in the order they are made; `failing` names the first that failed. */
  checks: Record<'shutdown' | 'store' | 'migrations' | 'executor', CheckResult>;
  failing: string | null;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Whether this process should get traffic: not shutting down, the store answers, every migration
 * this build ships is applied, and the executor's claim loop turns where one runs.
 */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const skipped: CheckResult = { ok: false, detail: 'not checked' };
  const checks: Readiness['checks'] = { shutdown: { ok: true }, store: skipped, migrations: skipped, executor: skipped };

  let version: number | null = null;
  try {
    version = await withTimeout(deps.store.schemaVersion(), deps.storeTimeoutMs ?? 2_000, 'the store');
    checks.store = { ok: true };
  } catch (err) {
    checks.store = { ok: false, detail: (err as Error).message || 'the store failed' };
  }
  if (version !== null) {
    const shipped = latestMigration(deps.store.dialect);
    checks.migrations = version >= shipped
      ? { ok: true, detail: `schema version ${version}` }
      : { ok: false, detail: `schema version ${version}, this build needs ${shipped}` };
  }
  // Read after the store's answer: a shutdown that began while it was awaited stops the executor
  // too, and the answer should name the shutdown, not the executor it stopped.
  if (deps.lifecycle.draining) checks.shutdown = { ok: false, detail: 'the server is shutting down' };
  checks.executor = deps.executor === null ? { ok: true, detail: 'not run in this process' } : deps.executor.loopHealth();

  const failing = (Object.keys(checks) as (keyof Readiness['checks'])[]).find((k) => !checks[k].ok) ?? null;
  return { ready: failing === null, checks, failing };
}
