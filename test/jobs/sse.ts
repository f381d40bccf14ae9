import { waitBound } from '../helpers/waits.js';

/** A small server-sent-events client for the tests: reads a stream over a real socket with fetch. */

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: any;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Every event so far, in order. */
  events: SseEvent[];
  /** Comment lines (`: ...`) so far. */
  comments: string[];
  /** Resolves when the server ends the stream (or the client closes it). */
  ended: Promise<void>;
  isEnded(): boolean;
  /** Resolves with the first event (from `from` on) that matches, or fails after `ms` (raised to MIN_WAIT_MS for a loaded machine). */
  waitFor(match: (e: SseEvent) => boolean, ms?: number, what?: string): Promise<SseEvent>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const parse = (block: string) => {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) { comments.push(line.slice(1).trim()); continue; }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ id, event, data: JSON.parse(data.join('\n')) });
  };
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          parse(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
        for (const w of waiters) w();
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    } finally {
      ended = true;
      for (const w of waiters) w();
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    ended: done,
    isEnded: () => ended,
    close: () => controller.abort(),
    waitFor(match, wanted = 5000, what = 'an event') {
      const ms = waitBound(wanted);
      return new Promise<SseEvent>((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) { finish(); resolve(found); } else if (ended) { finish(); reject(new Error(`stream ended without ${what}: ${JSON.stringify(events)}`)); }
        };
        const timer = setTimeout(() => { finish(); reject(new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(events)}`)); }, ms);
        const finish = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
  };
}
