import type { FastifyInstance } from 'fastify';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { openApiDocument } from './schemas/index.js';

/**
 * Nothing on /docs may come from another origin: the page, its scripts, styles, fonts and images
 * are the files of the installed @fastify/swagger-ui; the browser is told so too.
 */
export const DOCS_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "font-src 'self' data:",
  "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "frame-ancestors 'self'", "form-action 'self'",
].join('; ');

/**
 * The API reference: the OpenAPI 3.1 document at GET /openapi.json and the interactive
 * reference at /docs. Register after every route, so the document holds them all.
 */
export async function serveReference(app: FastifyInstance): Promise<void> {
  let text: string | undefined;
  app.get('/openapi.json', async (_request, reply) => {
    // Built once, on the first request, from the routes as registered.
    text ??= JSON.stringify(openApiDocument(app));
    return reply.type('application/json; charset=utf-8').send(text);
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    // Swagger UI would otherwise fetch a badge from validator.swagger.io (false: none).
    validatorUrl: false,
    uiConfig: { deepLinking: true, tryItOutEnabled: false, displayRequestDuration: true },
    theme: { title: 'genjobs API reference' },
  });
}
