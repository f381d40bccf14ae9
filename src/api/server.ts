import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { apiError } from '../errors/api-error.js';
import type { ApiContext } from './context.js';
import { answerWhatNodeWould, clientErrorHandler, frameworkErrors, makeErrorHandler } from './errors.js';
import { capConnections, connectionOptions } from './connections.js';
import { acceptJsonBodies } from './json-body.js';
import { observeRequests, requestId } from '../observability/request-log.js';
import { metricsRoutes } from './routes/metrics.js';
import { adminRoutes } from './routes/admin.js';
import { publicRoutes } from './routes/public.js';
import { workerRoutes } from './routes/worker.js';
import { webhookRoutes } from './routes/webhooks.js';
import { fileRoutes } from './routes/files.js';
import { registerSchemas } from './schemas/index.js';
import { serveReference } from './reference.js';
import { registerDashboard, type Dashboard } from './dashboard.js';
import { healthRoutes, PROBE_PATHS } from './routes/health.js';

/** The HTTP server: the public API, the admin API and the output files. */
export async function buildServer(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const connections = connectionOptions(ctx.config);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: ctx.config.bodyLimitBytes,
    // Fastify's two lines per request are replaced by one of ours (src/observability/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // Closing is answered by our own hook below, in the error format of the contract.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // The caller's X-Request-Id when usable, else a UUID; logged as reqId and echoed back.
    genReqId: requestId,
    // Only the listed proxies' X-Forwarded-For names the client (request.ip, in the audit log).
    trustProxy: ctx.config.trustedProxies.length > 0 ? ctx.config.trustedProxies : false,
    ...connections,
    // Errors raised before any route or hook runs get the error format too (src/api/errors.ts).
    frameworkErrors,
    clientErrorHandler,
    // Node would answer a missing Host itself, outside the error format; the hook below does.
    http: { ...connections.http, requireHostHeader: false },
  });
  answerWhatNodeWould(app.server);
  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersion === '1.1' && !request.headers.host) throw apiError('malformed_request', { detail: 'an HTTP/1.1 request needs a Host header' });
  });
  capConnections(app.server, ctx.config, logger);
  observeRequests(app, ctx.metrics);
  acceptJsonBodies(app);
  // Before any route: every route is given its schema as it is registered.
  await registerSchemas(app, { publicUrl: ctx.config.publicUrl });
  app.setErrorHandler(makeErrorHandler(ctx.config.bodyLimitBytes));
  let dashboard: Dashboard | null = null;
  app.setNotFoundHandler((request, reply) => {
    // The dashboard routes on the client: each of its addresses, loaded directly, gets its page.
    if (dashboard?.wantsPage(request)) return dashboard.sendPage(reply);
    const url = request.url.split('?')[0] ?? '';
    const err = url.startsWith('/files/') ? apiError('file_not_found') : apiError('route_not_found', { method: request.method, url });
    return reply.code(err.status).send(err.toBody());
  });
  app.addHook('preClose', async () => { ctx.lifecycle.draining = true; });
  app.addHook('onRequest', async (request, reply) => {
    // Probes answer for themselves during shutdown: /readyz says why it is not ready.
    if (!ctx.lifecycle.draining || PROBE_PATHS.has(request.url.split('?')[0] ?? '')) return;
    reply.header('Connection', 'close');
    throw apiError('unavailable', { detail: 'the server is shutting down' }, { headers: { 'Retry-After': '5' } });
  });

  await app.register(healthRoutes(ctx.readiness));
  await app.register(metricsRoutes(ctx.metrics, ctx.config.metricsToken));
  await app.register(publicRoutes(ctx), { prefix: '/api/v1' });
  await app.register(webhookRoutes(ctx), { prefix: '/api/v1' });
  await app.register(adminRoutes(ctx), { prefix: '/admin/v1' });
  await app.register(workerRoutes(ctx.workers, ctx.config.workerUploadLimitBytes), { prefix: '/worker/v1' });
  await app.register(fileRoutes(ctx.files));
  await serveReference(app);
  if (ctx.config.dashboardEnabled) dashboard = await registerDashboard(app, { publicUrl: ctx.config.publicUrl, logger: app.log });
  return app;
}
