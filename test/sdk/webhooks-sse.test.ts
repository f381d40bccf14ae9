import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GenJobs, readEvents, verifyWebhook, WebhookVerificationError } from '@genjobs/sdk';

import { liveApp, scriptedServer, type FakeRequest } from './live-server.js';
import type { TestApp } from '../helpers/app.js';
import { eventually } from '../helpers/app.js';

describe('verifyWebhook on real deliveries', { timeout: 120_000 }, () => {
  let app: TestApp & { url: string };
  let receiver: Awaited<ReturnType<typeof scriptedServer>>;
  let delivery: FakeRequest;
  let secret: string;
  let client: GenJobs;
  let jobId: string;

  before(async () => {
    app = await liveApp();
    receiver = await scriptedServer([(_req, res) => { res.writeHead(204); res.end(); }]);
    const { key } = await app.account();
    client = new GenJobs({ baseUrl: app.url, apiKey: key });
    secret = (await client.webhooks.secret()).secret;
    jobId = (await client.run('local/image', { prompt: 'signed' }, { webhookUrl: `${receiver.url}/hook` })).id;
    delivery = await eventually(() => receiver.requests[0], 10_000, 'a webhook delivery');
  });
  after(async () => {
    await receiver.close();
    await app.dispose();
  });

  const headers = (only: (name: string) => boolean) =>
    Object.fromEntries(Object.entries(delivery.headers).filter(([k]) => only(k))) as Record<string, string>;

  it('accepts the Standard Webhooks signature and returns the event', async () => {
    const event = await verifyWebhook({ body: delivery.body, headers: headers((k) => k.startsWith('webhook-')), secret });
    assert.equal(event.event, 'job.completed');
    assert.equal(event.job.status, 'completed');
  });

  it('accepts the X-Armox-Signature scheme alone, from a Headers object and a byte body', async () => {
    const event = await verifyWebhook({ body: new TextEncoder().encode(delivery.body), headers: new Headers(headers((k) => k === 'x-armox-signature')), secret });
    assert.equal(event.event, 'job.completed');
  });

  it('refuses a changed body, another secret, a stale timestamp and a delivery with no signature', async () => {
    const standard = headers((k) => k.startsWith('webhook-'));
    await assert.rejects(verifyWebhook({ body: delivery.body.replace('completed', 'failed'), headers: standard, secret }), WebhookVerificationError);
    await assert.rejects(verifyWebhook({ body: delivery.body, headers: standard, secret: 'whsec_' + Buffer.alloc(24, 1).toString('base64') }), WebhookVerificationError);
    await assert.rejects(verifyWebhook({ body: delivery.body, headers: standard, secret, now: Date.now() + 3_600_000 }), /too far/);
    await assert.rejects(verifyWebhook({ body: delivery.body, headers: {}, secret }), /No signature headers/);
  });

  it('lists the job\'s deliveries and rotates the secret', async () => {
    const deliveries = await eventually(async () => {
      const list = await client.jobs.deliveries(jobId);
      return list.data[0]?.status === 'delivered' ? list : undefined;
    }, 10_000, 'a delivered webhook');
    assert.equal(deliveries.data[0]?.event, 'job.completed');
    const rotated = await client.webhooks.rotateSecret();
    assert.notEqual(rotated.secret, secret);
    assert.ok(rotated.previous_secret_expires_at, 'the old secret keeps signing for a while');
  });

  it('accepts a delivery signed with any of the secrets given (a rotation)', async () => {
    const other = 'whsec_' + Buffer.alloc(24, 2).toString('base64');
    const event = await verifyWebhook({ body: delivery.body, headers: headers((k) => k.startsWith('webhook-')), secret: [other, secret] });
    assert.equal(event.event, 'job.completed');
  });
});

describe('the SDK\'s server-sent-events reader', () => {
  /** A stream that hands `text` over in the given chunk sizes. */
  const streamOf = (text: string, sizes: number[]) => {
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    let i = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= bytes.length) return controller.close();
        const n = sizes[i++ % sizes.length]!;
        controller.enqueue(bytes.slice(at, at + n));
        at += n;
      },
    });
  };
  const read = async (text: string, sizes: number[]) => {
    const out = [];
    for await (const e of readEvents(streamOf(text, sizes))) out.push(e);
    return out;
  };

  it('parses events split anywhere, with CRLF, CR or LF line ends, comments and multi-line data', async () => {
    const text = ': hello\r\n\r\nid: 1\r\nevent: status\r\ndata: {"a":\r\ndata: 1}\r\n\r\nid: 2\revent: log\rdata: é ✓\r\rdata:no space\n\nevent: ignored-no-data\n\nid: end\nevent: status\ndata: {"done":true}\n\n';
    const expected = [
      { id: '1', event: 'status', data: '{"a":\n1}' },
      { id: '2', event: 'log', data: 'é ✓' },
      { id: '2', event: 'message', data: 'no space' },
      { id: 'end', event: 'status', data: '{"done":true}' },
    ];
    for (const sizes of [[1], [2, 3], [7], [1000]]) assert.deepEqual(await read(text, sizes), expected, `chunks of ${sizes.join(',')}`);
  });

  it('drops an event the stream cut off before its blank line', async () => {
    assert.deepEqual(await read('data: whole\n\ndata: half', [4]), [{ id: undefined, event: 'message', data: 'whole' }]);
  });
});
