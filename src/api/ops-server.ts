import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiError } from '../errors/api-error.js';
import type { Readiness } from '../health/readiness.js';
import type { Metrics } from '../observability/metrics.js';
import { observeRequests, requestId } from '../observability/request-log.js';
import { makeErrorHandler } from './errors.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';

export interface OpsServerDeps {
  readiness: () => Promise<Readiness>;
  metrics: Metrics;
  metricsToken: string | null;
}

/**
 * The HTTP side of a process that serves no API (`genjobs executor` with GENJOBS_EXECUTOR_PORT):
 * `GET /healthz`, `GET /readyz` and `GET /metrics` as the API processes answer them, so an
 * executor can be probed and scraped like the rest. Every other path is 404.
 */
export async function buildOpsServer(deps: OpsServerDeps, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    forceCloseConnections: true,
    // No route here takes a body.
    bodyLimit: 1_024,
  });
  observeRequests(app, deps.metrics);
  app.setErrorHandler(makeErrorHandler(1_024));
  app.setNotFoundHandler((request, reply) => {
    const err = apiError('route_not_found', { method: request.method, url: request.url.split('?')[0] ?? '' });
    return reply.code(err.status).send(err.toBody());
  });
  await app.register(healthRoutes(deps.readiness));
  await app.register(metricsRoutes(deps.metrics, deps.metricsToken));
  return app;
}
