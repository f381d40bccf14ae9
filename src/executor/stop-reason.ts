/** Why the executor aborted a provider's work; the abort's `reason`, compared by identity. */
export const StopReason = {
  cancelled: new Error('The job was cancelled.'),
  timedOut: new Error('The job timed out.'),
  leaseLost: new Error('This executor lost the job\'s lease.'),
  shutdown: new Error('The executor is shutting down.'),
} as const;

/**
 * Runs `work` but settles as soon as `signal` aborts, even when the work ignores the signal:
 * a provider that does not stop must not hold an executor slot forever.
 */
export function runWithSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work().then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
