import { type CloudEventEnvelope, type EventConsumerFactory, type ReceivedEvent, fromEnvelope } from '@gatehouse/bus';
import { type EventStore, recomputeEventHash, type StoredEvent } from '@gatehouse/eventstore';

/** How a received event differs from the store: it is not there, or not the same event. */
export type EventMismatchReason = 'not_in_store' | 'id_mismatch' | 'position_mismatch' | 'hash_mismatch' | 'content_altered';

/** An event received from the bus that the store does not vouch for (forged, replayed or altered in transit). */
export class EventNotInStoreError extends Error {
  override readonly name = 'EventNotInStoreError';
  readonly code = 'EVENT_NOT_IN_STORE';
  constructor(
    readonly reason: EventMismatchReason,
    readonly eventId: string,
    readonly streamId: string,
    readonly globalPosition: string,
    detail: string,
  ) {
    super(`event ${eventId} (${streamId}, position ${globalPosition}) refused (${reason}): ${detail}`);
  }
}

/** Events read on a miss: the log after the last event found (a replay reads the log in pages), or the rest of a stream. */
const READ_AHEAD = 1_000;
/** Stored events kept for lookups, shared by a process's consumers (most receive the same events). */
export const DEFAULT_CHECK_CACHE_SIZE = 10_000;

export interface StoreEventCheck {
  /** Undefined when the store holds exactly this event; the mismatch otherwise. Throws when the store cannot be read (retry). */
  check(envelope: CloudEventEnvelope): Promise<EventNotInStoreError | undefined>;
}

/**
 * Reads a received event back from the store by its stream and version and compares id, global
 * position, hash, and the hash recomputed from the content that arrived. Only the relay publishes
 * what the store holds, so anything else on the events subjects is not a fact.
 */
export function storeEventCheck(store: Pick<EventStore, 'readStream' | 'readAll'>, { cacheSize = DEFAULT_CHECK_CACHE_SIZE }: { cacheSize?: number } = {}): StoreEventCheck {
  const cache = new Map<string, StoredEvent>();
  const keyOf = (streamId: string, version: bigint): string => `${streamId}\u0000${version}`;
  /** Position of an event the store holds: readAll can resume after it. */
  let lastFound: bigint | undefined;

  const remember = (event: StoredEvent): void => {
    cache.set(keyOf(event.streamId, event.streamVersion), event);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
  };

  /** The reads of missed events, one at a time: the consumers of a process mostly miss on the same new event at once. */
  let reads: Promise<unknown> = Promise.resolve();

  function lookup(streamId: string, version: bigint, position: bigint): Promise<StoredEvent | undefined> {
    const cached = cache.get(keyOf(streamId, version));
    if (cached !== undefined) return Promise.resolve(found(cached));
    // After the read before it, which most often brought this event into the cache too.
    const read = reads.then(() => readMissing(streamId, version, position));
    reads = read.catch(() => undefined);
    return read;
  }

  const found = (event: StoredEvent): StoredEvent => {
    if (lastFound === undefined || event.globalPosition > lastFound) lastFound = event.globalPosition;
    return event;
  };

  async function readMissing(streamId: string, version: bigint, position: bigint): Promise<StoredEvent | undefined> {
    const key = keyOf(streamId, version);
    if (!cache.has(key) && lastFound !== undefined && position > lastFound) {
      // Events arrive in log order: one page of the log serves the next lookups (a replay from the start, or a burst).
      let read = 0;
      for await (const event of store.readAll({ after: lastFound, untilPosition: position + BigInt(READ_AHEAD), batchSize: READ_AHEAD })) {
        remember(event);
        if (++read >= READ_AHEAD) break;
      }
    }
    if (!cache.has(key)) for (const event of await store.readStream(streamId, { fromVersion: version, maxCount: READ_AHEAD })) remember(event);
    const stored = cache.get(key);
    return stored === undefined ? undefined : found(stored);
  }

  return {
    async check(envelope) {
      const claimed = fromEnvelope(envelope);
      const refuse = (reason: EventMismatchReason, detail: string) => new EventNotInStoreError(reason, claimed.id, claimed.streamId, claimed.globalPosition.toString(), detail);
      const stored = await lookup(claimed.streamId, claimed.streamVersion, claimed.globalPosition);
      if (stored === undefined) return refuse('not_in_store', `the store has no version ${claimed.streamVersion} of stream ${claimed.streamId}`);
      if (stored.id !== claimed.id) return refuse('id_mismatch', `the store's event at that version is ${stored.id}`);
      if (stored.globalPosition !== claimed.globalPosition) return refuse('position_mismatch', `the store has it at position ${stored.globalPosition}`);
      if (envelope.eventhash !== stored.hash) return refuse('hash_mismatch', 'its eventhash is not the stored hash');
      if (recomputeEventHash(claimed) !== stored.hash) return refuse('content_altered', 'its content does not hash to the stored hash');
      return undefined;
    },
  };
}

/** What to do with a refused event (dead-letter it, count it, log it); the handler never sees it. */
export type RefusedEventSink = (refusal: EventNotInStoreError, received: ReceivedEvent, consumer: string) => Promise<void>;

/** Every consumer's handler runs only for events the store vouches for; the others go to `onRefused`. */
export function storeCheckedEvents(factory: EventConsumerFactory, check: StoreEventCheck, onRefused: RefusedEventSink): EventConsumerFactory {
  return {
    consume(options) {
      const handler = options.handler as (received: ReceivedEvent) => Promise<void> | void;
      const checked = async (received: ReceivedEvent): Promise<void> => {
        const refusal = await check.check(received.envelope);
        if (refusal !== undefined) return onRefused(refusal, received, options.name);
        await handler(received);
      };
      return factory.consume({ ...options, handler: checked } as unknown as typeof options);
    },
  } as EventConsumerFactory;
}
