import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, testApp, type TestApp } from '../helpers/app.js';
import { freePort } from '../helpers/process.js';
import { testStoreKind } from '../helpers/store.js';
import { defaultCatalogPath, packageRoot } from '../../src/paths.js';

/**
 * The dashboard in Debian's Chromium, driven by playwright-core against a live server: one
 * browser for the whole file, the scenarios in order (the operator's account and key are used
 * by the user's scenarios after it). Screenshots go to test-artifacts/dashboard/ (git-ignored).
 */

// Functions passed to page.evaluate run in the page; the server's compilation has no DOM types.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const sessionStorage: { length: number };
declare const requestAnimationFrame: (callback: () => void) => number;
declare const MutationObserver: new (callback: (records: unknown, watch: { disconnect(): void }) => void) => { observe(target: unknown, options: object): void };
declare const Event: new (type: string, init?: object) => unknown;
type Img = { complete: boolean; naturalWidth: number };

const CHROMIUM = process.env.GENJOBS_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(packageRoot, 'test-artifacts', 'dashboard');
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// Generous: the machine may be busy, and every wait ends as soon as its event happens.
const WAIT = { timeout: 30_000 };

interface Hooked { page: Page; problems: string[] }

// The dashboard only talks HTTP to the server, so one pass of the suite (SQLite's) drives the
// browser: the machine has two cores, and the API under it is tested on both stores elsewhere.
const skip = testStoreKind === 'postgres' ? 'the browser scenarios run in the SQLite pass only' : false;

