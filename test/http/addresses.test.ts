import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { isPrivateAddress } from '../../src/http/addresses.js';
import { copyOutput } from '../../src/providers/http/outputs.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import { eventually, testApp } from '../helpers/app.js';
import { newId } from '../../src/ids.js';

describe('the outbound address policy', () => {
  it('refuses every non-public address, IPv4 carried in IPv6 judged by its IPv4', () => {
    const refused = [
      '127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '255.255.255.255',
      '224.0.0.1', '240.0.0.1', '192.0.2.1', '198.18.0.1',
      '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '2001:db8::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:0:7f00:1', '::127.0.0.1', '::7f00:1', '::a9fe:a9fe',
      '64:ff9b::7f00:1', '64:ff9b::127.0.0.1', '64:ff9b::a00:1', '64:ff9b:1::1', '2002:7f00:1::1', '2001::1',
    ];
    for (const a of refused) assert.equal(isPrivateAddress(a), true, a);
    const allowed = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '::808:808'];
    for (const a of allowed) assert.equal(isPrivateAddress(a), false, a);
    assert.equal(isPrivateAddress('example.com'), false, 'names are judged when they resolve');
  });

  it('refuses a run whose webhook is a literal private address, in every IPv6 form of loopback, with a 400', async (t) => {
    const app = await testApp({ GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'false' });
    t.after(() => app.dispose());
    const { auth, userId } = await app.account({ credits: 100 });
    for (const host of ['127.0.0.1', '10.1.2.3', '169.254.169.254', 'localhost', '[::1]', '[::7f00:1]', '[::127.0.0.1]', '[64:ff9b::7f00:1]', '[::ffff:0:7f00:1]']) {
      const run = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: {}, webhook_url: `http://${host}:9/hook` } });
      assert.equal(run.statusCode, 400, `${host}: ${run.body}`);
      assert.equal(run.json().code, 'invalid_parameter', host);
      assert.match(run.json().error, /webhook_url.*private or local address.*GENJOBS_WEBHOOK_ALLOW_PRIVATE/, host);
    }
    assert.equal((await app.store.userGetById({ id: userId }))?.credits, 100, 'nothing was charged');
    const ok = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: auth, payload: { model: 'local/test', input: {}, webhook_url: 'https://hooks.example.com/genjobs' } });
    assert.equal(ok.statusCode, 202, 'a public name is accepted: it is checked again when it resolves');
  });

  it('fails a webhook whose target turns out private at delivery as refused, not as unreachable', async (t) => {
    const app = await testApp({ GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'false', GENJOBS_WEBHOOK_BACKOFF_MS: '20' });
    t.after(() => app.dispose());
    const { auth, userId } = await app.account({ credits: 100 });
    // Jobs accepted while the operator allowed private targets, delivered after they stopped:
    // written straight to the store, past the check at acceptance.
    for (const host of ['[::7f00:1]', '[64:ff9b::7f00:1]', 'localhost']) {
      const created = await app.store.jobCreateCharged({
        id: newId(), userId, runType: 'model', modelId: 'local/test', appId: null, inputData: { input: {} }, runSpec: { input: {} },
        webhookUrl: `http://${host}:9/hook`, cost: 1, now: Date.now(),
      });
      assert.ok(created.ok);
      app.events.created(created.job);
      const delivery = await eventually(async () => {
        const res = await app.server.inject({ method: 'GET', url: `/api/v1/jobs/${created.job.id}/webhook_deliveries`, headers: auth });
        const [d] = res.json().data as Array<{ status: string; last_error: string }>;
        return d?.status === 'failed' ? d : undefined;
      }, 5_000, `the delivery to ${host} to fail`);
      assert.match(delivery.last_error, /private or local address.*GENJOBS_WEBHOOK_ALLOW_PRIVATE/, host);
    }
  });
});

describe('copying a provider\'s output file', () => {
  /** A file server; `/file.png` is the file, `/to?u=...` redirects to u. */
  async function server() {
    const hits: string[] = [];
    const srv = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/to') res.writeHead(302, { location: u.searchParams.get('u') ?? '/' }).end();
      else res.writeHead(200, { 'content-type': 'image/png' }).end('png bytes');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    return { origin: `http://127.0.0.1:${port}`, port, hits, close: () => new Promise<void>((r) => srv.close(() => r())) };
  }

  it('trusts the provider\'s own origin, and checks every other host, redirects included', async (t) => {
    const provider = await server();
    const elsewhere = await server();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-outbound-'));
    t.after(async () => { await provider.close(); await elsewhere.close(); fs.rmSync(dir, { recursive: true, force: true }); });
    const files = new LocalFileStorage(dir);
    const base = { jobId: 'j1', files, signal: new AbortController().signal, timeoutMs: 5_000, trustedOrigin: provider.origin };

    const own = await copyOutput({ ...base, url: `${provider.origin}/file.png` });
    assert.match(own.$file.key, /^j1\/[\w-]+\.png$/);

    const refusals = [
      `${elsewhere.origin}/file.png`,
      `${provider.origin}/to?u=${encodeURIComponent(`${elsewhere.origin}/file.png`)}`,
      `${provider.origin}/to?u=${encodeURIComponent(`http://localhost:${elsewhere.port}/file.png`)}`,
      `${provider.origin}/to?u=${encodeURIComponent(`http://[::ffff:7f00:1]:${elsewhere.port}/file.png`)}`,
      `${provider.origin}/to?u=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`,
    ];
    for (const url of refusals) {
      await assert.rejects(copyOutput({ ...base, url }), /could not copy the output .*private or local address/, url);
    }
    assert.deepEqual(elsewhere.hits, [], 'no request reached the other private host');
    await assert.rejects(copyOutput({ ...base, url: `${provider.origin}/to?u=${encodeURIComponent('file:///etc/passwd')}` }), /not http\(s\)/);

    const allowed = await copyOutput({ ...base, allowPrivate: true, url: `${provider.origin}/to?u=${encodeURIComponent(`${elsewhere.origin}/file.png`)}` });
    assert.match(allowed.$file.key, /\.png$/, 'allow_private_outputs lets it through');
    assert.deepEqual(elsewhere.hits, ['/file.png']);
  });
});
