import type { JobRecord } from '../store/store.js';
import { isFinal } from './final-jobs.js';
import { iso } from '../times.js';


/** The public job object: the platform's fields first, then genjobs' extensions. */
export function presentJob(job: JobRecord, queuePosition?: number): Record<string, unknown> {
  return {
    id: job.id,
    object: 'job',
    run_type: job.runType,
    model_id: job.modelId,
    app_id: job.appId,
    status: job.status,
    input_data: job.inputData,
    output_data: job.outputData ?? null,
    error_message: job.errorMessage,
    credits_charged: job.creditsCharged,
    created_at: iso(job.createdAt),
    completed_at: iso(job.completedAt),
    webhook_delivered: job.webhookDelivered,
    // extensions
    started_at: iso(job.startedAt),
    cancelled_at: iso(job.cancelledAt),
    credits_refunded: job.creditsRefunded,
    progress: job.progress,
    retry_of: job.retryOf,
    priority: job.priority,
    ...(job.cancelAfterAt !== null ? { cancel_after_at: iso(job.cancelAfterAt) } : {}),
    ...(job.status === 'pending' && queuePosition !== undefined ? { queue_position: queuePosition } : {}),
  };
}

/** The answer to a run: the job, plus `model` and `output` as the platform names them there. */
export function presentRun(job: JobRecord, queuePosition?: number): Record<string, unknown> {
  return { ...presentJob(job, queuePosition), model: job.modelId, output: job.outputData ?? null };
}

/** The JSON text of final jobs presented once: such a job can no longer change, so neither can its text. */
const finalJobText = new WeakMap<JobRecord, string>();

/** `presentJob` as JSON text, made once per record for a final job (polled finished jobs are the hot read). */
export function presentJobText(job: JobRecord, queuePosition?: number): string {
  if (!isFinal(job)) return JSON.stringify(presentJob(job, queuePosition));
  let text = finalJobText.get(job);
  if (text === undefined) {
    text = JSON.stringify(presentJob(job));
    finalJobText.set(job, text);
  }
  return text;
}
