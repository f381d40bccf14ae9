import net from 'node:net';
import pino from '/work/wt/harden-input/node_modules/pino/pino.js';
const { createApp } = await import('/work/wt/harden-input/dist/src/app.js');
const { loadConfig } = await import('/work/wt/harden-input/dist/src/config/config.js');
const fs = await import('node:fs');
const dir = fs.mkdtempSync('/tmp/gj-');
const app = await createApp(loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', GENJOBS_ADMIN_TOKEN: 'x'.repeat(20) }), { logger: pino({ level: 'silent' }) });
await app.server.listen({ port: 0, host: '127.0.0.1' });
const port = app.server.server.address().port;
function raw(data, halfClose) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.write(data); if (halfClose) s.end(); });
    let out = '';
    s.on('data', (d) => out += d);
    s.on('close', () => resolve(out));
    s.on('error', () => {});
    setTimeout(() => s.destroy(), 3000);
  });
}
const cases = {
  badurl: 'GET /files/%c0%ae%c0%ae/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  longparam: `GET /api/v1/jobs/${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
  overflow: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
  ctrl: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
  badmethod: 'G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
  clLonger: 'POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}xxxxx',
  clShort: ['POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{}', true],
  clTe: 'POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  badCl: 'POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
  badchunk: 'POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  dotdot: 'GET /files/..%2f..%2fetc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  dotfile: 'GET /files/.x/y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  files: 'GET /files/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  http10nohost: 'GET /healthz HTTP/1.0\r\n\r\n',
  nohost11: 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n',
  badversion: 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n',
  garbage: '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
  twoHosts: 'GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n',
  absurl: 'GET http://evil/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  expect: 'POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
  longp2: `GET /api/v1/jobs/${'a'.repeat(200)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n`,
  star: 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
};
for (const [name, c] of Object.entries(cases)) {
  const [data, half] = Array.isArray(c) ? c : [c, false];
  const out = await raw(data, half);
  console.log(name, '=>', JSON.stringify(out.split('\r\n')[0]), JSON.stringify(out.slice(out.indexOf('\r\n\r\n') + 4).slice(0, 200)));
}
await app.close();
