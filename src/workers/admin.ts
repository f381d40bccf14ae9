import { workerModels, type Catalog } from '../catalog/load.js';
import { apiError, invalid } from '../errors/api-error.js';
import { newId } from '../ids.js';
import { auditWrite } from '../audit/entry.js';
import type { AuditContext, Store, WorkerRecord } from '../store/store.js';
import { generateWorkerToken } from './tokens.js';

/** Issues a worker token for some of the worker-served models; the token is returned only now. */
export async function createWorker(
  store: Store, catalog: Catalog, body: { name?: unknown; models?: unknown }, audit?: AuditContext, now = Date.now(),
): Promise<{ record: WorkerRecord; token: string }> {
  const served = workerModels(catalog);
  if (!Array.isArray(body.models) || body.models.length === 0 || !body.models.every((m) => typeof m === 'string')) {
    throw invalid('models', `must list the models the worker may serve (models with provider "worker": ${served.join(', ') || 'none in this catalog'})`);
  }
  for (const m of body.models as string[]) {
    if (!served.includes(m)) throw invalid('models', `${m} is not a model served by workers (provider "worker": ${served.join(', ') || 'none in this catalog'})`);
  }
  if (body.name !== undefined && body.name !== null && (typeof body.name !== 'string' || body.name.length > 200)) throw invalid('name', 'must be a string of at most 200 characters');
  const { token, tokenHash } = generateWorkerToken();
  const name = (body.name as string | undefined) ?? null;
  const models = [...new Set(body.models as string[])];
  // The token and its hash stay out of the audit log.
  const record = await store.workerCreate({
    id: newId(), name, tokenHash, models, now, audit: auditWrite(audit, { action: 'worker.register', targetType: 'worker', details: { name, models } }, now),
  });
  return { record, token };
}

export async function listWorkers(store: Store): Promise<WorkerRecord[]> {
  return store.workerList();
}

export async function revokeWorker(store: Store, id: string, audit?: AuditContext, now = Date.now()): Promise<WorkerRecord> {
  const record = await store.workerRevoke({ id, audit: auditWrite(audit, { action: 'worker.revoke', targetType: 'worker' }, now) });
  if (!record) throw apiError('worker_not_found');
  return record;
}

export function presentWorker(w: WorkerRecord, token?: string): Record<string, unknown> {
  return {
    id: w.id, object: 'worker', ...(token ? { token } : {}), name: w.name, models: w.models, is_active: w.isActive,
    created_at: new Date(w.createdAt).toISOString(), last_seen_at: w.lastSeenAt === null ? null : new Date(w.lastSeenAt).toISOString(),
  };
}
