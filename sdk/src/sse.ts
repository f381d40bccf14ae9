/** One server-sent event as the stream carried it. */
export interface RawEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Reads a `text/event-stream` body into events, as the HTML standard describes: lines end with
 * CRLF, LF or CR; `data` lines join with a newline; a blank line dispatches; comments (`:`) and
 * unknown fields are skipped; an event with no data is not dispatched.
 */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<RawEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let lastId: string | undefined;
  let event = '';
  let data: string[] = [];
  let sawData = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = lineEnd(buffer, done);
        if (end === null) break;
        const line = buffer.slice(0, end.at);
        buffer = buffer.slice(end.at + end.length);
        if (line === '') {
          if (sawData) yield { id: lastId, event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          sawData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') {
          data.push(value);
          sawData = true;
        } else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) lastId = value;
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * Where the first line of `buffer` ends. A lone CR at the very end may be half of a CRLF that the
 * next chunk completes, so it only counts once the stream is done.
 */
function lineEnd(buffer: string, done: boolean): { at: number; length: number } | null {
  const lf = buffer.indexOf('\n');
  const cr = buffer.indexOf('\r');
  if (cr < 0 || (lf >= 0 && lf < cr)) return lf < 0 ? null : { at: lf, length: 1 };
  if (cr + 1 < buffer.length) return { at: cr, length: buffer[cr + 1] === '\n' ? 2 : 1 };
  return done ? { at: cr, length: 1 } : null;
}
