import { useCallback, useEffect, useState } from 'react';
import { api, type Json } from '../api.js';
import type { Session } from '../session.js';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): void;
}

/** GETs `path` (null: nothing to load yet) and again on demand, or whenever `refreshKey` changes (e.g. a new live event). */
export function useApi<T = Json>(session: Session | null, path: string | null, refreshKey?: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: path !== null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let cancelled = false;
    setState((s) => ({ ...s, loading: true }));
    api(session, 'GET', path).then(
      (data: T) => !cancelled && setState({ data, loading: false }),
      (error: Error) => !cancelled && setState({ error: error.message, loading: false }),
    );
    return () => {
      cancelled = true;
    };
  }, [session, path, generation, refreshKey]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
