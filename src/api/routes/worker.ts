import type { Readable } from 'node:stream';
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
    await app.register(uploadRoute(deps, uploadLimitBytes));

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

/**
 * Output file uploads, in their own scope: the body of any type (JSON too: it is a file here) is
 * handed over unread, as a stream, and copied to storage as it arrives. The upload limit is
 * enforced while streaming, so the JSON body limit does not apply.
 */
function uploadRoute(deps: WorkerDeps, uploadLimitBytes: number) {
  return async (app: FastifyInstance) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    app.post<JobParams & { Querystring: { lease_token?: string; name?: string } }>('/jobs/:id/files', async (request, reply) => {
      const length = request.headers['content-length'];
      const type = request.headers['content-type'];
      const upload = { body: request.body as Readable | undefined, declaredLength: length === undefined ? null : Number(length), limit: uploadLimitBytes, ...(type ? { contentType: type } : {}) };
      try {
        const file = await uploadFile(deps, request.worker, request.params.id, request.query, upload);
        return await reply.code(201).send(file);
      } catch (err) {
        // The rest of a refused body is not read: the connection closes after the answer.
        if (!request.raw.complete) reply.header('connection', 'close');
        throw err;
      }
    });
  };
}
