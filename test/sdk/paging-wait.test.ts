import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GenJobs, WaitTimeoutError, type Job } from '@genjobs/sdk';
import { liveApp } from './live-server.js';
import type { TestApp } from '../helpers/app.js';

describe('@genjobs/sdk: paging, and waiting with a timeout or an abort', { timeout: 120_000 }, () => {
  let app: TestApp & { url: string };
  let client: GenJobs;

  before(async () => {
    app = await liveApp();
    client = new GenJobs({ baseUrl: app.url, apiKey: (await app.account({ credits: 10_000 })).key });
  });
  after(() => app.dispose());

  it('awaits one page, and pages through every job with for await', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await client.run('local/text', { prompt: `job ${i}` })).id);
    const page = await client.jobs.list({ limit: 3 });
    assert.equal(page.data.length, 3);
    assert.equal(page.has_more, true);
    assert.deepEqual(page.data.map((j) => j.id), made.slice(-3).reverse(), 'newest first');

    const all: Job[] = [];
    for await (const job of client.jobs.list({ limit: 3 })) all.push(job);
    assert.deepEqual(all.map((j) => j.id), [...made].reverse(), 'every job once, across three pages');

    const none: Job[] = [];
    for await (const job of client.jobs.list({ status: 'failed' })) none.push(job);
    assert.deepEqual(none, []);
  });

  it('gives up waiting after timeoutMs with WaitTimeoutError holding the job as last seen; the job goes on', async () => {
    const run = await client.run('local/test', { duration_ms: 30_000 });
    const err = await client.jobs.wait(run.id, { timeoutMs: 300 }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof WaitTimeoutError, String(err));
    assert.equal(err.job.id, run.id);
    assert.ok(['pending', 'processing'].includes(err.job.status));
    assert.ok(['pending', 'processing'].includes((await client.jobs.get(run.id)).status), 'waiting ended, the job did not');
    await client.jobs.cancel(run.id);
  });

  it('gives up waiting by polling too', async () => {
    const run = await client.run('local/test', { duration_ms: 30_000 });
    const err = await client.jobs.wait(run.id, { timeoutMs: 300, live: false }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof WaitTimeoutError, String(err));
    await client.jobs.cancel(run.id);
  });

  it('stops waiting when its signal aborts, rejecting with the signal\'s reason', async () => {
    const run = await client.run('local/test', { duration_ms: 30_000 });
    const controller = new AbortController();
    const reason = new Error('the user went away');
    const waiting = client.jobs.wait(run.id, {
      signal: controller.signal,
      // Abort once the wait has seen the job: the abort then ends a wait that is under way.
      onUpdate: () => controller.abort(reason),
    });
    await assert.rejects(waiting, (e: unknown) => e === reason);
    await assert.rejects(client.jobs.wait(run.id, { signal: controller.signal }), (e: unknown) => e === reason, 'an aborted signal stops it at once');
    await client.jobs.cancel(run.id);
  });

  it('streams every job of the account as it changes, until the signal aborts', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    let runId = '';
    const listening = (async () => {
      for await (const e of client.jobs.stream({ signal: controller.signal })) {
        if (e.event !== 'status') continue;
        seen.push(`${e.data.id}:${e.data.status}`);
        if (runId === '') runId = (await client.run('local/test', { duration_ms: 100 })).id;
        if (e.data.id === runId && e.data.status === 'completed') controller.abort(new Error('seen enough'));
      }
    })();
    // A first status event comes for every unfinished job; make one so the stream has something to say.
    const first = await client.run('local/test', { duration_ms: 30_000 });
    await assert.rejects(listening, /seen enough/);
    assert.ok(seen.includes(`${runId}:completed`), seen.join(' '));
    await client.jobs.cancel(first.id);
  });

  it('ends an event stream when the loop breaks out of it', async () => {
    const run = await client.run('local/test', { duration_ms: 30_000 });
    let first: string | undefined;
    for await (const e of client.jobs.events(run.id)) {
      first = e.event;
      break;
    }
    assert.equal(first, 'status');
    await client.jobs.cancel(run.id);
  });
});
