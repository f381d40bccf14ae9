// The two outside services of the fault suite, both local HTTP servers:
// - a fake image provider that speaks the OpenAI images API (`POST /v1/images/generations`, the
//   `openai-images` adapter), switchable between answering, hanging, failing and answering 429;
// - the webhook receiver, which counts every delivery per job and can be taken down and brought
//   back on the same port.
import http from 'node:http';

/** A 1x1 PNG, what the fake provider draws. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAfbLI3wAAAABJRU5ErkJggg==';

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * The fake provider. `mode` is `ok` (an image after `delayMs()`), `hang` (never answers: the
 * adapter's request timeout ends the call), `fail` (500) or `429` (with Retry-After: 1).
 */
export async function startFakeProvider({ delayMs }) {
  const counts = { ok: 0, hang: 0, fail: 0, 429: 0 };
  let mode = 'ok';
  const server = http.createServer(async (req, res) => {
    await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/images/generations') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const now = mode;
    counts[now]++;
    if (now === 'hang') return; // held open until the client gives up or the suite ends
    if (now === 'fail') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"the fake provider fails, as the fault suite asked"}}');
      return;
    }
    if (now === '429') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":{"message":"slow down","type":"rate_limit"}}');
      return;
    }
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ created: Math.floor(Date.now() / 1000), data: [{ b64_json: PNG_1X1 }] }));
    }, delayMs());
  });
  const port = await listen(server);
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    counts,
    setMode(m) { mode = m; },
    close: () => close(server),
  };
}

/**
 * The webhook receiver: answers 200 to every POST and counts deliveries per job id (from the
 * body's `job.id`). `down()` closes it (connections are refused), `up()` listens again.
 */
export async function startWebhookReceiver() {
  const deliveries = new Map(); // job id -> { count, events: Set, firstAt }
  let received = 0;
  let lastAt = 0;
  const server = http.createServer(async (req, res) => {
    const text = await readBody(req);
    let body = null;
    try { body = JSON.parse(text); } catch { /* counted as unreadable below */ }
    const id = body?.job?.id;
    if (typeof id === 'string') {
      const d = deliveries.get(id) ?? { count: 0, events: new Set(), firstAt: Date.now() };
      d.count++;
      d.events.add(body.event);
      deliveries.set(id, d);
      received++;
      lastAt = Date.now();
    }
    res.writeHead(typeof id === 'string' ? 200 : 400).end();
  });
  const port = await listen(server);
  let current = server;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    get received() { return received; },
    get lastAt() { return lastAt; },
    async down() { await close(current); },
    async up() {
      current = http.createServer(server.listeners('request')[0]);
      await listen(current, port);
    },
    close: () => close(current),
  };
}
