import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { testApp } from '../helpers/app.js';
import { clientErrorHandler } from '../../src/api/errors.js';
import { ERROR_CODES } from '../../src/errors/codes.js';

interface RawAnswer { status: number; headers: string; body: unknown }

/** Reads every HTTP answer in `text` (a connection may carry two: one per request it parsed). */
function answers(text: string): RawAnswer[] {
  const out: RawAnswer[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
    assert.ok(Number.isInteger(length), `every answer has a Content-Length: ${head}`);
    const body = Buffer.from(rest.slice(end + 4)).subarray(0, length).toString();
    out.push({ status: Number(head.slice(9, 12)), headers: head, body: JSON.parse(body) });
    rest = Buffer.from(rest.slice(end + 4)).subarray(length).toString();
  }
  assert.equal(rest, '', 'nothing but answers on the connection');
  return out;
}

/** Sends `data` as it is, then reads until the server closes the connection. */
function raw(port: number, data: string | Buffer, halfClose = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(data);
      if (halfClose) socket.end();
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { text += d; });
    socket.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'ECONNRESET') reject(err); });
    socket.on('close', () => resolve(text));
  });
}

function assertCoded(answer: RawAnswer | undefined, status: number, code: string): void {
  assert.ok(answer, 'an answer came');
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers, /\r\ncontent-type: application\/json/i);
  const body = answer.body as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error']);
  assert.equal(body.code, code);
  assert.ok(Object.hasOwn(ERROR_CODES, code));
  assert.equal(ERROR_CODES[code as keyof typeof ERROR_CODES].status, status);
}

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

describe('answers from below the routes, sent raw over a socket', () => {
  it('are all in the {error, code} shape with a code of the error table', async (t) => {
    const app = await testApp();
    t.after(() => app.dispose());
    await app.server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.server.address() as AddressInfo;
    const { key } = await app.account();
    const post = ['POST /api/v1/models/run HTTP/1.1', 'Host: x', `Authorization: Bearer ${key}`, 'Content-Type: application/json'];
    const cases: Array<[string, string, number, string, boolean?]> = [
      ['a malformed percent escape in the path', head(['GET /files/%c0%ae%c0%ae/x HTTP/1.1', 'Host: x', 'Connection: close']), 400, 'bad_url'],
      ['a request head over the header size limit', head(['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20_000)}`]), 431, 'headers_too_large'],
      ['a control character in a header', head(['GET /healthz HTTP/1.1', 'Host: x', 'X-A: a\x01b']), 400, 'malformed_request'],
      ['a method that is no method', head(['G@T /healthz HTTP/1.1', 'Host: x']), 400, 'malformed_request'],
      ['an HTTP version that does not exist', head(['GET /healthz HTTP/9.9', 'Host: x']), 400, 'malformed_request'],
      ['a Content-Length that is not a number', head([...post, 'Content-Length: abc']), 400, 'malformed_request'],
      ['both Content-Length and Transfer-Encoding', `${head([...post, 'Content-Length: 2', 'Transfer-Encoding: chunked'])}0\r\n\r\n`, 400, 'malformed_request'],
      ['a chunk size that is not hexadecimal', `${head([...post, 'Transfer-Encoding: chunked'])}zz\r\n`, 400, 'malformed_request'],
      ['a body longer than its Content-Length (the rest read as a request)', `${head([...post, 'Content-Length: 1'])}{"model":"x"}`, 400, 'malformed_request'],
      ['a body shorter than its Content-Length, then the end', `${head([...post, 'Content-Length: 50'])}{}`, 400, 'malformed_request', true],
      ['an HTTP/1.1 request without Host', head(['GET /healthz HTTP/1.1', 'Connection: close']), 400, 'malformed_request'],
      ['an Expect the server does not support', `${head([...post, 'Expect: magic', 'Content-Length: 2', 'Connection: close'])}{}`, 417, 'expectation_failed'],
      ['a dot file under /files/', head(['GET /files/.x/y HTTP/1.1', 'Host: x', 'Connection: close']), 404, 'file_not_found'],
      ['a URL longer than the head limit', head([`GET /${'a'.repeat(20_000)} HTTP/1.1`, 'Host: x']), 431, 'headers_too_large'],
      ['a CONNECT, which no route serves', head(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443']), 404, 'route_not_found'],
      ['an HTTP/2 preface on the HTTP/1.1 port', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'malformed_request'],
      ['a TLS handshake on the plain port', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03', 400, 'malformed_request'],
    ];
    for (const [what, data, status, code, halfClose] of cases) {
      await t.test(what, async () => {
        const all = answers(await raw(port, data, halfClose));
        assertCoded(all.at(-1), status, code);
      });
    }
  });

  it('answer a request head that timed out with 408 request_timeout and close the connection', async (t) => {
    const server = net.createServer((socket) => {
      const err = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
      clientErrorHandler(err, socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const text = await raw((server.address() as AddressInfo).port, 'GET /healthz HTTP/1.1\r\n');
    const [answer] = answers(text);
    assertCoded(answer, 408, 'request_timeout');
    assert.match(answer!.headers, /\r\nconnection: close/i);
  });
});
