import { randomUUID } from 'node:crypto';
import type { AppendResult, EventStore, NewEvent, ReadAllOptions, StoredEvent, Subscription } from '@gatehouse/eventstore';

/**
 * Minimal in-memory EventStore for bus tests that must not depend on an
 * adapter yet (no concurrency checks, no hashing). Wakes watchers after each
 * append unless created with `{ wakeUps: false }` (a store that can only be polled).
 */
export function createFakeEventStore({ wakeUps = true }: { wakeUps?: boolean } = {}): EventStore & { events: StoredEvent[]; checkpoints: Map<string, bigint> } {
  const events: StoredEvent[] = [];
  const checkpoints = new Map<string, bigint>();
  const versions = new Map<string, bigint>();
  const watchers = new Set<() => void>();

  const store = {
    events,
    checkpoints,
    async migrate() {},
    async appendToStream(streamId: string, newEvents: readonly NewEvent[]): Promise<AppendResult> {
      const stored = newEvents.map((event) => {
        const version = (versions.get(streamId) ?? -1n) + 1n;
        versions.set(streamId, version);
        const storedEvent: StoredEvent = {
          id: event.id ?? randomUUID(),
          type: event.type,
          streamId,
          streamVersion: version,
          globalPosition: BigInt(events.length + 1),
          recordedAt: new Date(),
          data: event.data,
          metadata: event.metadata ?? {},
          hash: 'f'.repeat(64),
          previousHash: '0'.repeat(64),
        };
        events.push(storedEvent);
        return storedEvent;
      });
      for (const watcher of watchers) watcher();
      const last = stored[stored.length - 1]!;
      return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events: stored };
    },
    async readStream(streamId: string) {
      return events.filter((event) => event.streamId === streamId);
    },
    async *readAll({ after = 0n, batchSize = 1_000 }: ReadAllOptions = {}): AsyncIterable<StoredEvent> {
      let position = after;
      for (;;) {
        // Batches with an await between them, like a real adapter's round trips.
        await Promise.resolve();
        const batch = events.filter((event) => event.globalPosition > position).slice(0, batchSize);
        if (batch.length === 0) return;
        for (const event of batch) yield event;
        position = batch[batch.length - 1]!.globalPosition;
      }
    },
    subscribe(handler: (event: StoredEvent) => Promise<void> | void, { subscriptionId, pollIntervalMs = 20 }: { subscriptionId: string; pollIntervalMs?: number }): Subscription {
      let stopped = false;
      const done = (async () => {
        while (!stopped) {
          const after = checkpoints.get(subscriptionId) ?? 0n;
          for await (const event of store.readAll({ after })) {
            if (stopped) break;
            await handler(event);
            checkpoints.set(subscriptionId, event.globalPosition);
          }
          await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
        }
      })();
      return {
        async stop() {
          stopped = true;
          await done;
        },
        done,
      };
    },
    async readCheckpoint(name: string) {
      return checkpoints.get(name);
    },
    async storeCheckpoint(name: string, position: bigint) {
      checkpoints.set(name, position);
    },
    async close() {
      watchers.clear();
    },
  };
  if (!wakeUps) return store;
  return {
    ...store,
    async watchAppends(listener: () => void) {
      const watcher = (): void => listener();
      watchers.add(watcher);
      return async () => {
        watchers.delete(watcher);
      };
    },
  };
}
