import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  createApiKey, createUser, getUser, getUserLedger, grantCredits, listAccountsPage, listApiKeys, revokeApiKey,
} from '../../accounts/admin.js';
import { updateUser } from '../../accounts/scheduling.js';
import { presentApiKey, presentUser } from '../../accounts/present.js';
import { presentLedgerEntry } from '../../credits/present.js';
import { adminTokenActor } from '../../audit/actor.js';
import { listAuditPage } from '../../audit/list.js';
import { presentAuditEntry } from '../../audit/present.js';
import type { AuditContext } from '../../store/store.js';
import { requireAdminToken } from '../auth.js';
import { createPrivateApp, listPrivateApps, setPrivateAppActive, updatePrivateApp } from '../../apps/admin.js';
import { presentAppForAdmin } from '../../apps/present.js';
import { createWorker, listWorkers, presentWorker, revokeWorker } from '../../workers/admin.js';
import { queueSummary } from '../../jobs/queue-summary.js';
import type { ApiContext } from '../context.js';
import { objectBody } from '../json-body.js';

type UserParams = { Params: { id: string } };
type Body = Record<string, unknown>;

/** The operator's API under `/admin/v1`, guarded by GENJOBS_ADMIN_TOKEN. */
export function adminRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance) => {
    requireAdminToken(app, ctx.config.adminToken);
    // A change to keys or accounts (revoked key, API access off) applies to the next request at
    // once: the keys this process trusts without a lookup are forgotten before the answer goes.
    app.addHook('onSend', async (request) => {
      if (request.method !== 'GET') ctx.callers.clear();
    });
    const { store } = ctx.jobs;
    // Every write below is recorded in the audit log with who made it (the admin token's
    // fingerprint, never the token), the request id the logs carry, and the client's address.
    const actor = ctx.config.adminToken === null ? 'admin-token:none' : adminTokenActor(ctx.config.adminToken);
    const who = (request: FastifyRequest): AuditContext => ({ actor, requestId: request.id, clientAddress: request.ip });

    app.post('/users', async (request, reply) => {
      const user = await createUser(store, objectBody<Body>(request.body), who(request));
      return reply.code(201).send(presentUser(user));
    });

    app.get<{ Querystring: Record<string, unknown> }>('/users', async (request) => {
      const page = await listAccountsPage(store, request.query);
      return { object: 'list', data: page.users.map(presentUser), has_more: page.hasMore };
    });

    app.get<UserParams>('/users/:id', async (request) => presentUser(await getUser(store, request.params.id)));

    app.patch<UserParams>('/users/:id', async (request) => {
      const user = await updateUser(store, request.params.id, objectBody<Body>(request.body), who(request));
      return presentUser(user);
    });

    app.post<UserParams>('/users/:id/credits', async (request) => {
      const user = await grantCredits(store, request.params.id, objectBody<Body>(request.body), who(request));
      return { user_id: user.id, credits: user.credits };
    });

    app.get<UserParams>('/users/:id/ledger', async (request) => {
      const entries = await getUserLedger(store, request.params.id);
      return { object: 'list', data: entries.map(presentLedgerEntry) };
    });

    app.post<UserParams>('/users/:id/keys', async (request, reply) => {
      const { record, key } = await createApiKey(store, request.params.id, objectBody<Body>(request.body), {
        rateLimitPerMinute: ctx.config.defaultRateLimitPerMinute,
      }, who(request));
      return reply.code(201).send(presentApiKey(record, key));
    });

    app.get<UserParams>('/users/:id/keys', async (request) => ({
      object: 'list', data: (await listApiKeys(store, request.params.id)).map((k) => presentApiKey(k)),
    }));

    app.post<UserParams>('/users/:id/apps', async (request, reply) => {
      const created = await createPrivateApp(store, ctx.jobs.catalog, request.params.id, objectBody<Body>(request.body), who(request));
      return reply.code(201).send(presentAppForAdmin(created, ctx.jobs.catalog));
    });

    app.get<UserParams>('/users/:id/apps', async (request) => ({
      object: 'list', data: (await listPrivateApps(store, ctx.apps, request.params.id)).map((a) => presentAppForAdmin(a, ctx.jobs.catalog)),
    }));

    app.put<{ Params: { appId: string } }>('/apps/:appId', async (request) =>
      presentAppForAdmin(await updatePrivateApp(store, ctx.jobs.catalog, ctx.apps, request.params.appId, objectBody<Body>(request.body), who(request)), ctx.jobs.catalog));

    app.patch<{ Params: { appId: string } }>('/apps/:appId', async (request) =>
      presentAppForAdmin(await setPrivateAppActive(store, ctx.apps, request.params.appId, objectBody<Body>(request.body).is_active, who(request)), ctx.jobs.catalog));

    app.get('/queue', async () => queueSummary(store));

    app.post('/workers', async (request, reply) => {
      const { record, token } = await createWorker(store, ctx.jobs.catalog, objectBody<Body>(request.body), who(request));
      return reply.code(201).send(presentWorker(record, token));
    });

    app.get('/workers', async () => ({ object: 'list', data: (await listWorkers(store)).map((w) => presentWorker(w)) }));

    app.delete<{ Params: { workerId: string } }>('/workers/:workerId', async (request) => presentWorker(await revokeWorker(store, request.params.workerId, who(request))));

    app.delete<{ Params: { id: string; keyId: string } }>('/users/:id/keys/:keyId', async (request) =>
      presentApiKey(await revokeApiKey(store, request.params.id, request.params.keyId, who(request))));

    app.get<{ Querystring: Record<string, unknown> }>('/audit', async (request) => {
      const page = await listAuditPage(store, request.query);
      return { object: 'list', data: page.entries.map(presentAuditEntry), has_more: page.hasMore };
    });
  };
}
