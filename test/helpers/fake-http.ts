import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake HTTP server received, its body parsed as JSON when it is JSON. */
export interface RecordedCall {
  method: string;
  /** The path with its query string, as sent. */
  path: string;
  headers: http.IncomingHttpHeaders;
  authorization: string | undefined;
  body: any;
  /** Set when the client hung up before the answer was complete. */
  aborted: boolean;
}

export type FakeHandler = (call: RecordedCall, res: http.ServerResponse, req: http.IncomingMessage) => void;

/** A local stand-in for a remote HTTP API: records every call, then lets `handle` answer it. */
export interface FakeHttpServer {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  calls: RecordedCall[];
  url(path: string): string;
  close(): Promise<void>;
}

/**
 * Starts a node:http server on 127.0.0.1 with a free port. Each request's body is read whole
 * (JSON parsed, anything else kept as text, none as null) and recorded before `handle` answers;
 * `handle` may be swapped later through the returned `setHandler`.
 */
export async function fakeHttpServer(handle: FakeHandler): Promise<FakeHttpServer & { setHandler(h: FakeHandler): void }> {
  const calls: RecordedCall[] = [];
  let current = handle;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any = text === '' ? null : text;
      try { if (text !== '') body = JSON.parse(text); } catch { /* kept as text */ }
      const call: RecordedCall = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, authorization: req.headers.authorization, body, aborted: false };
      calls.push(call);
      res.on('close', () => { if (!res.writableFinished) call.aborted = true; });
      current(call, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    calls,
    url: (path) => `${base}${path}`,
    setHandler: (h) => { current = h; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Answers with `body` as JSON. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers with a file's bytes. */
export function sendFile(res: http.ServerResponse, type: string, data: Buffer): void {
  res.writeHead(200, { 'content-type': type, 'content-length': data.length });
  res.end(data);
}
