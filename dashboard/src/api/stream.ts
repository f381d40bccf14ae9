import { ApiError } from './http.js';
import type { JobEvent } from './types.js';

/** The `id:` of a job stream's last event: the server ends the stream after it. */
const END_ID = 'end';

export interface Follow {
  /** Called once the stream is open (again, after a reconnect). */
  onOpen?: () => void;
  /** A refusal that retrying cannot mend (401, 403, 404): the stream stops. */
  onError?: (err: ApiError) => void;
}

/** One connection's events; `lastEventId` resumes after a drop. Ends when the connection does. */
export type EventSource = (lastEventId: string | undefined, signal: AbortSignal, opened: () => void) => AsyncIterable<JobEvent & { id?: string | undefined }>;

const final = (err: unknown): err is ApiError => err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429;

/**
 * Follows a stream of events until `stop()`: a dropped connection is opened again (with the
 * last event id) after a growing pause; a refusal that cannot mend stops it; a job stream that
 * sent its last event is over.
 */
export function followStream(source: EventSource, onEvent: (e: JobEvent) => void, opts: Follow = {}): () => void {
  const abort = new AbortController();
  let lastId: string | undefined;
  let stopped = false;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const run = async () => {
    let delay = 1000;
    while (!stopped) {
      try {
        for await (const e of source(lastId, abort.signal, () => { delay = 1000; opts.onOpen?.(); })) {
          if (stopped) return;
          if (e.id !== undefined) lastId = e.id;
          onEvent(e);
        }
        if (lastId === END_ID) return;
      } catch (err) {
        if (stopped) return;
        if (final(err)) {
          opts.onError?.(err);
          return;
        }
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
