import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, apiError } from '../errors/api-error.js';
import { StoreUnavailableError } from '../store/errors.js';
import { AppDefinitionError } from '../apps/definition.js';

/** Turns Fastify's own errors (body parsing, limits) and the store's and apps' errors into genjobs' coded errors. */
function fromFastify(err: FastifyError, bodyLimit: number, request: FastifyRequest): ApiError | null {
  const contentType = request.headers['content-type'];
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
  // The file server refuses dot files and folder paths with a 403: to a client, no such file.
  if ((err.statusCode === 403 || err.statusCode === 404) && request.url.startsWith('/files/')) return apiError('file_not_found');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return apiError('invalid_request', { detail: err.message });
  }
  return null;
}

/** The one error handler: coded errors as they are, Fastify's mapped, anything else a 500 that leaks nothing. */
export function makeErrorHandler(bodyLimit: number) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const known = err instanceof ApiError ? err : fromFastify(err, bodyLimit, request);
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
      return reply.code(known.status).send(known.toBody());
    }
    request.log.error({ err }, 'unhandled error');
    const internal = apiError('internal_error');
    return reply.code(internal.status).send(internal.toBody());
  };
}

/** Fastify's limit on one path parameter (its `maxParamLength` default). */
const MAX_PARAM_LENGTH = 100;

/**
 * Errors Fastify raises while routing, before any handler or hook (a path that does not decode,
 * a path segment longer than `maxParamLength`): answered in the error format like any other.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  let known: ApiError;
  if (err.code === 'FST_ERR_BAD_URL') known = apiError('bad_url', { detail: 'a percent escape in the path does not decode to UTF-8 text' });
  else if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') known = apiError('url_too_long', { limit: MAX_PARAM_LENGTH });
  else known = apiError('internal_error');
  return reply.code(known.status).send(known.toBody());
}

/** What Node's HTTP parser or its timers refused, as a coded error; null when nobody is listening any more. */
function fromClientError(err: NodeJS.ErrnoException & { reason?: string }): ApiError | null {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return null;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return apiError('request_timeout');
  if (err.code === 'HPE_HEADER_OVERFLOW') return apiError('headers_too_large');
  // llhttp's reason names the fault ("Invalid header value char"); a code is the fallback.
  const detail = (err.reason ?? err.code ?? 'it could not be parsed').replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return apiError('malformed_request', { detail });
}

/**
 * Node's 'clientError': the request never became a request (a header too large, a control
 * character in a header, a broken chunked body, a request head that timed out), so no route
 * or hook sees it. It is answered here, on the socket, in the same format, then the socket is
 * closed: after a parse error the rest of the stream cannot be trusted.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException & { reason?: string }, socket: Duplex): void {
  const known = fromClientError(err);
  // A response of an earlier request on this connection already started: nothing can follow it.
  const busy = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (!known || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  answerOnSocket(socket, known);
}

/** Writes a coded error as a whole HTTP answer straight onto the socket, then closes it. */
function answerOnSocket(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toBody());
  // Closed once the answer is flushed, or after a second for a peer that does not read it.
  const timer = setTimeout(() => socket.destroy(), 1_000).unref();
  socket.once('close', () => clearTimeout(timer));
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n`
    + 'Content-Type: application/json; charset=utf-8\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\n`
    + 'Connection: close\r\n\r\n'
    + body,
    () => socket.destroy(),
  );
}

/**
 * Requests Node answers by itself unless told otherwise: an `Expect` other than 100-continue (a
 * bare 417) and CONNECT (the socket dropped without a word). Both get the error format.
 */
export function answerWhatNodeWould(server: Server): void {
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(apiError('expectation_failed').toBody());
    res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    answerOnSocket(socket, apiError('route_not_found', { method: 'CONNECT', url: (req.url ?? '').slice(0, 200) }));
  });
}
