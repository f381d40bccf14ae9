import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, testApp } from '../helpers/app.js';
import { startS3Server } from '../helpers/s3-server.js';
import { openSse } from '../jobs/sse.js';

/*
 * GENJOBS_FILE_LINKS=presigned through the whole application: every answer that shows a job
 * (run answer, GET, list, event stream) links its files with a presigned URL of the bucket,
 * signed with the configured lifetime at the moment of that answer, never kept from an earlier one.
 */

type Json = Record<string, any>;

/** The signing time a presigned URL carries (`X-Amz-Date`, to the second). */
const signedAt = (url: string): string => new URL(url).searchParams.get('X-Amz-Date') ?? '';

describe('presigned links (GENJOBS_FILE_LINKS=presigned)', () => {
  it('are made for every answer that shows a job, with the configured lifetime, and signed afresh at each read', async (t) => {
    const s3 = await startS3Server();
    t.after(() => s3.close());
    const app = await testApp({ ...s3.env, GENJOBS_FILE_LINKS: 'presigned', GENJOBS_PRESIGN_SECONDS: '90' });
    t.after(() => app.dispose());
    const { auth } = await app.account({ credits: 100 });
    const call = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<Json> => {
      const res = await app.server.inject({ method, url, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { payload: JSON.stringify(body) } : {}) });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Json;
    };

    const ran = await call('POST', '/api/v1/models/run', { model: 'local/image', input: { prompt: 'a signed lighthouse' } });
    const stored = (await app.store.jobGetById({ id: ran.id }))!.outputData as Json;
    const key = stored.outputImage.$file.key as string;
    assert.deepEqual(await s3.keys(), [key]);

    /** Checks one shown link: the bucket's object, the configured lifetime, and it fetches the file. */
    const check = async (link: unknown, where: string): Promise<string> => {
      assert.equal(typeof link, 'string', where);
      const url = link as string;
      assert.ok(url.startsWith(`${s3.endpoint}/${s3.bucket}/${key}?`), `${where}: ${url}`);
      assert.equal(new URL(url).searchParams.get('X-Amz-Expires'), '90', where);
      const res = await fetch(url);
      assert.equal(res.status, 200, where);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()).subarray(1, 4), Buffer.from('PNG'), where);
      return url;
    };

    const first = await check(ran.output_data.outputImage, 'the run answer');
    await check((await call('GET', `/api/v1/jobs/${ran.id}`)).output_data.outputImage, 'GET');
    const listed = (await call('GET', '/api/v1/jobs')).data as Json[];
    await check(listed.find((j) => j.id === ran.id)!.output_data.outputImage, 'the list');
    const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
    const stream = await openSse(`${base}/api/v1/jobs/${ran.id}/events`, auth);
    const status = await stream.waitFor((e) => e.event === 'status', 5000, 'the job\'s status');
    stream.close();
    await check(status.data.output_data.outputImage, 'the event stream');

    // Once the clock has moved to the next second, a read of the same finished job (answered
    // from the process's cache of finished jobs) carries a link signed at that read.
    const firstSecond = signedAt(first);
    await eventually(() => (new Date().toISOString().replace(/[-:]|\.\d+/g, '') > firstSecond ? true : undefined), 5000, 'the next second');
    const later = await check((await call('GET', `/api/v1/jobs/${ran.id}`)).output_data.outputImage, 'a later GET');
    assert.ok(signedAt(later) > firstSecond, `${signedAt(later)} is after ${firstSecond}`);
    assert.notEqual(new URL(later).searchParams.get('X-Amz-Signature'), new URL(first).searchParams.get('X-Amz-Signature'));
  });

  it('are signed afresh for each attempt of a webhook, which is retried for longer than a link lives', async (t) => {
    const s3 = await startS3Server();
    t.after(() => s3.close());
    // The receiver refuses the first attempt and takes the second.
    const got: string[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => { body += d.toString(); });
      req.on('end', () => { got.push(body); res.writeHead(got.length === 1 ? 503 : 200).end(); });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => receiver.close(() => r())));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    // A backoff of at least 1.2 s (1.5 s less 20% jitter): the second attempt is signed in a later second.
    const app = await testApp({
      ...s3.env, GENJOBS_FILE_LINKS: 'presigned', GENJOBS_PRESIGN_SECONDS: '90',
      GENJOBS_WEBHOOK_ALLOW_PRIVATE: 'true', GENJOBS_WEBHOOK_BACKOFF_MS: '1500', GENJOBS_POLL_MS: '50',
    });
    t.after(() => app.dispose());
    const { auth } = await app.account({ credits: 100 });
    const res = await app.server.inject({
      method: 'POST', url: '/api/v1/models/run', headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ model: 'local/image', input: { prompt: 'a hooked lighthouse' }, webhook_url: hook }),
    });
    assert.equal(res.statusCode, 200, res.body);
    await eventually(() => (got.length >= 2 ? true : undefined), 20_000, 'the second attempt');
    const [first, second] = got.map((b) => JSON.parse(b) as Json);
    assert.equal(second!.job.id, first!.job.id);
    const links = [first!.job.output.outputImage as string, second!.job.output.outputImage as string];
    for (const link of links) assert.ok(link.startsWith(`${s3.endpoint}/${s3.bucket}/`), link);
    assert.ok(signedAt(links[1]!) > signedAt(links[0]!), `the retry's link is signed at ${signedAt(links[1]!)}, after ${signedAt(links[0]!)}`);
    assert.equal((await fetch(links[1]!)).status, 200);
  });
});
