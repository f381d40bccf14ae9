import type { FastifyInstance } from 'fastify';
import { cancelJob } from '../../jobs/cancel-job.js';
import { presentJob, presentRun } from '../../jobs/present.js';
import { getJob, listJobs, type ListQuery } from '../../jobs/read-jobs.js';
import { runModel, type RunModelBody } from '../../jobs/run-model.js';
import { getAccount } from '../../accounts/account.js';
import { presentModel } from '../../catalog/present.js';
import { presentLedgerEntry } from '../../credits/present.js';
import { apiError } from '../../errors/api-error.js';
import { requireApiKey } from '../auth.js';
import { presentApp } from '../../apps/present.js';
import { runApp, type RunAppBody } from '../../apps/run-app.js';
import { objectBody } from '../json-body.js';
import type { ApiContext } from '../context.js';

type IdParams = { Params: { id: string } };

/** The platform's public API under `/api/v1`. Each handler: parse, one use case, shape. */
export function publicRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance) => {
    requireApiKey(app, ctx);
    const { jobs } = ctx;

    app.get('/models', async () => ({ object: 'list', data: jobs.catalog.models.map(presentModel) }));

    app.post<{ Body: RunModelBody }>('/models/run', async (request, reply) => {
      const { job, finished } = await runModel(jobs, request.caller.user, objectBody(request.body));
      const position = job.status === 'pending' ? await jobs.store.jobQueuePosition({ id: job.id, createdAt: job.createdAt }) : undefined;
      return reply.code(finished ? 200 : 202).send(presentRun(job, position));
    });

    app.get<{ Querystring: ListQuery }>('/jobs', async (request) => {
      const page = await listJobs(jobs, request.caller.user, request.query);
      return { object: 'list', data: page.jobs.map((j) => presentJob(j)), has_more: page.hasMore };
    });

    app.get<IdParams>('/jobs/:id', async (request) => {
      const { job, queuePosition } = await getJob(jobs, request.caller.user, request.params.id);
      return presentJob(job, queuePosition);
    });

    app.post<IdParams>('/jobs/:id/cancel', async (request) => {
      const job = await cancelJob(jobs, request.caller.user, request.params.id);
      return { id: job.id, object: 'job', status: job.status, cancelled_at: new Date(job.cancelledAt ?? Date.now()).toISOString(), credits_refunded: job.creditsRefunded };
    });

    app.get('/account', async (request) => getAccount(jobs.store, request.caller.user.id));

    app.get('/account/ledger', async (request) => {
      const entries = await jobs.store.ledgerList({ userId: request.caller.user.id, limit: 100 });
      return { object: 'list', data: entries.map(presentLedgerEntry) };
    });

    app.get('/apps', async (request) => ({
      object: 'list', data: (await jobs.apps.listFor(request.caller.user.id)).map((a) => presentApp(a, jobs.catalog)),
    }));

    app.post<{ Body: RunAppBody }>('/apps/run', async (request, reply) => {
      const { job, app: definition } = await runApp(jobs, request.caller.user, objectBody(request.body));
      const position = await jobs.store.jobQueuePosition({ id: job.id, createdAt: job.createdAt });
      return reply.code(202).send({ ...presentJob(job, position), app_name: definition.name, output: job.outputData ?? null });
    });

    // Unknown routes under /api/v1 are answered after authentication, like every other answer here.
    app.all('/*', async (request) => {
      throw apiError('route_not_found', { method: request.method, url: request.url.split('?')[0] ?? '' });
    });
  };
}
