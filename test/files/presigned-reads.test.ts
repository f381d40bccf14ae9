import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
});
