import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import { apiError, invalid } from '../errors/api-error.js';

/**
 * JSON bodies only, with an empty body read as no body: many clients send
 * `Content-Type: application/json` on a POST without one (such as a cancel).
 */
export function acceptJsonBodies(app: FastifyInstance): void {
  // Fastify also parses text/plain by default; the API takes only JSON, so any other body is a
  // 415 (instead of a string reaching the routes and failing as a 400 "body: must be a JSON object").
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      // Prototype-poisoning keys are refused, as Fastify's own parser does.
      const parsed: unknown = sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' });
      done(null, parsed);
    } catch (err) {
      done(apiError('invalid_json', { detail: (err as Error).message }), undefined);
    }
  });
}

/** A missing body reads as `{}`, so the use case names the missing field; anything but an object is refused. */
export function objectBody<T extends object>(body: unknown): T {
  if (body === undefined || body === null) return {} as T;
  if (typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'must be a JSON object');
  return body as T;
}
