import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import { apiError } from '../errors/api-error.js';
import type { ApiContext } from './context.js';
import { makeErrorHandler } from './errors.js';
import { acceptJsonBodies } from './json-body.js';
import { adminRoutes } from './routes/admin.js';
import { publicRoutes } from './routes/public.js';

/** The HTTP server: the public API, the admin API and the output files. */
export async function buildServer(ctx: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: ctx.config.bodyLimitBytes,
    // A line per request costs more than it tells at this volume; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  acceptJsonBodies(app);
  app.setErrorHandler(makeErrorHandler(ctx.config.bodyLimitBytes));
  app.setNotFoundHandler((request, reply) => {
    const err = apiError('route_not_found', { method: request.method, url: request.url.split('?')[0] ?? '' });
    return reply.code(err.status).send(err.toBody());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(publicRoutes(ctx), { prefix: '/api/v1' });
  await app.register(adminRoutes(ctx), { prefix: '/admin/v1' });
  await app.register(fastifyStatic, {
    root: ctx.files.root,
    prefix: '/files/',
    index: false,
    list: false,
    dotfiles: 'deny',
    immutable: true,
    maxAge: '365d',
  });
  return app;
}
