import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyOutput, copyOutputs, markUpstream } from '../../src/providers/http/outputs.js';
import { BUILTIN_OUTPUT_LIMIT, builtinProvider } from '../../src/providers/builtin/index.js';
import type { MediaRunner } from '../../src/providers/builtin/media-pool.js';
import type { RunContext } from '../../src/providers/provider.js';
import type { FileStorage } from '../../src/files/storage.js';

/* What providers hand the executor to store: markers, never URLs (the rendered form is checked in each provider's tests). */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'genjobs-producers-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const files = new LocalFileStorage(dir);
const base = { jobId: 'job-7', files, signal: new AbortController().signal, timeoutMs: 5_000 };

describe('provider outputs in their stored form', () => {
  it('a copied file is a $file marker with its key, size, type and checksum', async () => {
    const bytes = Buffer.from('GIF89a-not-really');
    const marker = await copyOutput({ ...base, url: `data:image/gif;base64,${bytes.toString('base64')}` });
    assert.match(marker.$file.key, /^job-7\/[\w-]+\.gif$/);
    assert.deepEqual(marker.$file, { key: marker.$file.key, size: bytes.length, contentType: 'image/gif', sha256: createHash('sha256').update(bytes).digest('hex') });
    assert.deepEqual(fs.readFileSync(path.join(dir, 'files', marker.$file.key)), bytes);
  });

  it('refuses a copy whose content type contradicts its name (an error page at a .png URL), and keeps an agreeing one', async (t) => {
    const srv = http.createServer((req, res) => {
      if (req.url === '/oops.png') res.writeHead(200, { 'content-type': 'text/html' }).end('<html>gone</html>');
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('png bytes');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => srv.close(() => r())));
    const origin = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const p = { ...base, trustedOrigin: origin, allowPrivate: true };
    await assert.rejects(copyOutput({ ...p, url: `${origin}/oops.png` }), /content type contradicts its name.*text\/html.*\.png/);
    assert.equal(fs.existsSync(path.join(dir, 'files', 'job-7')) ? fs.readdirSync(path.join(dir, 'files', 'job-7')).filter((f) => f.startsWith('.')).length : 0, 0, 'no half file left');
    const kept = await copyOutput({ ...p, url: `${origin}/fine.png` });
    assert.match(kept.$file.key, /\.png$/, 'a generic type does not contradict the name');
    assert.equal(kept.$file.contentType, 'image/png');
  });

  it('copies keep the shape of the value; text stays text', async () => {
    const out = await copyOutputs(['data:text/plain,a', 'data:text/plain,b', 'just text'], base) as unknown[];
    assert.equal(out.length, 3);
    assert.ok((out[0] as { $file: unknown }).$file && (out[1] as { $file: unknown }).$file);
    assert.equal(out[2], 'just text');
  });

  it('files not copied (copy_outputs: false) are marked as the provider\'s own URLs', () => {
    assert.deepEqual(markUpstream(['https://cdn.example/a.png', 'text']), [{ $upstream: 'https://cdn.example/a.png' }, 'text']);
    assert.deepEqual(markUpstream('https://cdn.example/a.png'), { $upstream: 'https://cdn.example/a.png' });
  });

  it('a built-in model streams what it rendered into storage under a size limit, and a render past it fails and keeps nothing', async () => {
    const limits: number[] = [];
    const recording = Object.assign(Object.create(files) as FileStorage, {
      put: (p: Parameters<FileStorage['put']>[0]) => { limits.push(p.limit); return files.put(p); },
    });
    const rendering = (bytes: Buffer): MediaRunner => ({ run: async () => bytes });
    const ctx = (jobId: string): RunContext => ({ jobId, model: {} as RunContext['model'], input: { prompt: 'x' }, signal: new AbortController().signal, files: recording });
    const png = Buffer.from('\x89PNG rendered');
    const out = await builtinProvider('image', 'local/image', rendering(png)).run(ctx('job-b1')) as { outputImage: { $file: { key: string; size: number; contentType: string } } };
    assert.deepEqual(limits, [BUILTIN_OUTPUT_LIMIT]);
    assert.equal(out.outputImage.$file.size, png.length);
    assert.equal(out.outputImage.$file.contentType, 'image/png');
    await assert.rejects(builtinProvider('image', 'local/image', rendering(Buffer.allocUnsafe(BUILTIN_OUTPUT_LIMIT + 1))).run(ctx('job-b2')), { name: 'FileSizeError' });
    assert.equal(fs.existsSync(path.join(dir, 'files', 'job-b2')) ? fs.readdirSync(path.join(dir, 'files', 'job-b2')).length : 0, 0, 'nothing kept');
  });
});
