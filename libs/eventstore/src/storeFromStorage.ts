import { InvalidArgumentError, StoreClosedError } from './errors.js';
import { prepareAppend } from './prepareEvents.js';
import { LOG_START, type EventLogStorage, type LogCursor, type LogPage } from './storage.js';
import { startSubscription } from './subscribe.js';
import {
  ANY,
  DEFAULT_BATCH_SIZE,
  START,
  type AuditableEventStore,
  type ReadAllOptions,
  type StoredEvent,
  type Subscription,
} from './types.js';

/** Builds the public store over an adapter's storage, so behaviour is shared by all adapters. */
export function storeFromStorage(storage: EventLogStorage): AuditableEventStore {
  let closed = false;
  const subscriptions = new Set<Subscription>();
  const ensureOpen = (): void => {
    if (closed) throw new StoreClosedError();
  };

  async function* readAll(options: ReadAllOptions = {}): AsyncGenerator<StoredEvent> {
    const { after = START, batchSize = DEFAULT_BATCH_SIZE, untilPosition, untilRecordedAt, eventTypes } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new InvalidArgumentError('batchSize', 'must be a positive integer');
    if (after < START) throw new InvalidArgumentError('after', 'must be >= START (0n)');
    ensureOpen();
    const pageOptions = { limit: batchSize, untilPosition, untilRecordedAt, eventTypes };
    const cursor: LogCursor = after === START ? LOG_START : await storage.cursorAfter(after);
    let next: Promise<LogPage> | undefined = storage.readPage(cursor, pageOptions);
    try {
      while (next !== undefined) {
        const page: LogPage = await next;
        ensureOpen();
        // Read ahead: the database fetches the next page while the consumer handles this one.
        next = page.events.length < batchSize ? undefined : storage.readPage(page.next, pageOptions);
        yield* page.events;
      }
    } finally {
      // A consumer that stops early abandons the read-ahead; its outcome no longer matters.
      next?.catch(() => undefined);
    }
  }

  return {
    async migrate() {
      ensureOpen();
      await storage.migrate();
    },
    async appendToStream(streamId, events, options = {}) {
      ensureOpen();
      return storage.append(prepareAppend(streamId, events, options.expectedVersion ?? ANY));
    },
    async readStream(streamId, options = {}) {
      ensureOpen();
      const { fromVersion = 0n, maxCount } = options;
      if (maxCount !== undefined && (!Number.isInteger(maxCount) || maxCount < 0)) {
        throw new InvalidArgumentError('maxCount', 'must be a non-negative integer');
      }
      return storage.readStream(streamId, maxCount === undefined ? { fromVersion } : { fromVersion, maxCount });
    },
    readAll,
    subscribe(handler, options) {
      ensureOpen();
      const subscription = startSubscription(storage, handler, options);
      subscriptions.add(subscription);
      void subscription.done.catch(() => undefined).finally(() => subscriptions.delete(subscription));
      return subscription;
    },
    async readCheckpoint(name) {
      ensureOpen();
      return storage.readCheckpoint(name);
    },
    async storeCheckpoint(name, position) {
      ensureOpen();
      if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('name', 'must be a non-empty string');
      if (typeof position !== 'bigint' || position < START) throw new InvalidArgumentError('position', 'must be a bigint >= 0n');
      return storage.storeCheckpoint(name, position);
    },
    async readSeals() {
      ensureOpen();
      return storage.readSeals();
    },
    async recordSeal(seal) {
      ensureOpen();
      return storage.recordSeal(seal);
    },
    async close() {
      if (closed) return;
      // Stop subscriptions first so their final checkpoints are written before the pool goes away.
      await Promise.all([...subscriptions].map((subscription) => subscription.stop()));
      closed = true;
      await storage.close();
    },
  };
}
