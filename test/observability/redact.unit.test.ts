import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, REDACTED } from '../../src/observability/logger.js';

describe('log redaction', () => {
  it('replaces credential fields at the top, in records that carry them and in request and error headers', () => {
    let out = '';
    const logger = createLogger('info', new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } }));
    const secret = 'sk_live_0123456789abcdef0123456789';
    logger.info({ authorization: `Bearer ${secret}`, token: secret, key: secret, secret }, 'top');
    logger.info({ worker: { token: secret }, user: { webhookSecret: secret }, provider: { token: secret }, headers: { 'x-api-key': secret } }, 'nested');
    logger.info({ req: { headers: { authorization: `Bearer ${secret}`, host: 'genjobs.test' } } }, 'request');
    logger.info({ err: { message: 'upstream said no', config: { headers: { Authorization: `Bearer ${secret}` } } } }, 'error');
    assert.equal(out.includes(secret), false, out);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(lines[0]!.authorization, REDACTED);
    assert.equal(lines[1]!.worker.token, REDACTED);
    assert.equal(lines[2]!.req.headers.authorization, REDACTED);
    assert.equal(lines[2]!.req.headers.host, 'genjobs.test', 'other fields are kept');
    assert.equal(lines[3]!.err.config.headers.Authorization, REDACTED);
    assert.equal(lines[3]!.err.message, 'upstream said no');
  });
});
