import { createParser } from 'eventsource-parser';
import { ApiError, fieldOf } from './http.js';
import type { JobEvent } from './types.js';

/** The `id:` of a job stream's last event: the server ends the stream after it. */
const END_ID = 'end';

export interface Follow {
  /** Called once the stream is open (again, after a reconnect). */
  onOpen?: () => void;
  /** A refusal that retrying cannot mend (401, 403, 404): the stream stops. */
  onError?: (err: ApiError) => void;
}

/**
 * Follows a server-sent-event stream of the API until `stop()`. EventSource cannot send an
 * Authorization header, so this reads the answer with fetch and a stream reader and parses it
 * with eventsource-parser. A dropped connection is opened again (with Last-Event-ID) after a
 * growing pause; a job stream that sent its last event is over.
 */
export function followEvents(path: string, token: string, onEvent: (e: JobEvent) => void, opts: Follow = {}): () => void {
  const abort = new AbortController();
  let lastId: string | undefined;
  let stopped = false;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const run = async () => {
    let delay = 1000;
    while (!stopped) {
      try {
        const res = await fetch(path, {
          headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
          signal: abort.signal,
        });
        if (res.status === 204) return;
        if (!res.ok || !res.body) {
          const body = await res.json().catch(() => ({})) as { error?: string; code?: string };
          const message = body.error ?? `The event stream answered ${res.status}`;
          const err = new ApiError(res.status, body.code ?? `http_${res.status}`, message, fieldOf(message));
          if (res.status >= 400 && res.status < 500 && res.status !== 429) {
            opts.onError?.(err);
            return;
          }
          throw err;
        }
        opts.onOpen?.();
        delay = 1000;
        const parser = createParser({
          onEvent(message) {
            if (message.id !== undefined) lastId = message.id;
            if (!message.event) return;
            try {
              onEvent({ event: message.event, data: JSON.parse(message.data) } as JobEvent);
            } catch {
              // A malformed event is skipped; the next status event carries the whole job again.
            }
          },
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
        if (lastId === END_ID) return;
      } catch {
        if (stopped) return;
      }
      await pause(delay);
      delay = Math.min(delay * 2, 15_000);
    }
  };
  void run();
  return () => {
    stopped = true;
    abort.abort();
  };
}
