import { ERROR_CODES, type ErrorCode } from '../../errors/codes.js';

/** Values for the `{placeholders}` of the example messages. */
const EXAMPLE_VALUES: Partial<Record<ErrorCode, Record<string, string | number>>> = {
  invalid_request: { detail: 'The Content-Length header does not match the body.' },
  invalid_json: { detail: 'Unexpected end of JSON input' },
  invalid_parameter: { detail: 'limit: must be a whole number from 1 to 100' },
  unknown_model: { model: 'nobody/nothing' },
  invalid_input: { detail: 'input.aspect_ratio: must be one of 1:1, 16:9, 9:16' },
  missing_inputs: { labels: 'Prompt' },
  invalid_app_definition: { detail: 'nodes[0].model is not a model of the catalog' },
  worker_model_forbidden: { model: 'acme/sdxl', models: 'acme/whisper' },
  insufficient_credits: { required: 1000, available: 200 },
  route_not_found: { method: 'GET', url: '/api/v1/nothing' },
  job_not_cancellable: { status: 'completed' },
  idempotency_conflict: { key: 'order-1234' },
  lease_lost: { status: 'cancelled', reason: '' },
  app_is_template: { id: '9b7a2e54-1c0d-4f6a-8e2b-3d5c7a9f1e22' },
  body_too_large: { limit: 1_048_576 },
  unsupported_media_type: { type: 'text/plain' },
  unavailable: { detail: 'the server is shutting down' },
};

/** The message `apiError(code)` would send, with example values in its placeholders. */
export function exampleMessage(code: ErrorCode): string {
  const values = EXAMPLE_VALUES[code] ?? {};
  return ERROR_CODES[code].message.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? name));
}

