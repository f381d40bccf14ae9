import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors/api-error.js';
import type { Readiness } from '../../health/readiness.js';

/** Paths a load balancer or orchestrator probes: answered during shutdown too, without authentication. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * `GET /healthz`: the process is alive and answering. `GET /readyz`: it should get traffic; 503
 * `not_ready` naming the first failing check otherwise (shutdown, store, migrations, executor).
 */
export function healthRoutes(readiness: () => Promise<Readiness>) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      const r = await readiness();
      if (r.failing !== null) {
        const failed = r.checks[r.failing as keyof Readiness['checks']];
        throw apiError('not_ready', { check: r.failing, detail: failed.detail ?? 'failed' }, { headers: { 'Retry-After': '5' } });
      }
      reply.header('Cache-Control', 'no-store');
      const checks = Object.fromEntries(Object.entries(r.checks).map(([name, c]) => [name, c.detail ?? 'ok']));
      return { status: 'ready', checks };
    });
  };
}
