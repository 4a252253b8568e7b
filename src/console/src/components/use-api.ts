/** Loading JSON for a page: data, error, loading, and reload; optional polling while shown. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[], options: { pollMs?: number } = {}): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const ticket = ++latest.current;
    const controller = new AbortController();
    setLoading(true);
    try {
      const value = await loadRef.current(controller.signal);
      if (ticket === latest.current) {
        setData(value);
        setError(undefined);
      }
    } catch (caught) {
      if (ticket === latest.current && !(caught instanceof DOMException && caught.name === 'AbortError')) setError(caught as Error);
    } finally {
      if (ticket === latest.current) setLoading(false);
    }
  }, deps); // the caller lists what the loader reads, as with useEffect

  useEffect(() => {
    void reload();
    if (!options.pollMs) return undefined;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, options.pollMs);
    return () => clearInterval(timer);
  }, [reload, options.pollMs]);

  return { data, error, loading, reload };
}

/** Runs a write, keeping its error for display and a busy flag for the button. */
export function useAction(): { busy: boolean; error: string | undefined; run: <T>(action: () => Promise<T>) => Promise<T | undefined>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = useCallback(async <T,>(action: () => Promise<T>) => {
    setBusy(true);
    setError(undefined);
    try {
      return await action();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.describe() : (caught as Error).message);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}
