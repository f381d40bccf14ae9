import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { ADMIN_SCHEMAS } from './admin.js';
import { COMPONENTS } from './components.js';
import { PUBLIC_SCHEMAS } from './public.js';
import type { RouteSchema } from './route-schema.js';
import { WORKER_SCHEMAS } from './worker.js';
import { openApiOptions } from './document.js';

/**
 * Every route's schema, by `METHOD /url` as Fastify registers it (with its prefix). The schemas
 * live here rather than beside each handler so that one table shows the whole API; an `onRoute`
 * hook gives each route its entry as it is registered.
 */
export const ROUTE_SCHEMAS: Readonly<Record<string, RouteSchema>> = { ...PUBLIC_SCHEMAS, ...ADMIN_SCHEMAS, ...WORKER_SCHEMAS };

/** Routes left out of the document on purpose, with the reason. */
export const UNDOCUMENTED: Readonly<Record<string, string>> = {
  '/api/v1/*': 'the route_not_found answer to unknown routes under /api/v1, given after authentication',
};

/** The key of a route in ROUTE_SCHEMAS: its method (HEAD as its GET) and its URL. */
export function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/**
 * Request schemas document what the routes take; the use cases check requests themselves, with
 * messages that name the field in the API's words (docs/errors.md). So the request parts are not
 * compiled into validators; the response parts serialise the answers.
 */
const documentOnly = () => () => true;

function attachSchema(route: RouteOptions): void {
  if (UNDOCUMENTED[route.url] !== undefined) {
    route.schema = { ...route.schema, hide: true } as FastifySchema;
    return;
  }
  // HEAD answers as its GET does (the output files route registers both at once).
  const methods = new Set((Array.isArray(route.method) ? route.method : [route.method]).map((m) => (m === 'HEAD' ? 'GET' : m)));
  const schema = methods.size === 1 ? ROUTE_SCHEMAS[routeKey([...methods][0] as string, route.url)] : undefined;
  // A route without an entry is left as it is: test/api/openapi.test.ts names it.
  if (!schema) return;
  route.schema = { ...schema, ...route.schema } as FastifySchema;
  route.validatorCompiler ??= documentOnly;
}

/**
 * Registers the shared schemas, the hook that gives every route its schema, and @fastify/swagger,
 * which builds the OpenAPI 3.1 document from them. Call before any route is registered.
 */
export async function registerSchemas(app: FastifyInstance, opts: { publicUrl: string }): Promise<void> {
  for (const schema of COMPONENTS) app.addSchema(schema);
  app.addHook('onRoute', attachSchema);
  await app.register(fastifySwagger, openApiOptions(opts.publicUrl));
}

/** The document as served at /openapi.json, once the server is ready. */
export function openApiDocument(app: FastifyInstance): Record<string, unknown> {
  return app.swagger() as unknown as Record<string, unknown>;
}
