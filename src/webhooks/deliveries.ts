import { apiError } from '../errors/api-error.js';
import type { Store, WebhookAttemptRecord, WebhookDeliveryRecord } from '../store/store.js';

/** GET /jobs/:id/webhook_deliveries: the deliveries of one of the account's jobs, with their attempts. Another account's job is not found. */
export async function listJobDeliveries(store: Store, userId: string, jobId: string): Promise<(WebhookDeliveryRecord & { attemptLog: WebhookAttemptRecord[] })[]> {
  const job = await store.jobGetById({ id: jobId, userId });
  if (!job) throw apiError('job_not_found');
  return store.webhookListByJob({ jobId: job.id });
}
