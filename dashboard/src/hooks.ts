import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
  /** Replaces the data in place (after a live update or an action's answer). */
  set: (update: (old: T | undefined) => T | undefined) => void;
}

/** Runs `load` on mount and whenever `deps` change; the latest call wins. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const n = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => { if (n === latest.current) setState({ data, loading: false }); },
      (error: Error) => { if (n === latest.current) setState((s) => ({ data: s.data, error, loading: false })); },
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const set = useCallback((update: (old: T | undefined) => T | undefined) => setState((s) => ({ ...s, data: update(s.data) })), []);
  return { data: state.data, error: state.error, loading: state.loading, reload, set };
}

/** Sets the document's title for the page shown. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · genjobs`;
  }, [title]);
}