describe('the dashboard in a browser', { timeout: 300_000, skip }, () => {
  let app: TestApp;
  let base: string;
  let browser: Browser;
  let hook: http.Server;
  let hookUrl: string;
  let catalogFile: string;
  const hooksReceived: string[] = [];
  // Filled in by the operator's scenario, used by the user's.
  let userId = '';
  let userKey = '';

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`);
    fs.mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // The bundled catalog plus a model served by self-hosted workers (none runs: its jobs wait).
    const catalog = JSON.parse(fs.readFileSync(defaultCatalogPath, 'utf8')) as { models: unknown[] };
    catalog.models.push({ id: 'gpu/echo', name: 'GPU echo', modality: 'image', cost: 3, outputType: 'image', provider: { type: 'worker' } });
    catalogFile = path.join(SHOTS, 'catalog.json');
    fs.writeFileSync(catalogFile, JSON.stringify(catalog));
    app = await testApp({ PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base, GENJOBS_CATALOG: catalogFile });
    await app.listen();
    hook = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hooksReceived.push(String(req.headers['webhook-id'] ?? ''));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => hook?.close(resolve));
    await app?.dispose();
  });

  // A scenario closes its page when it passes; one still open after it failed is photographed.
  let current: Page | undefined;
  afterEach(async (t) => {
    if (current && !current.isClosed()) {
      await shot(current, `failed-${t.name.replace(/\W+/g, '-').slice(0, 60)}`).catch(() => undefined);
      await current.context().close();
    }
  });

  /** A fresh browser context (its own sessionStorage); records CSP violations and page errors. */
  async function open(viewport = { width: 1200, height: 900 }): Promise<Hooked> {
    const context = await browser.newContext({ viewport });
    context.setDefaultTimeout(WAIT.timeout);
    const page = await context.newPage();
    current = page;
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    return { page, problems };
  }

  /**
   * Waits until a run form shows `field` and has settled. The form sets its values once more in an
   * effect run after its first paint (Preact runs effects at the next frame, or after 100 ms): a
   * field filled before that is emptied again. Two frames and a timer later, that effect has run.
   */
  async function runFormReady(page: Page, field: string): Promise<void> {
    await page.locator(field).waitFor(WAIT);
    await page.evaluate(() => new Promise<void>((resolve) => {
      setTimeout(resolve, 250);
      requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 0)));
    }));
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** Signs in with `key`; unless it is expected to be refused, waits for the jobs page. */
  async function signInWithKey(page: Page, key: string, refused = false): Promise<void> {
    await page.goto(`${base}/sign-in`);
    await page.locator('#user-secret').fill(key);
    await page.locator('form', { has: page.getByRole('heading', { name: 'With an API key' }) }).getByRole('button', { name: 'Sign in' }).click();
    if (!refused) await page.waitForURL(`${base}/jobs`, WAIT);
  }

  async function signInAsOperator(page: Page): Promise<void> {
    await page.goto(`${base}/sign-in`);
    await page.locator('#operator-secret').fill(ADMIN_TOKEN);
    await page.locator('form', { has: page.getByRole('heading', { name: 'As the operator' }) }).getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/operator/accounts`, WAIT);
  }

  /** axe-core's serious and critical violations on the page as it is now. */
  async function axeViolations(page: Page): Promise<string[]> {
    await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
      return axe.run(document, { resultTypes: ['violations'] });
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }

  const api = (url: string, init: { method?: string; body?: unknown; token?: string } = {}) => fetch(`${base}${url}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${init.token ?? userKey}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));

  it('refuses a wrong key with a clear message', async () => {
    const { page, problems } = await open();
    await signInWithKey(page, 'sk_live_not-a-real-key', true);
    const message = page.locator('#user-error');
    await message.waitFor(WAIT);
    assert.match(await message.innerText(), /API key was not accepted \(Invalid API key\)/);
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    assert.equal(await page.locator('#user-secret').getAttribute('aria-invalid'), 'true');
    await shot(page, 'sign-in-wrong-key');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('lets the operator create an account with credits and a key, and that key signs in', async () => {
    const { page, problems } = await open();
    await signInAsOperator(page);
    await page.getByLabel('Name').fill('Grace');
    await page.getByLabel('Credits to start with').fill('500');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/operator\/accounts\/[0-9a-f-]{36}$/, WAIT);
    userId = page.url().split('/').pop() as string;
    assert.match(await page.getByTestId('credits').innerText(), /^500 credits$/);
    await page.getByLabel('Requests per minute').fill('100000');
    await page.getByLabel('Name').fill('browser');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByTestId('secret');
    await secret.waitFor(WAIT);
    userKey = (await secret.innerText()).trim();
    assert.match(userKey, /^sk_live_/);
    await page.getByRole('cell', { name: 'browser' }).waitFor(WAIT);
    await shot(page, 'operator-account');
    // The account is listed; the queue page answers.
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('link', { name: 'Grace' }).waitFor(WAIT);
    await page.getByRole('link', { name: 'Queue' }).click();
    await page.getByTestId('pending').waitFor(WAIT);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/sign-in`, WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'signing out forgets the token');
    await signInWithKey(page, userKey);
    await page.waitForURL(`${base}/jobs`, WAIT);
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByTestId('credits').waitFor(WAIT);
    assert.equal(await page.getByTestId('credits').innerText(), '500 credits');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('is usable with the keyboard alone: sign in, move between pages, run a model', async () => {
    const { page, problems } = await open();
    const focused = () => page.evaluate(() => {
      const el = document.activeElement;
      return { id: el?.id ?? '', text: (el?.textContent ?? '').trim(), tag: el?.tagName ?? '' };
    });
    /** Presses Tab until the focused element matches, at most `max` times. */
    const tabTo = async (match: (f: { id: string; text: string; tag: string }) => boolean, what: string, max = 40) => {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        if (match(await focused())) return;
      }
      assert.fail(`Tab never reached ${what}`);
    };
    /**
     * Waits until focus is on the element with `id`. After a move the URL changes first and the
     * page moves focus once it has rendered, so an assertion right after the URL change races it.
     */
    const focusReaches = async (id: string, what: string) => {
      try {
        await page.waitForFunction((want: string) => document.activeElement?.id === want, id, WAIT);
      } catch {
        assert.fail(`${what}: focus is on ${JSON.stringify(await focused())}`);
      }
    };
    await page.goto(`${base}/sign-in`);
    // Tabbing starts once the page has rendered what is to be reached.
    await page.locator('#user-secret').waitFor(WAIT);
    await page.keyboard.press('Tab');
    assert.equal((await focused()).text, 'Skip to content', 'the first stop is the skip link');
    await tabTo((f) => f.id === 'user-secret', 'the API key field');
    await page.keyboard.type(userKey);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/jobs`, WAIT);
    await focusReaches('main', 'after signing in, focus is on the page content');
    await tabTo((f) => f.tag === 'A' && f.text === 'Run', 'the Run link');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/run`, WAIT);
    await focusReaches('main', 'after a move, focus is on the page content');
    await page.getByRole('link', { name: /^Local Text/ }).waitFor(WAIT);
    await tabTo((f) => f.tag === 'A' && f.text.startsWith('Local Text'), 'the Local Text link');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/run/model/local/text`, WAIT);
    await focusReaches('main', 'after a move, focus is on the page content');
    await runFormReady(page, '#run-prompt');
    await tabTo((f) => f.id === 'run-prompt', 'the prompt');
    await page.keyboard.type('typed without a mouse');
    await page.getByRole('button', { name: /^Run for/ }).waitFor(WAIT);
    await tabTo((f) => f.tag === 'BUTTON' && f.text.startsWith('Run for'), 'the run button');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
    await page.getByTestId('job-status').getByText('completed').waitFor(WAIT);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('runs local/image from its form and shows the image; an API refusal is shown next to its field', async () => {
    const { page, problems } = await open();
    // Fills the prompt the moment it appears, as a browser's autofill or a quick typist would.
    await page.addInitScript(() => {
      new MutationObserver((_, watch) => {
        const prompt = document.querySelector('#run-prompt') as { value: string; dispatchEvent(e: unknown): void } | null;
        if (!prompt) return;
        watch.disconnect();
        prompt.value = 'filled as it appeared';
        prompt.dispatchEvent(new Event('input', { bubbles: true }));
      }).observe(document, { childList: true, subtree: true });
    });
    await signInWithKey(page, userKey);
    await page.waitForURL(`${base}/jobs`, WAIT);
    await page.getByRole('link', { name: 'Run', exact: true }).click();
    await page.getByRole('link', { name: /Local Image/ }).click();
    await page.waitForURL(`${base}/run/model/local/image`, WAIT);
    // What was filled in as the form appeared is still there once the page has settled (the form
    // used to set its values again in an effect after the first paint, erasing it).
    await runFormReady(page, '#run-prompt');
    assert.equal(await page.getByLabel('Prompt').inputValue(), 'filled as it appeared');
    await page.getByLabel('Prompt').fill('a lighthouse at dusk');
    await page.getByLabel('Aspect ratio').selectOption('16:9');
    // A value the API refuses: its message lands under the field it names.
    await page.getByLabel('Seed').fill('-5');
    await page.getByRole('button', { name: /^Run for 10 credits$/ }).click();
    const seedError = page.locator('#run-seed-error');
    await seedError.waitFor(WAIT);
    assert.match(await seedError.innerText(), /0/);
    assert.equal(await page.getByLabel('Seed').getAttribute('aria-invalid'), 'true');
    await shot(page, 'run-field-error');
    await page.getByLabel('Seed').fill('3');
    await page.getByRole('button', { name: /^Run for 10 credits$/ }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
    const image = page.getByRole('img', { name: 'Image output of local/image' });
    await image.waitFor(WAIT);
    await page.waitForFunction(() => {
      const img = document.querySelector('.outputs img') as Img | null;
      return img !== null && img.complete && img.naturalWidth > 0;
    }, undefined, WAIT);
    assert.equal(await image.evaluate((img) => (img as unknown as Img).naturalWidth), 640);
    assert.match(await page.getByTestId('job-status').innerText(), /completed/);
    await shot(page, 'job-image');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('watches a slow local/test turn processing, cancels it and shows the refund in the account', async () => {
    const { page, problems } = await open();
    await signInWithKey(page, userKey);
    await page.goto(`${base}/run/model/local/test`);
    await runFormReady(page, '#run-duration_ms');
    await page.getByLabel('Duration (ms)').fill('120000');
    await page.getByRole('button', { name: /^Run for 1 credit$/ }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
    const jobId = page.url().split('/').pop() as string;
    const status = page.getByTestId('job-status');
    await status.getByText('processing').waitFor(WAIT);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await status.getByText('cancelled').waitFor(WAIT);
    assert.equal(await page.getByTestId('refunded').innerText(), '1 credit');
    // Retry makes a new job of the same input, which links back; it is cancelled in turn.
    await page.getByRole('button', { name: 'Retry as a new job' }).click();
    await page.waitForURL((url) => /\/jobs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(jobId), WAIT);
    await page.locator(`a[href="/jobs/${jobId}"]`).waitFor(WAIT);
    await status.getByText(/pending|processing/).waitFor(WAIT);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await status.getByText('cancelled').waitFor(WAIT);
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    const refund = page.locator(`tr[data-kind="refund"]`, { has: page.locator(`a[href="/jobs/${jobId}"]`) });
    await refund.waitFor(WAIT);
    assert.match(await refund.innerText(), /\+1/);
    const account = await api('/api/v1/account');
    assert.equal(await page.getByTestId('credits').innerText(), `${account.body.credits} credits`);
    await shot(page, 'account-refund');
    // The webhook secret: hidden until shown, and rotated on request.
    const secret = page.getByTestId('webhook-secret');
    await page.getByRole('button', { name: 'Show secret' }).click();
    // Read once it is shown: the masked form also starts with whsec_, and its change to the
    // whole secret would pass for the rotation below.
    await page.getByRole('button', { name: 'Hide secret' }).waitFor(WAIT);
    const first = await secret.innerText();
    assert.match(first, /^whsec_/);
    assert.doesNotMatch(first, /•/);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.waitForFunction((old) => document.querySelector('[data-testid="webhook-secret"]')?.textContent !== old, first, WAIT);
    assert.match(await secret.innerText(), /^whsec_/);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('shows an app job\'s node outputs one by one as they arrive', async () => {
    const created = await api(`/admin/v1/users/${userId}/apps`, {
      method: 'POST', token: ADMIN_TOKEN, body: {
        name: 'Two steps',
        // The second node runs long enough for the state between the two to be seen on a loaded
        // machine (the page's stream and this test's polling can each lag by more than 1.5 s).
        nodes: [{ id: 'first', model: 'local/test', settings: { duration_ms: 1500 } }, { id: 'second', model: 'local/test', settings: { duration_ms: 8000 } }],
        edges: [{ from: 'first', output: 'outputText', to: 'second', input: 'error_message' }],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { page, problems } = await open();
    await signInWithKey(page, userKey);
    await page.goto(`${base}/run`);
    await page.getByRole('link', { name: 'Two steps' }).click();
    await page.getByRole('button', { name: /^Run for 2 credits$/ }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
    // First the one node, while the job still runs; then both, and the job done.
    await page.waitForFunction(() => document.querySelectorAll('[data-node]').length === 1
      && document.querySelector('[data-testid="job-status"]')?.textContent === 'processing', undefined, WAIT);
    assert.deepEqual(await page.locator('[data-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node'))), ['first']);
    await shot(page, 'app-job-one-node');
    await page.waitForFunction(() => document.querySelectorAll('[data-node]').length === 2, undefined, WAIT);
    await page.getByTestId('job-status').getByText('completed').waitFor(WAIT);
    assert.deepEqual(await page.locator('[data-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node'))), ['first', 'second']);
    assert.match(await page.locator('[data-node="second"]').innerText(), /local\/test completed/);
    await shot(page, 'app-job-done');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('runs an app whose input is a list from its form, after showing which required input is missing', async () => {
    const jobs = (await api('/api/v1/jobs?model_id=local/image&status=completed')).body.data as { output_data: { outputImage: string } }[];
    const picture = jobs[0]?.output_data.outputImage;
    assert.ok(picture, 'an image from the earlier run');
    const { page, problems } = await open();
    await signInWithKey(page, userKey);
    await page.waitForURL(`${base}/jobs`, WAIT);
    await page.goto(`${base}/run/app/c3f1a8d2-7b4e-4e19-a6c5-0f2d8b3e4a33`);
    const run = page.getByRole('button', { name: /^Run for 5 credits$/ });
    await run.click();
    await page.locator('#run-images-error').waitFor(WAIT);
    assert.match(await page.getByRole('alert').first().innerText(), /Missing required inputs: Images/);
    await page.locator('#run-images').fill(picture);
    await page.getByRole('button', { name: 'Add images' }).click();
    await page.locator('#run-images-1').fill(picture);
    await shot(page, 'run-app-list');
    await run.click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
    await page.locator('[data-node="sheet"] img').waitFor(WAIT);
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-node="sheet"] img') as Img | null;
      return img !== null && img.complete && img.naturalWidth > 0;
    }, undefined, WAIT);
    // The 640×360 picture twice, side by side at the default height of 256 (each about 455 wide).
    const width = await page.locator('[data-node="sheet"] img').evaluate((img) => (img as unknown as Img).naturalWidth);
    assert.ok(width >= 2 * Math.floor((640 * 256) / 360), `collage ${width} px wide`);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('lists a job\'s webhook delivery', async () => {
    const { page, problems } = await open();
    await signInWithKey(page, userKey);
    await page.goto(`${base}/run/model/local/text`);
    await runFormReady(page, '#run-prompt');
    await page.getByLabel('Prompt').fill('a short note');
    await page.getByLabel('Webhook address (optional)').fill(hookUrl);
    await page.getByRole('button', { name: /^Run for 2 credits$/ }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/, WAIT);
    const section = page.getByRole('region', { name: 'Webhook deliveries' });
    await section.getByText('delivered', { exact: true }).waitFor(WAIT);
    assert.match(await section.innerText(), /job\.completed/);
    assert.match(await section.innerText(), new RegExp(hookUrl.replace(/[.]/g, '\\.')));
    assert.ok(hooksReceived.length >= 1);
    // The Input section also holds a .output-text: read the output's own.
    assert.match(await page.getByRole('region', { name: 'Output', exact: true }).locator('.output-text').innerText(), /\w/);
    await shot(page, 'job-webhook');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('updates the jobs table live as jobs are created and change', async () => {
    const { page, problems } = await open();
    await signInWithKey(page, userKey);
    await page.waitForURL(`${base}/jobs`, WAIT);
    await page.getByText('Live', { exact: true }).waitFor(WAIT);
    const run = await api('/api/v1/models/run', { method: 'POST', body: { model: 'local/test', input: { duration_ms: 1500 } } });
    const row = page.locator(`tr[data-job-id="${run.body.id}"]`);
    await row.waitFor(WAIT);
    await row.getByText('completed').waitFor(WAIT);
    // Filters: by status, then by model. Each waits for the filtered answer itself: whether the
    // unfiltered table's first row could pass for it depends on which job happens to be newest.
    await page.getByLabel('Status').selectOption('cancelled');
    await page.waitForFunction(() => {
      const states = [...document.querySelectorAll('tr[data-job-id] td[data-label="Status"]')].map((td: any) => td.textContent?.trim());
      return states.length > 0 && states.every((s) => s === 'cancelled');
    }, undefined, WAIT);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Model').selectOption('local/image');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tr[data-job-id]')];
      return rows.length > 0 && rows.every((tr: any) => tr.textContent?.includes('local/image'));
    }, undefined, WAIT);
    await shot(page, 'jobs');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('lets the operator grant and remove credits, switch API access, revoke keys, manage workers and watch the queue', async () => {
    const { page, problems } = await open();
    await signInAsOperator(page);
    await page.goto(`${base}/operator/accounts/${userId}`);
    const credits = page.getByTestId('credits');
    await credits.waitFor(WAIT);
    const before = Number((await credits.innerText()).replace(/\D/g, ''));
    await page.getByLabel('Amount').fill('50');
    await page.getByLabel('Reason').fill('bonus');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByTestId('ledger').getByText('bonus').waitFor(WAIT);
    assert.equal(await credits.innerText(), `${before + 50} credits`);
    // Removing more than the balance: refused, the reason shown under the amount.
    await page.getByLabel('Amount').fill('-1000000');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#grant-amount-error').waitFor(WAIT);
    assert.match(await page.locator('#grant-amount-error').innerText(), /below zero/);
    assert.equal(await credits.innerText(), `${before + 50} credits`);
    // API access off: the user's key is refused; on again: accepted.
    await page.getByRole('button', { name: 'Disable API access' }).click();
    await page.getByRole('button', { name: 'Enable API access' }).waitFor(WAIT);
    assert.equal((await api('/api/v1/account')).status, 403);
    await page.getByRole('button', { name: 'Enable API access' }).click();
    await page.getByRole('button', { name: 'Disable API access' }).waitFor(WAIT);
    assert.equal((await api('/api/v1/account')).status, 200);
    // A second key, shown once, then revoked.
    await page.locator('#key-name').fill('spare');
    await page.getByRole('button', { name: 'Create key' }).click();
    const spare = (await page.getByTestId('secret').innerText()).trim();
    assert.equal((await api('/api/v1/account', { token: spare })).status, 200);
    const spareRow = page.getByRole('row', { name: /spare/ });
    await spareRow.getByRole('button', { name: /^Revoke key/ }).click();
    await spareRow.getByText('revoked').waitFor(WAIT);
    assert.equal((await api('/api/v1/account', { token: spare })).status, 401);
    // Workers: created with its models (the token shown once), then revoked.
    await page.getByRole('link', { name: 'Workers' }).click();
    // The account's page also has a field labelled Name (the key's): fill the workers page's.
    await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor(WAIT);
    await page.getByLabel('Name').fill('gpu-box');
    await page.getByLabel('Models').fill('gpu/echo');
    await page.getByRole('button', { name: 'Create worker' }).click();
    assert.match((await page.getByTestId('secret').innerText()).trim(), /\S{20,}/);
    const worker = page.getByRole('row', { name: /gpu-box/ });
    await worker.getByText('gpu/echo').waitFor(WAIT);
    await shot(page, 'operator-workers');
    await worker.getByRole('button', { name: 'Revoke worker gpu-box' }).click();
    await worker.getByText('revoked').waitFor(WAIT);
    // The queue: a job of the worker model waits, and shows up by model.
    const waiting = await api('/api/v1/models/run', { method: 'POST', body: { model: 'gpu/echo', input: {} } });
    assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
    await page.getByRole('link', { name: 'Queue' }).click();
    // The workers page just left also has a row naming gpu/echo: wait for the queue's own.
    await page.getByRole('region', { name: 'By model' }).getByRole('row', { name: /gpu\/echo/ }).waitFor(WAIT);
    assert.ok(Number(await page.getByTestId('pending').innerText()) >= 1);
    await shot(page, 'operator-queue');
    // The audit log: the changes just made, newest first, each with the dashboard's request id.
    await page.getByRole('link', { name: 'Audit log' }).click();
    const audit = page.getByTestId('audit');
    await audit.getByRole('row', { name: /worker\.revoke/ }).waitFor(WAIT);
    const actions = await audit.locator('tbody th').allInnerTexts();
    assert.deepEqual(actions.slice(0, 2), ['worker.revoke', 'worker.register']);
    assert.ok(actions.includes('user.credits.grant') && actions.includes('api_key.revoke') && actions.includes('user.update'), actions.join(', '));
    await page.getByLabel('Action').selectOption('user.credits.grant');
    // The unfiltered table also holds the grant's row: wait for the filtered answer to replace it.
    await page.waitForFunction(() => {
      const shown = [...document.querySelectorAll('[data-testid="audit"] tbody th')].map((th) => th.textContent);
      return shown.length > 0 && shown.every((a) => a === 'user.credits.grant');
    }, undefined, WAIT);
    await audit.getByRole('row', { name: /"reason":"bonus"/ }).waitFor(WAIT);
    await shot(page, 'operator-audit');
    // From the account's page: its own changes and its keys', none of the workers'.
    await page.goto(`${base}/operator/accounts/${userId}`);
    await page.getByRole('link', { name: 'Audit log of this account' }).click();
    await audit.getByRole('row', { name: /api_key\.revoke/ }).waitFor(WAIT);
    assert.equal(await page.getByLabel('Account id').inputValue(), userId);
    await page.waitForFunction(() => {
      const shown = [...document.querySelectorAll('[data-testid="audit"] tbody th')].map((th) => th.textContent ?? '');
      return shown.includes('user.update') && !shown.some((a) => a.startsWith('worker.'));
    }, undefined, WAIT);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('shows a worker job\'s progress and log lines as they come, then its error', async () => {
    const issued = await api('/admin/v1/workers', { method: 'POST', token: ADMIN_TOKEN, body: { name: 'gpu-2', models: ['gpu/echo'] } });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const worker = (url: string, body: unknown) => api(`/worker/v1${url}`, { method: 'POST', token: issued.body.token as string, body });
    // The job of the operator's scenario waits for a worker: this one takes it.
    const claimed = await worker('/jobs/claim', { models: ['gpu/echo'], wait_ms: 5000 });
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    const job = claimed.body.job as { id: string; lease_token: number };
    const { page, problems } = await open();
    await signInWithKey(page, userKey);
    await page.goto(`${base}/jobs/${job.id}`);
    await page.getByTestId('job-status').getByText('processing').waitFor(WAIT);
    await worker(`/jobs/${job.id}/heartbeat`, { lease_token: job.lease_token, progress: 0.4, logs: ['loading weights'] });
    await page.getByRole('region', { name: 'Log' }).getByText('loading weights').waitFor(WAIT);
    await page.waitForFunction(() => (document.querySelector('#job-progress') as { value?: number } | null)?.value === 0.4, undefined, WAIT);
    await worker(`/jobs/${job.id}/heartbeat`, { lease_token: job.lease_token, progress: 0.8, logs: ['step 8 of 10'] });
    await page.getByRole('region', { name: 'Log' }).getByText('step 8 of 10').waitFor(WAIT);
    await page.waitForFunction(() => (document.querySelector('#job-progress') as { value?: number } | null)?.value === 0.8, undefined, WAIT);
    await shot(page, 'job-worker-progress');
    await worker(`/jobs/${job.id}/fail`, { lease_token: job.lease_token, error: 'GPU out of memory' });
    await page.getByTestId('job-status').getByText('failed').waitFor(WAIT);
    assert.match(await page.getByRole('alert').filter({ hasText: 'Error:' }).innerText(), /GPU out of memory/);
    assert.equal(await page.getByTestId('refunded').innerText(), '3 credits');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  /** Every page, for the accessibility check and the narrow layout. */
  async function visitAll(page: Page, each: (name: string) => Promise<void>): Promise<void> {
    const jobs = (await api('/api/v1/jobs?limit=100')).body.data as { id: string; run_type: string; model_id: string | null }[];
    const imageJob = jobs.find((j) => j.model_id === 'local/image');
    const appJob = jobs.find((j) => j.run_type === 'app');
    await page.goto(`${base}/sign-in`);
    await each('sign-in');
    await signInWithKey(page, userKey);
    await page.waitForURL(`${base}/jobs`, WAIT);
    await page.locator('tr[data-job-id]').first().waitFor(WAIT);
    await each('jobs');
    for (const [name, url, ready] of [
      ['job-image', `/jobs/${imageJob?.id}`, '.outputs img'],
      ['job-app', `/jobs/${appJob?.id}`, '[data-node]'],
      ['run', '/run', '.choices a'],
      ['run-model', '/run/model/local/collage', '#run-images'],
      ['run-app', '/run/app/c3f1a8d2-7b4e-4e19-a6c5-0f2d8b3e4a33', '#run-images'],
      ['account', '/account', '[data-testid="ledger"]'],
      ['not-found', '/no/such/page', 'h1'],
    ] as const) {
      await page.goto(`${base}${url}`);
      await page.locator(ready).first().waitFor(WAIT);
      await each(name);
    }
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInAsOperator(page);
    await page.getByRole('link', { name: 'Grace' }).waitFor(WAIT);
    await each('operator-accounts');
    for (const [name, url, ready] of [
      ['operator-account', `/operator/accounts/${userId}`, '[data-testid="ledger"]'],
      // The heading shows before the list has loaded: wait for the list.
      ['operator-workers', '/operator/workers', 'tbody tr'],
      ['operator-queue', '/operator/queue', '[data-testid="pending"]'],
      ['operator-audit', '/operator/audit', '[data-testid="audit"]'],
    ] as const) {
      await page.goto(`${base}${url}`);
      await page.locator(ready).first().waitFor(WAIT);
      await each(name);
    }
  }

  it('has no serious or critical accessibility violations on any page, in the light and the dark theme', async () => {
    const { page, problems } = await open();
    const found: string[] = [];
    await visitAll(page, async (name) => {
      for (const colorScheme of ['light', 'dark'] as const) {
        // The last scheme checked stays on for the screenshot.
        await page.emulateMedia({ colorScheme });
        for (const v of await axeViolations(page)) found.push(`${name} (${colorScheme}): ${v}`);
      }
      await shot(page, `dark-${name}`);
      await page.emulateMedia({ colorScheme: 'light' });
    });
    assert.deepEqual(found, []);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  it('fits a 375-pixel-wide screen without horizontal scrolling', async () => {
    const { page, problems } = await open({ width: 375, height: 812 });
    const wide: string[] = [];
    await visitAll(page, async (name) => {
      const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      if (scroll > client) wide.push(`${name}: ${scroll} px wide in ${client} px`);
      await shot(page, `narrow-${name}`);
    });
    assert.deepEqual(wide, []);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
});
