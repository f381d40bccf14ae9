import type { FastifyInstance } from 'fastify';
import type { WebhookAttemptRecord, WebhookDeliveryRecord } from '../../store/store.js';
import { getWebhookSecret, rotateWebhookSecret } from '../../webhooks/secrets.js';
import { listJobDeliveries } from '../../webhooks/deliveries.js';
import { requireApiKey } from '../auth.js';
import type { ApiContext } from '../context.js';
import { iso } from '../../times.js';


function presentDelivery(d: WebhookDeliveryRecord & { attemptLog: WebhookAttemptRecord[] }): Record<string, unknown> {
  return {
    id: d.id, object: 'webhook_delivery', event: d.event, url: d.url, status: d.status, attempts: d.attempts,
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null, last_status_code: d.lastStatusCode, last_error: d.lastError,
    created_at: iso(d.createdAt), delivered_at: iso(d.deliveredAt),
    attempt_log: d.attemptLog.map((a) => ({ n: a.n, at: iso(a.at), status_code: a.statusCode, error: a.error, duration_ms: a.durationMs })),
  };
}

/** Webhook routes of the public API (extensions): the account's secret and a job's deliveries. */
export function webhookRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance) => {
    requireApiKey(app, ctx);
    const { store } = ctx.jobs;

    app.get('/webhooks/secret', async (request) => getWebhookSecret(store, request.caller.user.id));

    app.post('/webhooks/secret/rotate', async (request) => rotateWebhookSecret(store, request.caller.user.id, ctx.config.webhookSecretGraceMs));

    app.get<{ Params: { id: string } }>('/jobs/:id/webhook_deliveries', async (request) => {
      const deliveries = await listJobDeliveries(store, request.caller.user.id, request.params.id);
      return { object: 'list', data: deliveries.map(presentDelivery) };
    });
  };
}
