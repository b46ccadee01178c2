import type { StopWatchingAppends, WatchAppendsOptions } from './types.js';

/** How a storage wakes the watchers of EventStore.watchAppends. */
export interface AppendSignal {
  /**
   * Called after an append committed; never throws. May return a promise the append waits for (PostgreSQL: a NOTIFY
   * transaction already open, which would otherwise hold readAll's snapshot guard back for a moment).
   */
  appended(): void | Promise<void>;
  watch(listener: () => void, options: WatchAppendsOptions): Promise<StopWatchingAppends>;
  /** Ends every watch. */
  close(): Promise<void>;
}

export interface Watcher {
  listener: () => void;
  onError: ((error: unknown) => void) | undefined;
}

/** The watchers of one store; a throwing listener must not keep the others from waking. */
export interface Watchers {
  readonly size: number;
  add(listener: () => void, options: WatchAppendsOptions): Watcher;
  delete(watcher: Watcher): void;
  wake(): void;
  reportError(error: unknown): void;
  clear(): void;
}

export function watcherSet(): Watchers {
  const watchers = new Set<Watcher>();
  return {
    get size() {
      return watchers.size;
    },
    add(listener, { onError }) {
      const watcher = { listener, onError };
      watchers.add(watcher);
      return watcher;
    },
    delete(watcher) {
      watchers.delete(watcher);
    },
    wake() {
      for (const { listener } of watchers) {
        try {
          listener();
        } catch {
          // A wake-up is advisory: the watcher's own fallback poll still finds the events.
        }
      }
    },
    reportError(error) {
      for (const { onError } of watchers) {
        try {
          onError?.(error);
        } catch {
          // Same as above: reporting must not break the signal.
        }
      }
    },
    clear: () => watchers.clear(),
  };
}

/**
 * Wakes watchers in this process only: enough where every append happens in this process
 * (in-memory, PGlite). Stores over one database share `watchers`; closing a store ends only
 * the watches made through it.
 */
export function localAppendSignal(watchers: Watchers = watcherSet()): AppendSignal {
  const own = new Set<Watcher>();
  return {
    appended: () => watchers.wake(),
    async watch(listener, options) {
      const watcher = watchers.add(listener, options);
      own.add(watcher);
      return async () => {
        watchers.delete(watcher);
        own.delete(watcher);
      };
    },
    async close() {
      for (const watcher of own) watchers.delete(watcher);
      own.clear();
    },
  };
}
