import type { EventStore, StopWatchingAppends, StoredEvent } from '@gatehouse/eventstore';

/** Fallback look at the log when no wake-up came (a lost notification); wake-ups carry the latency. */
export const FEED_FALLBACK_POLL_MS = 2_000;

export type FeedListener = (event: StoredEvent) => void;

/**
 * One tail of the event log for every live view the gateway serves (server-sent events): it reads
 * new events from the store's gap-safe log when the store signals appends (EventStore.watchAppends:
 * LISTEN/NOTIFY on PostgreSQL, in-process with PGlite), so any process's appends reach the console
 * without per-client polling. It starts with the first listener.
 */
export class EventFeed {
  private readonly listeners = new Set<FeedListener>();
  private position = 0n;
  private running: Promise<void> | undefined;
  private stopWatching: StopWatchingAppends | undefined;
  private fallback: NodeJS.Timeout | undefined;
  private pending = false;
  private reading = false;

  constructor(private readonly store: EventStore) {}

  /** Calls `listener` with every event appended from now on; returns the unsubscribe function. */
  async subscribe(listener: FeedListener): Promise<() => void> {
    this.listeners.add(listener);
    // A failed start (store unreachable) is not remembered: the next subscriber tries again.
    this.running ??= this.start().catch((error: unknown) => {
      this.running = undefined;
      throw error;
    });
    try {
      await this.running;
    } catch (error) {
      this.listeners.delete(listener);
      throw error;
    }
    return () => void this.listeners.delete(listener);
  }

  private async start(): Promise<void> {
    this.position = await this.head();
    this.stopWatching = await this.store.watchAppends?.(() => this.wake());
    this.fallback = setInterval(() => this.wake(), FEED_FALLBACK_POLL_MS);
    this.fallback.unref();
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.running;
    clearInterval(this.fallback);
    await this.stopWatching?.();
  }

  private wake(): void {
    if (this.reading) {
      this.pending = true;
      return;
    }
    this.reading = true;
    void this.readNew().finally(() => {
      this.reading = false;
      if (this.pending) {
        this.pending = false;
        this.wake();
      }
    });
  }

  private async readNew(): Promise<void> {
    try {
      for await (const event of this.store.readAll({ after: this.position })) {
        this.position = event.globalPosition;
        for (const listener of this.listeners) listener(event);
      }
    } catch {
      // The store is unreachable for now; the next wake-up or fallback tick reads again from the same position.
    }
  }

  private async head(): Promise<bigint> {
    let last = 0n;
    for await (const event of this.store.readAll({ after: 0n })) last = event.globalPosition;
    return last;
  }
}
