import type { FastifyInstance } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import { admitRequest } from '../accounts/admit.js';
import { apiError } from '../errors/api-error.js';
import type { ApiContext } from './context.js';

/**
 * Every `/api/v1` request: find the caller from its key, then count it against the key's rate
 * limit. The limit headers go on every authenticated answer, errors included.
 */
export function requireApiKey(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('caller', null as never);
  app.addHook('onRequest', async (request, reply) => {
    const { caller, limit: d } = await admitRequest({ store: ctx.jobs.store, callers: ctx.callers }, request.headers.authorization, Date.now());
    request.caller = caller;
    reply.header('X-RateLimit-Limit', d.limit);
    reply.header('X-RateLimit-Remaining', d.remaining);
    reply.header('X-RateLimit-Reset', d.resetSeconds);
    if (!d.allowed) ctx.metrics.rateLimited.inc();
    if (!d.allowed) throw apiError('rate_limited', {}, { headers: { 'Retry-After': String(d.resetSeconds) } });
  });
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The admin API: off unless GENJOBS_ADMIN_TOKEN is set, then guarded by it. */
export function requireAdminToken(app: FastifyInstance, token: string | null): void {
  app.addHook('onRequest', async (request) => {
    if (token === null) throw apiError('admin_disabled');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw apiError('missing_token');
    // Compared as digests so the comparison takes the same time whatever the length.
    if (!timingSafeEqual(digest(match[1] as string), digest(token))) throw apiError('invalid_admin_token');
  });
}
