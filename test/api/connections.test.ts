import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Logger } from 'pino';
import { capConnections, connectionCap, openFileLimit, RESERVED_DESCRIPTORS } from '../../src/api/connections.js';
import { loadConfig } from '../../src/config/config.js';
import { eventually, testApp, type TestApp } from '../helpers/app.js';

/* Idle, slow or too many connections: the server's own limits close them, and a normal request still answers. */

async function listening(t: TestContext, env: Record<string, string>): Promise<{ app: TestApp; port: number; base: string }> {
  const app = await testApp({ GENJOBS_EXECUTOR: 'false', ...env });
  t.after(() => app.dispose());
  const base = await app.server.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: Number(new URL(base).port), base };
}

/** A raw client socket that records what the server sent and when it closed. */
interface RawSocket {
  socket: net.Socket;
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

async function connect(port: number, send = ''): Promise<RawSocket> {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  let isClosed = false;
  socket.on('data', (chunk) => { data += chunk.toString('latin1'); });
  socket.on('error', () => { /* a reset counts as closed */ });
  const closed = new Promise<void>((resolve) => socket.once('close', () => { isClosed = true; resolve(); }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (send) socket.write(send);
  return { socket, received: () => data, closed, isClosed: () => isClosed };
}

const serverConnections = (app: TestApp) => new Promise<number>((resolve, reject) => {
  app.server.server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
});

describe('connection limits', () => {
  it('closes sockets whose request head never completes, while a normal request still answers', { timeout: 30_000 }, async (t) => {
    // Two seconds: the sockets must all still be held when counted, which on a loaded machine can
    // come well after they connected.
    const { app, port, base } = await listening(t, { GENJOBS_HEADERS_TIMEOUT_MS: '2000', GENJOBS_KEEP_ALIVE_TIMEOUT_MS: '200' });
    const halfOpen = await Promise.all(Array.from({ length: 20 }, () => connect(port, 'GET /healthz HTTP/1.1\r\nHost: genjobs.test\r\n')));
    const silent = await connect(port);
    await eventually(async () => ((await serverConnections(app)) >= 21 ? true : undefined), 10_000, 'the server to hold the sockets');
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    await Promise.all([...halfOpen, silent].map((s) => s.closed));
    assert.match(halfOpen[0]!.received(), /^HTTP\/1\.1 408 /, 'the server says why it closes');
    await eventually(async () => ((await serverConnections(app)) === 0 ? true : undefined), 10_000, 'the server to let go of them');
  });

  it('closes an idle keep-alive connection after its timeout', { timeout: 30_000 }, async (t) => {
    const { port } = await listening(t, { GENJOBS_KEEP_ALIVE_TIMEOUT_MS: '200' });
    const s = await connect(port, 'GET /healthz HTTP/1.1\r\nHost: genjobs.test\r\nConnection: keep-alive\r\n\r\n');
    await s.closed;
    assert.match(s.received(), /^HTTP\/1\.1 200 /);
  });

  it('closes a request whose body is not all sent within the request timeout', { timeout: 30_000 }, async (t) => {
    const { port, app } = await listening(t, { GENJOBS_HEADERS_TIMEOUT_MS: '200', GENJOBS_REQUEST_TIMEOUT_MS: '500' });
    const { auth } = await app.account();
    const s = await connect(port, `POST /api/v1/models/run HTTP/1.1\r\nHost: genjobs.test\r\nAuthorization: ${auth.authorization}\r\n`
      + 'Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{"model":');
    await s.closed;
    assert.match(s.received(), /^HTTP\/1\.1 408 /);
  });

  it('closes connections beyond GENJOBS_MAX_CONNECTIONS at once, and takes new ones when one goes', { timeout: 30_000 }, async (t) => {
    const { app, port, base } = await listening(t, { GENJOBS_MAX_CONNECTIONS: '5' });
    assert.equal(app.server.server.maxConnections, 5);
    const held = await Promise.all(Array.from({ length: 5 }, () => connect(port)));
    await eventually(async () => ((await serverConnections(app)) === 5 ? true : undefined), 10_000, 'five connections');
    const extra = await connect(port, 'GET /healthz HTTP/1.1\r\nHost: genjobs.test\r\n\r\n');
    await extra.closed;
    assert.equal(extra.received(), '', 'the sixth gets no answer');
    held[0]!.socket.destroy();
    await eventually(async () => ((await serverConnections(app)) === 4 ? true : undefined), 10_000, 'one connection to go');
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    for (const s of held) s.socket.destroy();
  });
});

describe('the open-file limit', () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft}                 1048576              files     \n`;

  it('reads the soft limit on open files, and nothing when it is unlimited or unknown', () => {
    assert.equal(openFileLimit(limits('1024')), 1024);
    assert.equal(openFileLimit(limits('unlimited')), null);
    assert.equal(openFileLimit('nothing here'), null);
    const own = openFileLimit();
    assert.ok(own === null || own > 0);
  });

  it('keeps the configured cap when it fits, and lowers it with a warning that says what to do when it does not', () => {
    assert.deepEqual(connectionCap({ maxConnections: 10_000, databasePoolSize: 10 }, 65_536), { maxConnections: 10_000, warning: null });
    assert.deepEqual(connectionCap({ maxConnections: 10_000, databasePoolSize: 10 }, null), { maxConnections: 10_000, warning: null });
    const low = connectionCap({ maxConnections: 10_000, databasePoolSize: 10 }, 1024);
    assert.equal(low.maxConnections, 1024 - RESERVED_DESCRIPTORS - 10);
    assert.match(low.warning ?? '', /open-file limit of this process is 1024/);
    assert.match(low.warning ?? '', /GENJOBS_MAX_CONNECTIONS=10000/);
    assert.match(low.warning ?? '', /ulimit -n/);
  });

  it('applies the cap to the server at start and logs the warning once when the limit lowered it', () => {
    const warnings: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => { warnings.push(args); } } as unknown as Logger;
    const server = { maxConnections: 0 };
    capConnections(server, loadConfig({}), logger, 1024);
    assert.equal(server.maxConnections, 1024 - RESERVED_DESCRIPTORS - 10);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]![1]), /open-file limit of this process is 1024/);
    capConnections(server, loadConfig({ GENJOBS_MAX_CONNECTIONS: '500' }), logger, 1024);
    assert.equal(server.maxConnections, 500);
    assert.equal(warnings.length, 1, 'no warning when the cap fits');
  });
});
