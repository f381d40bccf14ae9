import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import { apiError, invalid } from '../errors/api-error.js';

/**
 * Deepest nesting of arrays and objects a JSON body may have. Everything after the parser
 * (canonical JSON for idempotency, input checks, storing) walks bodies recursively; this bound
 * keeps each of those walks far from the stack's limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `text` nests arrays and objects deeper than `limit`. One pass over the characters
 * with a counter, no recursion, so the check itself cannot overflow the stack; brackets inside
 * strings do not count. Runs before parsing: unbalanced text is left for the parser to refuse.
 */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

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
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return done(apiError('json_too_deep', { limit: MAX_JSON_DEPTH }), undefined);
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
