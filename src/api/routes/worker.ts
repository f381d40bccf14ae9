import type { FastifyInstance } from 'fastify';
import { apiError } from '../../errors/api-error.js';
import type { WorkerRecord } from '../../store/store.js';
import {
  authenticateWorker, claimJob, completeJob, failJob, heartbeat, releaseJob, uploadFile, type WorkerDeps,
} from '../../workers/protocol.js';
import { objectBody } from '../json-body.js';

type JobParams = { Params: { id: string } };
type Body = Record<string, unknown>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated worker of a `/worker/v1` request. */
    worker: WorkerRecord;
  }
}

/** The worker protocol under `/worker/v1` (docs/workers.md), guarded by worker tokens. */
export function workerRoutes(deps: WorkerDeps, uploadLimitBytes: number) {
  return async (app: FastifyInstance) => {
    app.decorateRequest('worker', null as never);
    app.addHook('onRequest', async (request) => {
      request.worker = await authenticateWorker(deps, request.headers.authorization);
    });
    // Output files arrive as raw bytes of any type; JSON stays JSON.
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: uploadLimitBytes }, (_req, body, done) => done(null, body));

    app.post('/jobs/claim', async (request, reply) => {
      // A client that hangs up ends the long poll, so no job is claimed for nobody.
      // (The response's close, not the request's: a request closes as soon as its body is read.)
      const gone = new AbortController();
      reply.raw.once('close', () => { if (!reply.raw.writableEnded) gone.abort(); });
      const job = await claimJob(deps, request.worker, objectBody<Body>(request.body), gone.signal);
      if (!job) return reply.code(204).send();
      if (gone.signal.aborted) {
        await releaseJob(deps, request.worker, job.id as string, { lease_token: job.lease_token });
        throw apiError('unavailable', { detail: 'the worker hung up before it got its job' });
      }
      return { job };
    });

    app.post<JobParams>('/jobs/:id/heartbeat', async (request) => heartbeat(deps, request.worker, request.params.id, objectBody<Body>(request.body)));

    app.post<JobParams & { Querystring: { lease_token?: string; name?: string } }>('/jobs/:id/files', { bodyLimit: uploadLimitBytes }, async (request, reply) => {
      const file = await uploadFile(deps, request.worker, request.params.id, request.query, request.body);
      return reply.code(201).send(file);
    });

    app.post<JobParams>('/jobs/:id/complete', async (request) => {
      const job = await completeJob(deps, request.worker, request.params.id, objectBody<Body>(request.body));
      return { id: job.id, status: job.status };
    });

    app.post<JobParams>('/jobs/:id/fail', async (request) => {
      const job = await failJob(deps, request.worker, request.params.id, objectBody<Body>(request.body));
      return { id: job.id, status: job.status, credits_refunded: job.creditsRefunded };
    });

    app.post<JobParams>('/jobs/:id/release', async (request) => {
      await releaseJob(deps, request.worker, request.params.id, objectBody<Body>(request.body));
      return { id: request.params.id, released: true };
    });
  };
}
