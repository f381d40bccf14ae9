import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeHttpServer, sendJson } from '../helpers/fake-http.js';
import { callJson } from '../../src/providers/http/client.js';
import { httpOptions } from '../../src/providers/http/options.js';
import { parseCatalog } from '../../src/catalog/load.js';
import { ProviderRegistry } from '../../src/providers/registry.js';

const options = httpOptions({ type: 'test', base_url: 'http://127.0.0.1', retries: 2, backoff_ms: 10 }, 'test/model', { baseUrl: 'http://x', tokenEnv: null });

/** A server answering from a list of statuses, one per call; it records the calls' methods. */
async function server(statuses: number[]): Promise<{ url: string; calls: string[]; close: () => Promise<void> }> {
  const fake = await fakeHttpServer((_call, res) => {
    const status = statuses[Math.min(fake.calls.length - 1, statuses.length - 1)] as number;
    sendJson(res, status, status < 400 ? { ok: true } : { detail: `status ${status}` });
  });
  return { url: fake.base, get calls() { return fake.calls.map((c) => c.method); }, close: fake.close };
}

describe('callJson retries', () => {
  it('retries a read after a 5xx and succeeds', async () => {
    const s = await server([503, 200]);
    try {
      const res = await callJson({ method: 'GET', url: s.url, signal: new AbortController().signal, options, service: 'svc' });
      assert.equal(res.status, 200);
      assert.deepEqual(s.calls, ['GET', 'GET']);
    } finally { await s.close(); }
  });

  it('does not repeat a create call after a 5xx: the service may have acted on it', async () => {
    const s = await server([503, 200]);
    try {
      await assert.rejects(callJson({ method: 'POST', url: s.url, body: {}, signal: new AbortController().signal, options, service: 'svc' }), /svc answered 503: status 503/);
      assert.deepEqual(s.calls, ['POST']);
    } finally { await s.close(); }
  });

  it('repeats a create call after a 429, which the service refused without acting', async () => {
    const s = await server([429, 201]);
    try {
      const res = await callJson({ method: 'POST', url: s.url, body: {}, signal: new AbortController().signal, options, service: 'svc' });
      assert.equal(res.status, 201);
      assert.deepEqual(s.calls, ['POST', 'POST']);
    } finally { await s.close(); }
  });

  it('repeats a create call whose connection was refused, and names the service when it gives up', async () => {
    const s = await server([200]);
    const url = s.url;
    await s.close();
    await assert.rejects(callJson({ method: 'POST', url, body: {}, signal: new AbortController().signal, options, service: 'svc' }), /cannot reach svc: .*\(after 3 attempts\)/);
  });
});

describe('the provider registry', () => {
  it('builds every provider type a catalog may name, and refuses an unknown one', () => {
    const models = parseCatalog({
      models: [
        { id: 'r/a', name: 'A', modality: 'image', cost: 1, provider: { type: 'replicate', model: 'owner/name' } },
        { id: 'f/b', name: 'B', modality: 'image', cost: 1, provider: { type: 'fal', model: 'fal-ai/flux/schnell' } },
        { id: 'o/c', name: 'C', modality: 'image', cost: 1, provider: { type: 'openai-images', model: 'gpt-image-1' } },
        { id: 'g/d', name: 'D', modality: 'image', cost: 1, provider: { type: 'genjobs', base_url: 'http://up.example/api/v1', model: 'local/image' } },
        { id: 'w/e', name: 'E', modality: 'image', cost: 1, provider: { type: 'worker' } },
      ],
    }, 'test');
    const registry = new ProviderRegistry(models);
    for (const m of models) assert.equal(typeof registry.forModel(m.id)?.run, 'function', m.id);
    const bad = parseCatalog({ models: [{ id: 'x/y', name: 'X', modality: 'image', cost: 1, provider: { type: 'carrier-pigeon' } }] }, 'test');
    assert.throws(() => new ProviderRegistry(bad), /unknown provider type "carrier-pigeon"/);
  });
});
