import type { FastifyInstance, FastifyReply } from 'fastify';
import { cancelJob, cancelJobs } from '../../jobs/cancel-job.js';
import { presentJob, presentJobText, presentRun } from '../../jobs/present.js';
import { getJob, listJobs, type ListQuery } from '../../jobs/read-jobs.js';
import { allWithLinks, withLinks } from '../../jobs/links.js';
import { runModel, type RunModelBody } from '../../runs/run-model.js';
import { retryJob } from '../../runs/retry.js';
import { parsePreferWait, runOptionsFrom } from '../../runs/options.js';
import { runApp, type RunAppBody } from '../../runs/run-app.js';
import type { AcceptedRun } from '../../runs/accept.js';
import { getAccount } from '../../accounts/account.js';
import { listLedger } from '../../credits/ledger.js';
import { presentModel } from '../../catalog/present.js';
import { presentLedgerEntry } from '../../credits/present.js';
import { apiError } from '../../errors/api-error.js';
import { requireApiKey } from '../auth.js';
import { presentApp } from '../../apps/present.js';
import type { AppDefinition } from '../../apps/definition.js';
import { objectBody } from '../json-body.js';
import type { ApiContext } from '../context.js';
import { eventRoutes } from './events.js';

type IdParams = { Params: { id: string } };

/** The headers of an answer that honoured `Prefer: wait` or replayed an Idempotency-Key. */
function runHeaders(reply: FastifyReply, preferWait: number | undefined, replayed = false): void {
  if (preferWait !== undefined) reply.header('Preference-Applied', `wait=${preferWait}`);
  if (replayed) reply.header('Idempotent-Replayed', 'true');
}

/** The platform's public API under `/api/v1`. Each handler: parse, one use case, shape. */
export function publicRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance) => {
    requireApiKey(app, ctx);
    const { jobs, runs } = ctx;
    // Every answer shows outputs with links made here and now (jobs/links.ts).
    const appRunAnswer = async ({ job: stored, queuePosition }: AcceptedRun, definition: AppDefinition) => {
      const job = await withLinks(stored, jobs.links);
      return { ...presentJob(job, queuePosition), app_name: definition.name, output: job.outputData ?? null };
    };
    const runAnswer = async (run: AcceptedRun) => presentRun(await withLinks(run.job, jobs.links), run.queuePosition);

    app.get('/models', async () => ({ object: 'list', data: jobs.catalog.models.map(presentModel) }));

    app.post<{ Body: RunModelBody }>('/models/run', async (request, reply) => {
      const body = objectBody<RunModelBody>(request.body);
      const { options, preferWait } = runOptionsFrom(request.headers, 'POST /api/v1/models/run', body, Date.now());
      const run = await runModel(runs, request.caller.user, body, options);
      runHeaders(reply, preferWait, run.replayed);
      return reply.code(run.finished ? 200 : 202).send(await runAnswer(run));
    });

    app.get<{ Querystring: ListQuery }>('/jobs', async (request) => {
      const page = await listJobs(jobs, request.caller.user, request.query);
      const shown = await allWithLinks(page.jobs, jobs.links);
      return { object: 'list', data: shown.map((j) => presentJob(j, page.positions.get(j.id))), has_more: page.hasMore };
    });

    // Static routes before `/jobs/:id`: find-my-way prefers them, so `cancel` and `events` are never taken for ids.
    app.post('/jobs/cancel', async (request) => {
      const { cancelled } = await cancelJobs(jobs, request.caller.user, request.body);
      return {
        object: 'bulk_cancel', cancelled: cancelled.length, ids: cancelled.map((j) => j.id),
        credits_refunded: cancelled.reduce((sum, j) => sum + j.creditsRefunded, 0),
      };
    });

    eventRoutes(app, ctx);

    app.get<IdParams>('/jobs/:id', async (request, reply) => {
      const preferWait = parsePreferWait(request.headers.prefer);
      const { job, queuePosition } = await getJob(jobs, request.caller.user, request.params.id, (preferWait ?? 0) * 1000);
      runHeaders(reply, preferWait);
      return reply.type('application/json; charset=utf-8').send(presentJobText(await withLinks(job, jobs.links), queuePosition));
    });

    app.post<IdParams>('/jobs/:id/cancel', async (request) => {
      const job = await cancelJob(jobs, request.caller.user, request.params.id);
      return { id: job.id, object: 'job', status: job.status, cancelled_at: new Date(job.cancelledAt ?? Date.now()).toISOString(), credits_refunded: job.creditsRefunded };
    });

    app.post<IdParams>('/jobs/:id/retry', async (request, reply) => {
      const route = `POST /api/v1/jobs/${request.params.id}/retry`;
      const { options, preferWait } = runOptionsFrom(request.headers, route, {}, Date.now());
      const run = await retryJob(runs, request.caller.user, request.params.id, options);
      runHeaders(reply, preferWait, run.replayed);
      if (run.app) return reply.code(202).send(await appRunAnswer(run, run.app));
      return reply.code(run.finished ? 200 : 202).send(await runAnswer(run));
    });

    app.get('/account', async (request) => getAccount(jobs.store, request.caller.user.id));

    app.get('/account/ledger', async (request) => {
      const entries = await listLedger(jobs.store, request.caller.user.id);
      return { object: 'list', data: entries.map(presentLedgerEntry) };
    });

    app.get('/apps', async (request) => ({
      object: 'list', data: (await runs.apps.listFor(request.caller.user.id)).map((a) => presentApp(a, jobs.catalog)),
    }));

    app.post<{ Body: RunAppBody }>('/apps/run', async (request, reply) => {
      const body = objectBody<RunAppBody>(request.body);
      const { options, preferWait } = runOptionsFrom(request.headers, 'POST /api/v1/apps/run', body, Date.now());
      const run = await runApp(runs, request.caller.user, body, options);
      runHeaders(reply, preferWait, run.replayed);
      return reply.code(202).send(await appRunAnswer(run, run.app));
    });

    // Unknown routes under /api/v1 are answered after authentication, like every other answer here.
    app.all('/*', async (request) => {
      throw apiError('route_not_found', { method: request.method, url: request.url.split('?')[0] ?? '' });
    });
  };
}
