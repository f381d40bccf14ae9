/**
 * One route's schema as Fastify and @fastify/swagger read it: the request parts (`params`,
 * `querystring`, `headers`, `body`), an answer per status, and the document's words (`tags`,
 * `summary`, `description`, `security`, `operationId`).
 */
export interface RouteSchema {
  tags: string[];
  summary: string;
  operationId: string;
  description?: string;
  security?: Record<string, string[]>[];
  params?: Record<string, unknown>;
  querystring?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  body?: Record<string, unknown>;
  /** Request body media types other than JSON (the worker's file upload). */
  consumes?: string[];
  response: Record<string, Record<string, unknown>>;
  /** The route takes a body but needs none (a cancel, a claim): the document says it is optional. */
  'x-body-optional'?: boolean;
}
