import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { getJob } from '../../jobs/read-jobs.js';
import { JobWatch, type LiveEvent } from '../../jobs/live.js';
import { AccountFeeds } from '../../jobs/account-feeds.js';
import type { ApiContext } from '../context.js';
import { StreamSlots } from '../stream-slots.js';

type IdParams = { Params: { id: string } };

/** How often a stream re-reads the store when no notice came. */
const FALLBACK_MS = 1_000;
/** How often an idle stream sends a comment, so proxies keep it open. */
const HEARTBEAT_MS = 15_000;
/** The `id:` of a job stream's terminal status event: a reconnect carrying it gets 204 (EventSource then stops). */
const END_ID = 'end';

/** An event offered to many streams (an account's) is serialised once. */
const serialised = new WeakMap<object, string>();
function json(data: object): string {
  let text = serialised.get(data);
  if (text === undefined) {
    text = JSON.stringify(data);
    serialised.set(data, text);
  }
  return text;
}

/**
 * One open server-sent-events answer: writes events with increasing ids, a heartbeat comment,
 * and runs `look` (serialised, coalesced) on every poke and every second. `close()` ends the
 * answer and removes every listener; it also runs when the client goes away.
 */
class SseStream {
  private nextId = 1;
  private closed = false;
  private looking = false;
  private again = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly res: ServerResponse, private readonly onError: (err: unknown) => void) {
    res.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends the head (status, the rate-limit headers already set, the SSE headers). */
  open(reply: FastifyReply): void {
    const headers: Record<string, string | number | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
    reply.hijack();
    this.res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.socket?.setTimeout(0);
    // A client gone before the head was sent: its 'close' came already.
    if (!this.res.socket || this.res.socket.destroyed) {
      this.close();
      return;
    }
    this.res.write(': genjobs event stream\n\n');
    const heartbeat = setInterval(() => this.write(': heartbeat\n\n'), HEARTBEAT_MS);
    this.cleanups.push(() => clearInterval(heartbeat));
  }

  /** Writes `events` in one write (one system call, however many events). */
  send(events: LiveEvent[], lastId?: string): void {
    if (events.length === 0) return;
    let chunk = '';
    events.forEach((e, i) => {
      const id = lastId !== undefined && i === events.length - 1 ? lastId : String(this.nextId++);
      chunk += `id: ${id}\nevent: ${e.event}\ndata: ${json(e.data)}\n\n`;
    });
    this.write(chunk);
  }

  /** Runs `look` now, or once more after the run under way; and every second. */
  watch(look: () => Promise<void>): () => void {
    const poke = () => {
      if (this.closed) return;
      if (this.looking) {
        this.again = true;
        return;
      }
      this.looking = true;
      look().catch(this.onError).finally(() => {
        this.looking = false;
        if (this.again) {
          this.again = false;
          poke();
        }
      });
    };
    const timer = setInterval(poke, FALLBACK_MS);
    this.cleanups.push(() => clearInterval(timer));
    return poke;
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.cleanups.push(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.cleanups.splice(0)) fn();
    if (!this.res.writableEnded) this.res.end();
  }

  private write(chunk: string): void {
    if (this.closed || this.res.writableEnded || this.res.destroyed) return;
    this.res.write(chunk);
  }
}

/**
 * The event streams, registered inside the `/api/v1` plugin so authentication and the rate
 * limit apply (one request per stream). GET /jobs/events is a static route: it is never taken
 * for a job id. Each stream holds one of the key's and the process's stream slots while open.
 */
export function eventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { jobs } = ctx;
  const slots = new StreamSlots(ctx.config.streamsPerKey, ctx.config.streamsMax);
  const feeds = new AccountFeeds(jobs, { onError: (err) => app.log.error({ err }, 'account event streams: reading jobs failed') });
  const open = new Set<SseStream>();
  const closeAll = () => {
    for (const s of [...open]) s.close();
  };
  // A closing process ends its streams: the server waits for no open answer.
  const offClosing = jobs.events.onClosing(closeAll);
  app.addHook('preClose', async () => closeAll());
  app.addHook('onClose', async () => offClosing());
  const track = (s: SseStream, release: () => void) => {
    open.add(s);
    s.onClose(() => open.delete(s));
    s.onClose(release);
  };

  app.get<IdParams>('/jobs/:id/events', async (request, reply) => {
    const release = slots.take(request.caller.key.id);
    try {
      const { job, queuePosition } = await getJob(jobs, request.caller.user, request.params.id);
      // An EventSource reconnecting after the terminal event: 204 tells it to stop.
      if (request.headers['last-event-id'] === END_ID) {
        release();
        return reply.code(204).send();
      }
      const watch = new JobWatch(jobs, job.id);
      const first = await watch.start(job, queuePosition);
      const stream = new SseStream(reply.raw, (err) => request.log.error({ err, jobId: job.id }, 'job event stream: reading the job failed'));
      track(stream, release);
      stream.open(reply);
      const tell = (events: LiveEvent[]) => {
        stream.send(events, watch.done ? END_ID : undefined);
        if (watch.done) stream.close();
      };
      tell(first);
      if (stream.isClosed) return reply;
      const poke = stream.watch(async () => tell(await watch.refresh()));
      stream.onClose(jobs.events.onJobChanged(job.id, poke));
      // A change made between the first read and the listener: look once more.
      poke();
      return reply;
    } catch (err) {
      release();
      throw err;
    }
  });

  app.get('/jobs/events', async (request: FastifyRequest, reply) => {
    const release = slots.take(request.caller.key.id);
    let stream: SseStream | null = null;
    const early: LiveEvent[][] = [];
    try {
      // The account's feed reads each change once for all its streams and hands this one its share, in order.
      const { first, leave } = await feeds.join(request.caller.user, (events) => {
        if (stream) stream.send(events);
        else early.push(events);
      });
      stream = new SseStream(reply.raw, (err) => request.log.error({ err }, 'account event stream failed'));
      stream.onClose(leave);
      track(stream, release);
      stream.open(reply);
      stream.send(first);
      for (const events of early.splice(0)) stream.send(events);
      return reply;
    } catch (err) {
      release();
      throw err;
    }
  });
}
