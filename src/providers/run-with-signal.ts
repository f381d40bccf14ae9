/**
 * Runs a provider's `work` but settles as soon as `signal` aborts, even when the work ignores
 * the signal: a provider that does not stop must not hold a slot forever. Used for a model job
 * (the executor) and for each node of an app job (the app runner).
 */
export function runWithSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work().then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
