import type { FastifyInstance } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { apiError } from '../../errors/api-error.js';
import type { Metrics } from '../../observability/metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * `GET /metrics`: the Prometheus text format. Open when `GENJOBS_METRICS_TOKEN` is unset (keep the
 * port private then); otherwise `Authorization: Bearer <token>` is required.
 */
export function metricsRoutes(metrics: Metrics, token: string | null) {
  return async (app: FastifyInstance) => {
    app.get('/metrics', async (request, reply) => {
      if (token !== null) {
        const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
        if (!match) throw apiError('missing_token');
        // Compared as digests so the comparison takes the same time whatever the length.
        if (!timingSafeEqual(digest(match[1] as string), digest(token))) throw apiError('invalid_metrics_token');
      }
      const body = await metrics.registry.metrics();
      return reply.header('Content-Type', metrics.registry.contentType).header('Cache-Control', 'no-store').send(body);
    });
  };
}
