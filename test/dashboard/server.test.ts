import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { testApp } from '../helpers/app.js';
import { packageRoot } from '../../src/paths.js';
import { dashboardDir } from '../../src/api/dashboard.js';

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

/** The weight script (bench/dashboard-weight.mjs) is shared with `npm run bench:dashboard`. */
type Weight = { measure(): { raw: number; gzip: number; files: { file: string }[] }; BUDGET_GZIP_BYTES: number };
const weight = () => import(path.join(packageRoot, 'bench', 'dashboard-weight.mjs')) as Promise<Weight>;

describe('the dashboard served at /', () => {
  it('answers / and every client-side route with the page, under a strict Content-Security-Policy', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    for (const url of ['/', '/jobs', '/jobs/0190a4c2-0000-7000-8000-000000000000', '/run/model/local/image', '/operator/accounts?x=1']) {
      const res = await app.server.inject({ method: 'GET', url, headers: HTML });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /<div id="app"><\/div>/);
      const csp = String(res.headers['content-security-policy']);
      for (const directive of ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "frame-src 'none'"]) {
        assert.ok(csp.includes(directive), `${url}: CSP ${csp} should include ${directive}`);
      }
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
  });

  it('leaves the APIs, the files and unknown non-page requests to their own answers', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const files = await app.server.inject({ method: 'GET', url: '/files/nope/x.png', headers: HTML });
    assert.equal(files.statusCode, 404);
    assert.equal(files.json().code, 'file_not_found');
    const api = await app.server.inject({ method: 'GET', url: '/api/v1/nope', headers: { ...HTML, ...auth } });
    assert.equal(api.json().code, 'route_not_found');
    const admin = await app.server.inject({ method: 'GET', url: '/admin/v1/nope', headers: HTML });
    assert.equal(admin.json().code, 'route_not_found');
    // Not a page: no HTML asked for, or an address with a file extension.
    for (const [url, headers] of [['/jobs', {}], ['/assets/missing.js', HTML], ['/nope', { accept: 'application/json' }]] as const) {
      const res = await app.server.inject({ method: 'GET', url, headers });
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.json().code, 'route_not_found', url);
    }
    const post = await app.server.inject({ method: 'POST', url: '/jobs', headers: HTML });
    assert.equal(post.statusCode, 404);
    assert.equal((await app.server.inject({ method: 'GET', url: '/healthz', headers: HTML })).json().status, 'ok');
  });

  it('serves the built assets with long caching and the same security headers', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const page = (await app.server.inject({ method: 'GET', url: '/', headers: HTML })).body;
    const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
    assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')), `assets in ${page}`);
    for (const url of assets) {
      const res = await app.server.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['cache-control']), /immutable/);
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    }
    assert.equal((await app.server.inject({ method: 'GET', url: '/favicon.svg' })).statusCode, 200);
  });

  it('is not served when GENJOBS_DASHBOARD is false', async (t) => {
    const app = await testApp({ GENJOBS_DASHBOARD: 'false' });
    t.after(() => app.dispose());
    const res = await app.server.inject({ method: 'GET', url: '/', headers: HTML });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'route_not_found');
  });
});

describe('the dashboard build', () => {
  it('has no inline script or style and loads nothing from another origin, so the CSP allows all of it', () => {
    const html = fs.readFileSync(path.join(dashboardDir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs as string, /src="\/assets\//, 'every script is a same-origin file');
      assert.equal((body as string).trim(), '', 'no inline script');
    }
    assert.doesNotMatch(html, /<style\b|\sstyle="/, 'no inline style');
    assert.doesNotMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'nothing from another origin');
  });

  it('stays within its page-weight budget', async () => {
    const { measure, BUDGET_GZIP_BYTES } = await weight();
    const m = measure();
    assert.ok(m.files.some((f) => f.file.endsWith('.js')));
    assert.ok(m.gzip <= BUDGET_GZIP_BYTES, `the dashboard weighs ${m.gzip} bytes gzip-compressed, over its budget of ${BUDGET_GZIP_BYTES}`);
  });
});

describe('what the dashboard reads from the API', () => {
  it('lists each model setting with the bounds a form needs: multiple with maxItems, maxLength, accepts', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const models = (await app.server.inject({ method: 'GET', url: '/api/v1/models', headers: auth })).json().data as { id: string; settings: Record<string, unknown>[] }[];
    const setting = (model: string, key: string) => models.find((m) => m.id === model)?.settings.find((s) => s.key === key);
    assert.deepEqual(setting('local/collage', 'images'), {
      key: 'images', label: 'Images', inputType: 'url', defaultValue: null, required: true, multiple: true, maxItems: 4, accepts: 'image',
    });
    assert.equal(setting('local/test', 'error_message')?.maxLength, 2000);
    assert.equal(setting('local/image', 'seed')?.multiple, undefined);
  });

  it('lists pending jobs with their queue position, for the jobs table', async (t) => {
    // No executor: the runs stay pending, one behind the other.
    const app = await testApp({ GENJOBS_EXECUTOR: 'false' });
    t.after(() => app.dispose());
    const { auth } = await app.account();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/audio', input: { prompt: `p${i}` } } });
      ids.push(res.json().id);
    }
    const cancelled = await app.server.inject({ method: 'POST', url: `/api/v1/jobs/${ids[1]}/cancel`, headers: auth });
    assert.equal(cancelled.statusCode, 200);
    const list = (await app.server.inject({ method: 'GET', url: '/api/v1/jobs', headers: auth })).json().data as { id: string; queue_position?: number }[];
    assert.deepEqual(list.map((j) => [j.id, j.queue_position]), [[ids[2], 1], [ids[1], undefined], [ids[0], 0]]);
  });
});
