import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, type TestApp } from '../helpers/app.js';
import { startS3Server, type TestS3 } from '../helpers/s3-server.js';
import { LocalFileStorage } from '../../src/files/local-storage.js';
import type { FileStorage } from '../../src/files/storage.js';

type Headers = Record<string, string>;

/** GET /files/ as served under each storage: the same answers whichever adapter holds the file. */
function servingSuite(name: string, setUp: () => Promise<{ app: TestApp; storage: FileStorage; dispose(): Promise<void> }>): void {
  describe(`GET /files/<job>/<name> from ${name}`, () => {
    let app: TestApp;
    let storage: FileStorage;
    let dispose: () => Promise<void>;
    let path: string;
    const bytes = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    before(async () => {
      ({ app, storage, dispose } = await setUp());
      const stored = await storage.put({ jobId: 'served-job', extension: 'png', source: bytes, limit: 1_000 });
      path = `/files/${stored.key}`;
    });
    after(() => dispose());

    const get = (url: string, headers: Headers = {}, method: 'GET' | 'HEAD' = 'GET') => app.server.inject({ method, url, headers });

    it('sends the whole file with its type, length, validators, a year of immutable caching and the safe-content headers', async () => {
      const res = await get(path);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, bytes);
      assert.equal(res.headers['content-type'], 'image/png');
      assert.equal(res.headers['content-length'], String(bytes.length));
      assert.match(String(res.headers.etag), /^"[^"]+"$/);
      assert.ok(!Number.isNaN(Date.parse(String(res.headers['last-modified']))));
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(res.headers['accept-ranges'], 'bytes');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['content-security-policy'], 'sandbox');
      assert.equal(res.headers['content-disposition'], undefined, 'an image is shown inline');
    });

    it('serves one byte range with 206 and Content-Range: closed, open, suffix, cut at the end', async () => {
      const cases: Array<[string, string, string]> = [
        ['bytes=2-5', '2345', 'bytes 2-5/36'],
        ['bytes=30-', 'uvwxyz', 'bytes 30-35/36'],
        ['bytes=-4', 'wxyz', 'bytes 32-35/36'],
        ['bytes=34-900', 'yz', 'bytes 34-35/36'],
        ['bytes=0-0', '0', 'bytes 0-0/36'],
      ];
      for (const [range, body, contentRange] of cases) {
        const res = await get(path, { range });
        assert.equal(res.statusCode, 206, range);
        assert.equal(res.payload, body, range);
        assert.equal(res.headers['content-range'], contentRange, range);
        assert.equal(res.headers['content-length'], String(body.length), range);
        assert.equal(res.headers['content-type'], 'image/png', range);
      }
    });

    it('sends the whole file for a Range it does not serve: several ranges, another unit, a backwards or malformed one', async () => {
      for (const range of ['bytes=0-1,4-5', 'items=0-3', 'bytes=9-2', 'bytes=x-y', 'bytes=-']) {
        const res = await get(path, { range });
        assert.equal(res.statusCode, 200, range);
        assert.equal(res.rawPayload.length, bytes.length, range);
      }
    });

    it('answers a range past the end with 416, the file size in Content-Range and the error format', async () => {
      for (const range of ['bytes=36-', 'bytes=100-200', 'bytes=-0']) {
        const res = await get(path, { range });
        assert.equal(res.statusCode, 416, range);
        assert.equal(res.headers['content-range'], 'bytes */36', range);
        assert.deepEqual(res.json(), { error: 'The requested range starts past the end of the file, which has 36 bytes', code: 'range_not_satisfiable' });
      }
    });

    it('answers If-None-Match with the current tag by 304 and no body, and any other tag with the file', async () => {
      const { etag } = (await get(path)).headers;
      for (const tag of [String(etag), `W/${etag}`, `"other", ${etag}`, '*']) {
        const res = await get(path, { 'if-none-match': tag });
        assert.equal(res.statusCode, 304, tag);
        assert.equal(res.payload, '');
        assert.equal(res.headers.etag, etag);
        assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      }
      const changed = await get(path, { 'if-none-match': '"not-this-one"' });
      assert.equal(changed.statusCode, 200);
      assert.deepEqual(changed.rawPayload, bytes);
    });

    it('answers If-Modified-Since by 304 when the file is no newer, unless If-None-Match decides otherwise', async () => {
      const { etag, 'last-modified': lastModified } = (await get(path)).headers;
      const same = await get(path, { 'if-modified-since': String(lastModified) });
      assert.equal(same.statusCode, 304);
      assert.equal(same.payload, '');
      const older = await get(path, { 'if-modified-since': new Date(Date.parse(String(lastModified)) - 60_000).toUTCString() });
      assert.equal(older.statusCode, 200);
      const tagWins = await get(path, { 'if-modified-since': String(lastModified), 'if-none-match': '"not-this-one"' });
      assert.equal(tagWins.statusCode, 200, 'If-None-Match takes precedence');
      assert.equal((await get(path, { 'if-modified-since': 'not a date' })).statusCode, 200);
      assert.equal((await get(path, { 'if-modified-since': String(lastModified), 'if-none-match': String(etag) })).statusCode, 304);
    });

    it('serves the range under If-Range only while the tag is current', async () => {
      const { etag, 'last-modified': lastModified } = (await get(path)).headers;
      const current = await get(path, { range: 'bytes=0-3', 'if-range': String(etag) });
      assert.equal(current.statusCode, 206);
      assert.equal(current.payload, '0123');
      const byDate = await get(path, { range: 'bytes=0-3', 'if-range': String(lastModified) });
      assert.equal(byDate.statusCode, 206);
      const stale = await get(path, { range: 'bytes=0-3', 'if-range': '"an-older-version"' });
      assert.equal(stale.statusCode, 200);
      assert.deepEqual(stale.rawPayload, bytes);
    });

    it('answers HEAD with the headers and no body', async () => {
      const res = await get(path, {}, 'HEAD');
      assert.equal(res.statusCode, 200);
      assert.equal(res.payload, '');
      assert.equal(res.headers['content-length'], String(bytes.length));
      assert.equal(res.headers['content-type'], 'image/png');
      assert.equal((await get('/files/served-job/AAAAAAAAAAAA.png', {}, 'HEAD')).statusCode, 404);
    });

    it('answers 404 file_not_found for a missing file and for any path that is no key', async () => {
      for (const url of ['/files/served-job/AAAAAAAAAAAA.png', '/files/nojob/none.png', '/files/served-job', '/files/a/b/c.png', '/files/.x/y', '/files/served-job/.hidden.png.tmp']) {
        for (const headers of [{}, { range: 'bytes=0-1' }, { 'if-none-match': '*' }] as Headers[]) {
          const res = await get(url, headers);
          assert.equal(res.statusCode, 404, url);
          assert.deepEqual(res.json(), { error: 'File not found', code: 'file_not_found' }, url);
        }
      }
    });

    it('sends scriptable types as downloads, text with its charset', async () => {
      const page = await storage.put({ jobId: 'served-job', extension: 'html', source: Buffer.from('<script>alert(1)</script>'), limit: 100 });
      const res = await get(`/files/${page.key}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-disposition'], `attachment; filename="${page.key.split('/')[1]}"`);
      assert.equal(res.headers['content-security-policy'], 'sandbox');
      const note = await storage.put({ jobId: 'served-job', extension: 'txt', source: Buffer.from('héllo'), limit: 100 });
      assert.equal((await get(`/files/${note.key}`)).headers['content-type'], 'text/plain; charset=utf-8');
    });
  });
}

servingSuite('the local folder', async () => {
  const app = await testApp();
  return { app, storage: new LocalFileStorage(app.dataDir), dispose: () => app.dispose() };
});

let s3: TestS3 | undefined;
servingSuite('S3 (s3rver)', async () => {
  s3 = await startS3Server();
  const app = await testApp(s3.env);
  return {
    app, storage: s3.storage(),
    async dispose() {
      await app.dispose();
      await s3?.close();
    },
  };
});

describe('an app configured with GENJOBS_STORAGE=s3', () => {
  it('refuses to start when the bucket cannot be used, saying which setting to check', async () => {
    const server = await startS3Server();
    try {
      await assert.rejects(testApp({ ...server.env, GENJOBS_S3_BUCKET: 'no-such-bucket' }), /cannot use the S3 bucket "no-such-bucket" \(GENJOBS_S3_BUCKET\): it does not exist/);
    } finally {
      await server.close();
    }
  });

  it('stores a model\'s output in the bucket, not the local folder, and serves it at its link', async () => {
    const server = await startS3Server();
    const app = await testApp(server.env);
    try {
      const { auth } = await app.account({ credits: 100 });
      const res = await app.server.inject({ method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ model: 'local/image', input: { prompt: 'a fox in a bucket' } }) });
      assert.equal(res.statusCode, 200);
      const url = String((res.json() as { output_data: { outputImage: string } }).output_data.outputImage);
      assert.ok(url.startsWith('http://genjobs.test/files/'), url);
      const key = url.slice('http://genjobs.test/files/'.length);
      assert.deepEqual(await server.keys(), [key]);
      const { existsSync } = await import('node:fs');
      assert.equal(existsSync(`${app.dataDir}/files`), false, 'no local folder is even made');
      const file = await app.server.inject({ method: 'GET', url: `/files/${key}` });
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-type'], 'image/png');
      assert.deepEqual(file.rawPayload.subarray(1, 4), Buffer.from('PNG'));
    } finally {
      await app.dispose();
      await server.close();
    }
  });
});
