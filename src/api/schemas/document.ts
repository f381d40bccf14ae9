import type { SwaggerOptions } from '@fastify/swagger';
import { createRequire } from 'node:module';

/** The frame of /openapi.json around the route schemas: info, tags, security schemes, and the finishing touches. */

const { version } = createRequire(import.meta.url)('../../../../package.json') as { version: string };

const DESCRIPTION = [
  'genjobs serves the public jobs API of a hosted AI-generation platform: models and apps run as jobs, paid in credits.',
  'Fields and routes marked *extension* are genjobs\' own.',
  'Every error is `{"error": "<message>", "code": "<stable code>"}`; an unknown route is a 404 `route_not_found`.',
  'This document is generated from the schemas the routes are registered with.',
].join('\n\n');

const bearer = (description: string) => ({ type: 'http' as const, scheme: 'bearer', description });

type Json = Record<string, unknown>;

export function openApiOptions(publicUrl: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'genjobs API', version, description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
      servers: [{ url: publicUrl }],
      tags: [
        { name: 'Models', description: 'The catalog, and model runs.' },
        { name: 'Apps', description: 'Workflows of model nodes, and app runs.' },
        { name: 'Jobs', description: 'Every run is a job: read, list, stream, cancel, retry.' },
        { name: 'Account', description: 'Balance, usage and the credit ledger.' },
        { name: 'Webhooks', description: 'The signing secret and a job\'s deliveries.' },
        { name: 'Files', description: 'Output files.' },
        { name: 'Health', description: 'Liveness.' },
        { name: 'Reference', description: 'This document.' },
        { name: 'Admin', description: 'The operator\'s API under /admin/v1: accounts, credits, keys, private apps, workers. Off unless GENJOBS_ADMIN_TOKEN is set.' },
        { name: 'Worker', description: 'The protocol of self-hosted workers under /worker/v1 (docs/workers.md).' },
      ],
      components: {
        securitySchemes: {
          apiKey: bearer('An API key, `sk_live_...`, on every /api/v1 route.'),
          adminToken: bearer('GENJOBS_ADMIN_TOKEN, on every /admin/v1 route.'),
          workerToken: bearer('A worker token issued by POST /admin/v1/workers, on every /worker/v1 route.'),
        },
      },
    },
    // Shared schemas appear under their own names (`#/components/schemas/Job`).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // The output-file route is a wildcard to Fastify; the document names its two parts.
    transform: ({ schema, url }) => (url === '/files/*'
      ? {
        url: '/files/{job_id}/{name}',
        schema: {
          ...schema,
          params: { type: 'object', properties: { job_id: { type: 'string' }, name: { type: 'string' } }, required: ['job_id', 'name'] },
        } as typeof schema,
      }
      : { schema, url }),
    transformObject: (doc) => finishDocument(('openapiObject' in doc ? doc.openapiObject : {}) as Json) as never,
  };
}

/**
 * Operations that take a body but need none say so (`x-body-optional` on the route schema), and
 * HEAD, which every GET answers too, is left out as Fastify's own automatic HEAD routes are.
 */
function finishDocument(doc: Json): Json {
  for (const path of Object.values((doc.paths ?? {}) as Record<string, Record<string, Json>>)) {
    delete path.head;
    for (const operation of Object.values(path)) {
      if (operation['x-body-optional'] === undefined) continue;
      const body = operation.requestBody as Json | undefined;
      if (body) body.required = false;
      delete operation['x-body-optional'];
    }
  }
  return doc;
}
