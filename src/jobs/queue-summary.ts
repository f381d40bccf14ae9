import type { Store } from '../store/store.js';
import { iso } from '../times.js';

/**
 * The queue at a glance, for the operator: how many jobs wait and run, split by model (or app),
 * and how long the oldest pending job has waited. Reads only unfinished jobs, so it costs what
 * the queue holds, not what the history holds.
 */
export async function queueSummary(store: Store, now = Date.now()): Promise<Record<string, unknown>> {
  const { groups, oldestPendingCreatedAt } = await store.jobQueueSummary();
  const total = (status: string) => groups.filter((g) => g.status === status).reduce((n, g) => n + g.count, 0);
  return {
    object: 'queue_summary',
    pending: total('pending'),
    processing: total('processing'),
    oldest_pending_created_at: iso(oldestPendingCreatedAt),
    oldest_pending_age_seconds: oldestPendingCreatedAt === null ? null : Math.max(0, Math.floor((now - oldestPendingCreatedAt) / 1000)),
    by_model: groups.map((g) => ({ status: g.status, run_type: g.runType, model_id: g.modelId, app_id: g.appId, count: g.count })),
  };
}
