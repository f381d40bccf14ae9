import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/** An incoming X-Request-Id is kept when it is a plain token of at most 128 characters. */
const ACCEPTED_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Fastify's `genReqId`: the caller's X-Request-Id when it is usable, a fresh UUID otherwise. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTED_ID.test(given) ? given : randomUUID();
}

/** Who made the request, as far as authentication got: an account, a worker, or the operator. */
function principal(request: FastifyRequest): Record<string, string> {
  const r = request as FastifyRequest & { caller?: { user?: { id?: string } } | null; worker?: { id?: string } | null };
  if (r.caller?.user?.id) return { accountId: r.caller.user.id };
  if (r.worker?.id) return { workerId: r.worker.id };
  return {};
}

/** The event-stream routes: their open requests are the `genjobs_event_streams` gauge. */
const STREAM_ROUTES: ReadonlySet<string> = new Set(['/api/v1/jobs/events', '/api/v1/jobs/:id/events']);

/**
 * One JSON line per request, written when the answer has gone: the request id (pino's `reqId`,
 * bound by Fastify), method, route pattern, path (no query string: it is not logged), status,
 * time in milliseconds and the account or worker that made it. Every answer carries the id back
 * in `X-Request-Id`. Bodies and headers are never logged. The same hook counts the request in
 * `genjobs_http_requests_total` and its time in `genjobs_http_request_duration_seconds`.
 */
export function observeRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    if (STREAM_ROUTES.has(request.routeOptions.url ?? '')) {
      metrics.eventStreams.inc();
      reply.raw.once('close', () => metrics.eventStreams.dec());
    }
  });
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? null;
    const status = reply.statusCode;
    const elapsed = reply.elapsedTime;
    // Unknown routes share one label, so a scan of random paths cannot grow the series.
    const routeLabel = route ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route: routeLabel, status });
    metrics.httpDuration.observe({ method: request.method, route: routeLabel }, elapsed / 1000);
    if (!(request.log as Logger).isLevelEnabled('info')) return;
    const url = request.url;
    const q = url.indexOf('?');
    request.log.info({
      method: request.method,
      route,
      path: q === -1 ? url : url.slice(0, q),
      status,
      ms: Math.round(elapsed * 100) / 100,
      ...principal(request),
    }, 'request');
  });
}
