import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { testApp, type TestApp } from '../helpers/app.js';

/** A test app listening on a loopback port, for clients that need a real socket (the SDK, fetch). */
export async function liveApp(env: Record<string, string> = {}): Promise<TestApp & { url: string }> {
  const app = await testApp(env);
  await app.server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.server.address() as AddressInfo;
  return Object.assign(app, { url: `http://127.0.0.1:${port}` });
}

export interface FakeRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A local HTTP server whose answers a test scripts one by one (`answers[i]` answers the i-th
 * request; the last one repeats), recording every request: for what a real genjobs server does
 * not do on demand (a 503, a lost answer).
 */
export async function scriptedServer(answers: ((req: FakeRequest, res: http.ServerResponse) => void)[]): Promise<{ url: string; requests: FakeRequest[]; close(): Promise<void> }> {
  const requests: FakeRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now() };
      requests.push(r);
      const answer = answers[Math.min(requests.length, answers.length) - 1]!;
      answer(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** An answer with a JSON body. */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (_req: FakeRequest, res: http.ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
