import { localAppendSignal } from '../appendSignal.js';
import { WrongExpectedVersionError, InvalidArgumentError } from '../errors.js';
import { eventHash, GENESIS_HASH } from '../hashing.js';
import type { PreparedAppend } from '../prepareEvents.js';
import { pageOf, type EventLogStorage, type LogCursor, type LogPage, type ReadPageOptions } from '../storage.js';
import { storeFromStorage } from '../storeFromStorage.js';
import { NO_STREAM, STREAM_EXISTS, ANY, type AuditableEventStore, type Seal, type SealedEvent, type StoredEvent } from '../types.js';

interface LoggedEvent {
  event: StoredEvent;
  /** Every append is one "transaction"; its number plays the role of the xid. */
  transactionId: bigint;
}

/** Deep copy so callers can never mutate stored events through returned objects. */
const copy = (event: StoredEvent): StoredEvent => ({
  ...event,
  recordedAt: new Date(event.recordedAt.getTime()),
  data: structuredClone(event.data),
  metadata: structuredClone(event.metadata),
});

function conflicts(expected: PreparedAppend['expectedVersion'], actual: bigint | undefined): boolean {
  if (expected === ANY) return false;
  if (expected === NO_STREAM) return actual !== undefined;
  if (expected === STREAM_EXISTS) return actual === undefined;
  return actual !== expected;
}

/** Storage for pure tests: same behaviour and hashes as the SQL adapters, nothing persisted. */
function inMemoryStorage(): EventLogStorage {
  const log: LoggedEvent[] = [];
  const byId = new Set<string>();
  const streams = new Map<string, StoredEvent[]>();
  const checkpoints = new Map<string, bigint>();
  const seals: Seal[] = [];
  const sealedEvents: SealedEvent[] = [];
  let lastTransactionId = 0n;
  const signal = localAppendSignal();

  return {
    async migrate() {},
    async append(append) {
      const stream = streams.get(append.streamId);
      const head = stream?.[stream.length - 1];
      if (conflicts(append.expectedVersion, head?.streamVersion)) {
        throw new WrongExpectedVersionError(append.streamId, append.expectedVersion, head?.streamVersion);
      }
      const reused = append.events.find((event) => byId.has(event.id));
      if (reused !== undefined) throw new InvalidArgumentError('events[].id', `an event with id ${reused.id} already exists`);
      const transactionId = ++lastTransactionId;
      let version = head?.streamVersion ?? -1n;
      let previousHash = head?.hash ?? GENESIS_HASH;
      const written = append.events.map((prepared) => {
        version += 1n;
        const hash = eventHash(previousHash, version, prepared.body);
        const event: StoredEvent = {
          id: prepared.id,
          type: prepared.type,
          streamId: append.streamId,
          streamVersion: version,
          globalPosition: BigInt(log.length + 1),
          recordedAt: append.recordedAt,
          data: prepared.data,
          metadata: prepared.metadata,
          hash,
          previousHash,
        };
        previousHash = hash;
        log.push({ event, transactionId });
        byId.add(event.id);
        return event;
      });
      streams.set(append.streamId, [...(stream ?? []), ...written]);
      signal.appended();
      const last = written[written.length - 1] as StoredEvent;
      return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events: written.map(copy) };
    },
    async readStream(streamId, { fromVersion, maxCount }) {
      const events = (streams.get(streamId) ?? []).filter((event) => event.streamVersion >= fromVersion);
      return (maxCount === undefined ? events : events.slice(0, maxCount)).map(copy);
    },
    async readPage(after: LogCursor, options: ReadPageOptions): Promise<LogPage> {
      // Positions are assigned in commit order here, so the position alone is the cursor.
      const events: StoredEvent[] = [];
      let next = after;
      for (let index = Number(after.position); index < log.length && events.length < options.limit; index++) {
        const { event, transactionId } = log[index] as LoggedEvent;
        if (options.untilPosition !== undefined && event.globalPosition > options.untilPosition) continue;
        if (options.untilRecordedAt !== undefined && event.recordedAt > options.untilRecordedAt) continue;
        if (options.eventTypes !== undefined && !options.eventTypes.includes(event.type)) continue;
        events.push(copy(event));
        next = { transactionId: transactionId.toString(), position: event.globalPosition };
      }
      return pageOf(events, next);
    },
    async cursorAfter(position) {
      const logged = log[Number(position) - 1];
      if (logged === undefined) throw new InvalidArgumentError('after', `no event at global position ${position}`);
      return { transactionId: logged.transactionId.toString(), position };
    },
    async readCheckpoint(name) {
      return checkpoints.get(name);
    },
    async storeCheckpoint(name, position) {
      checkpoints.set(name, position);
    },
    async readSeals() {
      return seals.map((seal) => ({ ...seal }));
    },
    async recordSeal(seal, events) {
      if (seals.some((existing) => existing.sealNumber === seal.sealNumber)) return false;
      seals.push({ ...seal, sealedAt: new Date() });
      seals.sort((a, b) => (a.sealNumber < b.sealNumber ? -1 : 1));
      sealedEvents.push(...events.map((e) => ({ ...e })));
      sealedEvents.sort((a, b) => (a.ordinal < b.ordinal ? -1 : 1));
      return true;
    },
    async readSealedEvents(fromOrdinal, limit) {
      return sealedEvents.filter((e) => e.ordinal >= fromOrdinal).slice(0, limit).map((e) => ({ ...e }));
    },
    // Every row here is appended through append(): nothing can sit outside the log.
    async readEventsOutsideLog() {
      return [];
    },
    watchAppends: (listener, options) => signal.watch(listener, options),
    close: () => signal.close(),
  };
}

/** An event store in process memory, for pure unit tests. */
export function createInMemoryEventStore(): AuditableEventStore {
  return storeFromStorage(inMemoryStorage());
}
