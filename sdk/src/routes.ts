import type { paths } from './generated/openapi.js';

/**
 * Every route of the public API the SDK calls, each checked against the server's OpenAPI
 * document: a route the server no longer serves fails the SDK's compilation.
 * test/sdk/contract.ts checks the other way: every public route the server serves is here.
 */
export const SDK_ROUTES = [
  '/api/v1/models', '/api/v1/models/run', '/api/v1/apps', '/api/v1/apps/run',
  '/api/v1/jobs', '/api/v1/jobs/cancel', '/api/v1/jobs/events', '/api/v1/jobs/{id}', '/api/v1/jobs/{id}/cancel',
  '/api/v1/jobs/{id}/retry', '/api/v1/jobs/{id}/events', '/api/v1/jobs/{id}/webhook_deliveries',
  '/api/v1/account', '/api/v1/account/ledger', '/api/v1/webhooks/secret', '/api/v1/webhooks/secret/rotate',
] as const satisfies readonly (keyof paths)[];

export type SdkRoute = (typeof SDK_ROUTES)[number];

/** A route's path with its `{params}` filled in (URL-encoded). */
export function route(template: SdkRoute, params: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new TypeError(`${template} needs ${name}`);
    return encodeURIComponent(value);
  });
}
