import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, apiError } from '../errors/api-error.js';
import { StoreUnavailableError } from '../store/errors.js';
import { AppDefinitionError } from '../apps/definition.js';

/** Turns Fastify's own errors (body parsing, limits) and the store's and apps' errors into genjobs' coded errors. */
function fromFastify(err: FastifyError, bodyLimit: number, contentType: string | undefined): ApiError | null {
  if (err instanceof AppDefinitionError) return apiError('invalid_app_definition', { detail: err.message });
  if (err instanceof StoreUnavailableError) {
    return apiError('unavailable', { detail: 'the database cannot be reached' }, { headers: { 'Retry-After': '5' } });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return apiError('body_too_large', { limit: bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError('unsupported_media_type', { type: contentType ?? '(none)' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return apiError('invalid_request', { detail: 'The Content-Length header does not match the body.' });
    default:
      break;
  }
  if (err.validation) return apiError('invalid_request', { detail: err.message });
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return apiError('invalid_request', { detail: err.message });
  }
  return null;
}

/** The one error handler: coded errors as they are, Fastify's mapped, anything else a 500 that leaks nothing. */
export function makeErrorHandler(bodyLimit: number) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = err instanceof ApiError ? err : fromFastify(err, bodyLimit, request.headers['content-type']);
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
      return reply.code(known.status).send(known.toBody());
    }
    request.log.error({ err }, 'unhandled error');
    const internal = apiError('internal_error');
    return reply.code(internal.status).send(internal.toBody());
  };
}
