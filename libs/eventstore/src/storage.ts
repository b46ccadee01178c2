import type { PreparedAppend } from './prepareEvents.js';
import type { AppendResult, Seal, SealedEvent, SqlAccess, StoredEvent, ReadStreamOptions, StopWatchingAppends, WatchAppendsOptions } from './types.js';

/**
 * Position in commit order. SQL adapters order the log by (transactionId, position): the
 * public API speaks global positions only, and each adapter maps a position back to its
 * cursor (see `cursorAfter`).
 */
export interface LogCursor {
  /** xid8 as decimal text in SQL adapters; a commit counter in memory. */
  transactionId: string;
  position: bigint;
}

/** Cursor before the first event. */
export const LOG_START: LogCursor = { transactionId: '0', position: 0n };

export interface ReadPageOptions {
  limit: number;
  untilPosition?: bigint | undefined;
  untilRecordedAt?: Date | undefined;
  eventTypes?: readonly string[] | undefined;
}

export interface LogPage {
  /** How many events the page holds. */
  size: number;
  /**
   * The event at `index` (0 <= index < size), built when asked: a page read ahead holds the rows
   * as the driver parsed them, and each event object is made as it is consumed and dies young,
   * instead of a whole page of them surviving into the old generation (a quarter of readAll's
   * Node CPU was that garbage collection). Ask for each index once, in order: the SQL adapters let
   * a row go as its event is built.
   */
  event(index: number): StoredEvent;
  /** Cursor of the last event returned (unchanged when the page is empty). */
  next: LogCursor;
}

/** A page of events already built (the in-memory adapter). */
export const pageOf = (events: readonly StoredEvent[], next: LogCursor): LogPage => ({
  size: events.length,
  event: (index) => events[index] as StoredEvent,
  next,
});

/**
 * What an adapter implements; readAll, subscribe, sealing and verification are built on top
 * of it once (storeFromStorage.ts), so every adapter behaves the same.
 */
export interface EventLogStorage {
  migrate(): Promise<void>;
  append(append: PreparedAppend): Promise<AppendResult>;
  readStream(streamId: string, options: Required<ReadStreamOptions> | { fromVersion: bigint; maxCount?: number }): Promise<StoredEvent[]>;
  /** Committed events strictly after `after` in commit order, never past a still-open transaction. */
  readPage(after: LogCursor, options: ReadPageOptions): Promise<LogPage>;
  /** The cursor of the event at `position`; throws InvalidArgumentError when there is none. */
  cursorAfter(position: bigint): Promise<LogCursor>;
  readCheckpoint(name: string): Promise<bigint | undefined>;
  storeCheckpoint(name: string, position: bigint): Promise<void>;
  readSeals(): Promise<Seal[]>;
  recordSeal(seal: Omit<Seal, 'sealedAt'>, events: readonly SealedEvent[]): Promise<boolean>;
  readSealedEvents(fromOrdinal: bigint, limit: number): Promise<SealedEvent[]>;
  readEventsOutsideLog(limit: number): Promise<StoredEvent[]>;
  /** See EventStore.watchAppends; `append` must wake watchers only after its commit. */
  watchAppends(listener: () => void, options: WatchAppendsOptions): Promise<StopWatchingAppends>;
  /** Also ends every watch. */
  close(): Promise<void>;
  /** SQL adapters: the database the log lives in, for services that keep tables beside it. */
  readonly sql?: SqlAccess;
}
