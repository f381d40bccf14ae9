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

/** Whether requests fit the request schemas of an OpenAPI 3.1 document, as documented (not closed). */
export class RequestChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
  /** Query and header values arrive as text: `limit=5` is the integer 5. */
  private readonly coercing = new Ajv2020({ strict: false, allErrors: true, validateSchema: false, coerceTypes: true });

  constructor(private readonly doc: Json) {
    for (const ajv of [this.ajv, this.coercing]) {
      (addFormats as unknown as (a: Ajv2020) => void)(ajv);
      ajv.addSchema(doc, 'openapi.json');
    }
  }

  private operation(method: string, path: string): Json {
    const op = ((this.doc.paths as Record<string, Json>)[path] as Record<string, Json> | undefined)?.[method.toLowerCase()];
    assert.ok(op, `${method} ${path} is in the document`);
    return op;
  }

  /** The errors of `body` against the operation's JSON request body, or null when it fits. */
  bodyErrors(method: string, path: string, body: unknown): string | null {
    this.operation(method, path);
    const pointer = `/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/requestBody/content/application~1json/schema`;
    const validate = this.ajv.compile({ $ref: `openapi.json#${pointer.split('/').map(encodeURIComponent).join('/')}` });
    return validate(body) ? null : this.ajv.errorsText(validate.errors);
  }

  /** The errors of query parameters or headers (`where`: query, header) against the operation's, or null. */
  parameterErrors(method: string, path: string, where: 'query' | 'header', values: Record<string, string>): string | null {
    const params = ((this.operation(method, path).parameters ?? []) as Json[]).filter((p) => p.in === where);
    const name = (n: unknown) => (where === 'header' ? String(n).toLowerCase() : String(n));
    const schema = {
      type: 'object',
      properties: Object.fromEntries(params.map((p) => [name(p.name), p.schema])),
      required: params.filter((p) => p.required === true).map((p) => name(p.name)),
    };
    const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [name(k), v]));
    const validate = this.coercing.compile(schema);
    return validate(data) ? null : this.coercing.errorsText(validate.errors);
  }
}
