import assert from 'node:assert/strict';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

type Json = Record<string, unknown>;

/**
 * A copy of the document in which no object schema allows a property it does not list, unless it
 * says so (`additionalProperties: true`, as input_data does): an answer that validates against it
 * has no field the document forgot.
 */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    // Examples are data, not schemas.
    out[key] = key === 'examples' || key === 'example' ? value : closed(value);
  }
  if (out.properties !== undefined && typeof out.properties === 'object' && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** Validates answers against the named schemas of an OpenAPI 3.1 document, closed as above. */
export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(doc: Json) {
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
    this.ajv.addSchema(closed(doc) as Json, 'openapi.json');
  }

  assertValid(schemaName: string, value: unknown): void {
    let validate = this.compiled.get(schemaName);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi.json#/components/schemas/${schemaName}` });
      this.compiled.set(schemaName, validate);
    }
    assert.ok(validate(value), `${schemaName}: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 1500)}`);
  }
}
