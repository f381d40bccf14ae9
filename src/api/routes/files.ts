import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import mime from 'mime-types';
import { apiError } from '../../errors/api-error.js';
import { ifRangeHolds, noneMatchHits, notModifiedSince, parseRange } from '../../files/conditional.js';
import { setOutputFileHeaders } from '../../files/safety-headers.js';
import { UnsatisfiableRangeError, validKey, type FileHead, type FileStorage } from '../../files/storage.js';

/** Output files never change (each has a new random name), so caches may keep them for a year. */
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** A header's value, the first if repeated. */
const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The headers of every answer about a file, whole, partial or not modified. */
function describe(reply: FastifyReply, key: string, file: FileHead): void {
  reply.header('Cache-Control', CACHE_CONTROL);
  reply.header('ETag', file.etag);
  reply.header('Last-Modified', file.lastModified.toUTCString());
  reply.header('Accept-Ranges', 'bytes');
  setOutputFileHeaders({ setHeader: (name, value) => reply.header(name, value) }, key);
}

/**
 * `GET|HEAD /files/<job id>/<name>`: an output file streamed from the configured storage (the
 * local folder or S3: the same answers either way), with single byte ranges (206, 416),
 * `If-None-Match` and `If-Modified-Since` (304), `If-Range`, long-lived caching and the safe-content headers.
 */
export function fileRoutes(storage: FileStorage) {
  return async (app: FastifyInstance) => {
    app.route({
      method: ['GET', 'HEAD'],
      url: '/files/*',
      handler: async (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
        const key = request.params['*'];
        if (!validKey(key)) throw apiError('file_not_found');
        const ifNoneMatch = one(request.headers['if-none-match']);
        const ifModifiedSince = one(request.headers['if-modified-since']);
        const conditional = ifNoneMatch !== undefined || ifModifiedSince !== undefined || request.headers['if-range'] !== undefined;
        // A HEAD, or a condition to check, needs what the file is before (or instead of) its bytes.
        const head = request.method === 'HEAD' || conditional ? await storage.head(key) : null;
        if ((request.method === 'HEAD' || conditional) && !head) throw apiError('file_not_found');
        if (head && (noneMatchHits(ifNoneMatch, head.etag) || notModifiedSince(ifModifiedSince, ifNoneMatch, head.lastModified))) {
          describe(reply, key, head);
          return reply.code(304).send();
        }
        const range = head && !ifRangeHolds(one(request.headers['if-range']), head) ? null : parseRange(one(request.headers.range));
        if (request.method === 'HEAD' && head) {
          describe(reply, key, head);
          reply.header('Content-Type', mime.contentType(head.contentType) || head.contentType);
          reply.header('Content-Length', String(head.size));
          return reply.code(200).send();
        }
        let file;
        try {
          file = await storage.open(key, range ?? undefined);
        } catch (err) {
          if (err instanceof UnsatisfiableRangeError) throw apiError('range_not_satisfiable', { size: err.size }, { headers: { 'Content-Range': `bytes */${err.size}` } });
          throw err;
        }
        if (!file) throw apiError('file_not_found');
        describe(reply, key, file);
        reply.header('Content-Type', mime.contentType(file.contentType) || file.contentType);
        if (!file.range) {
          reply.header('Content-Length', String(file.size));
          return reply.code(200).send(file.body);
        }
        reply.header('Content-Range', `bytes ${file.range.start}-${file.range.end}/${file.size}`);
        reply.header('Content-Length', String(file.range.end - file.range.start + 1));
        return reply.code(206).send(file.body);
      },
    });
  };
}
