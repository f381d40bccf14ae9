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
  upgrade: 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  connect: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
  h2: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  lf: 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n',
  te_gzip: 'POST /api/v1/models/run HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
  space_header: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n',
  longurl: `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  null_in_path: 'GET /he\x00althz HTTP/1.1\r\nHost: x\r\n\r\n',
  head404: 'HEAD /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  method_trace: 'TRACE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  get_with_body_ctype: 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
};
for (const [name, c] of Object.entries(cases)) {
  const [data, half] = Array.isArray(c) ? c : [c, false];
  const out = await raw(data, half);
  console.log(name, '=>', JSON.stringify(out.split('\r\n')[0]), JSON.stringify(out.slice(out.indexOf('\r\n\r\n') + 4).slice(0, 200)));
}
await app.close();
