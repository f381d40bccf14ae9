import fastJson from 'fast-json-stringify';
import type { FastifySchema } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { COMPONENTS } from './components.js';

/**
 * The serialiser compiler of the routes in the schema table: fast-json-stringify, as Fastify's
 * own, but each distinct schema is compiled once per process. Every route lists its error
 * answers (the same `Error` body under up to eight statuses) and many routes answer the same
 * object, so compiling each of them anew made a server take over a second to start.
 */

type Serialize = (data: unknown) => string;

const shared = Object.fromEntries(COMPONENTS.map((schema) => [schema.$id as string, schema]));
const compiled = new Map<string, Serialize>();

/** What serialisation depends on: the schema without the words and headers meant for the document. */
function serialPart(schema: Record<string, unknown>): Record<string, unknown> {
  const { description: _d, headers: _h, examples: _e, 'x-examples': _x, ...rest } = schema;
  return rest;
}

export const compileSerializer: FastifySerializerCompiler<FastifySchema> = ({ schema }) => {
  const key = JSON.stringify(serialPart(schema as Record<string, unknown>));
  let serialize = compiled.get(key);
  if (serialize === undefined) {
    serialize = fastJson(schema as unknown as Parameters<typeof fastJson>[0], { schema: shared as never }) as Serialize;
    compiled.set(key, serialize);
  }
  return serialize;
};
