import { setTimeout as sleep } from 'node:timers/promises';

/** Pieces every polling adapter needs around a run's AbortSignal and its credential. */

/** Waits, or throws the abort's own reason (timers/promises would throw a plain AbortError). */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  }
}

/**
 * Runs a create call so that a stop arriving while it is under way is not lost: the run rejects at
 * once with the abort's reason, the call is let finish (within `limitMs`) in the background, and
 * `abandoned` cleans up what it created.
 */
export async function createDetached<T>(signal: AbortSignal, create: (s: AbortSignal) => Promise<T>, abandoned: (created: T) => Promise<void>, limitMs: number): Promise<T> {
  if (signal.aborted) throw signal.reason;
  const own = new AbortController();
  const creating = create(own.signal);
  let onAbort = (): void => {};
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([creating, stopped]);
  } catch (err) {
    if (signal.aborted) {
      const timer = setTimeout(() => own.abort(signal.reason), limitMs);
      timer.unref();
      creating.then(abandoned).catch(() => undefined).finally(() => clearTimeout(timer));
    }
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The credential never reaches a job's error message, whatever an upstream echoes. */
export function redact(err: unknown, secret: string | null): unknown {
  if (secret && err instanceof Error && err.message.includes(secret)) err.message = err.message.split(secret).join('[redacted]');
  return err;
}
