import fs from 'node:fs';
import path from 'node:path';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { packageRoot } from '../paths.js';

/** Where the dashboard workspace builds to (`npm run build` at the root builds it). */
export const dashboardDir = path.join(packageRoot, 'dashboard', 'dist');

/** Paths of the APIs, the output files, the probes and metrics, and the API reference: never answered with the dashboard. */
const RESERVED = /^\/(?:api|admin|worker|files|healthz|readyz|metrics|openapi\.json|docs)(?:[/?]|$)/;

/**
 * The dashboard's Content-Security-Policy: script and style only from this origin, no frames in
 * either direction, no plugins. Output previews are images and media, loaded from this origin,
 * from PUBLIC_URL's (when clients reach the server by another name) or over HTTPS (hosted
 * providers' output URLs); none of them can run script here.
 */
export function dashboardCsp(publicUrl: string): string {
  const files = `'self' ${new URL(publicUrl).origin} https:`;
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", `img-src ${files}`, `media-src ${files}`,
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "frame-src 'none'", "worker-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; ');
}

export interface Dashboard {
  /** Whether a request the routes did not match is a navigation to one of the dashboard's pages. */
  wantsPage(request: FastifyRequest): boolean;
  /** Answers with the single page (the app routes on the client). */
  sendPage(reply: FastifyReply): FastifyReply;
}

/**
 * Serves the built dashboard at `/`: its hashed assets (cached for good) and, for every page
 * address, its one HTML page (never cached, so a new build is picked up at once). Returns null,
 * with a warning, when the build is missing: the APIs are served all the same.
 */
export async function registerDashboard(app: FastifyInstance, opts: { publicUrl: string; logger: FastifyBaseLogger; dir?: string }): Promise<Dashboard | null> {
  const dir = opts.dir ?? dashboardDir;
  const indexPath = path.join(dir, 'index.html');
  if (!fs.existsSync(indexPath)) {
    opts.logger.warn({ indexPath }, 'dashboard: no build found (run `npm run build`); serving the APIs without it');
    return null;
  }
  const html = fs.readFileSync(indexPath);
  const security: Record<string, string> = {
    'content-security-policy': dashboardCsp(opts.publicUrl),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
  const setSecurityHeaders = (res: { setHeader(name: string, value: string): unknown }) => {
    for (const [name, value] of Object.entries(security)) res.setHeader(name, value);
  };
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // One route per built file, so every other address falls through to the not-found handler.
    wildcard: false,
    index: false,
    globIgnore: ['index.html'],
    decorateReply: false,
    cacheControl: false,
    setHeaders(res, filePath) {
      setSecurityHeaders(res);
      // Vite names assets by their content hash: an address never changes meaning.
      const hashed = filePath.includes(`${path.sep}assets${path.sep}`);
      res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'public, max-age=3600');
    },
  });
  const dashboard: Dashboard = {
    wantsPage(request) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return false;
      const url = request.url.split('?')[0] ?? '/';
      if (RESERVED.test(url) || /\.[^/]*$/.test(url)) return false;
      return (request.headers.accept ?? '').includes('text/html');
    },
    sendPage(reply) {
      return reply.code(200).headers({ ...security, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(html);
    },
  };
  // Pages are not part of the API: left out of /openapi.json, as the static files are (schemaHide).
  app.get('/', { schema: { hide: true } }, (_request, reply) => dashboard.sendPage(reply));
  return dashboard;
}
