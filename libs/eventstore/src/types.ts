/**
 * The event store contract shared by every adapter (PostgreSQL, PGlite, in-memory)
 * and shaped so a KurrentDB adapter can implement it later.
 */

import type { SqlExecutor } from './sql/executor.js';

/** Expected-version sentinel: the stream must not exist yet. */
export const NO_STREAM = 'no_stream' as const;
/** Expected-version sentinel: the stream must already exist (any version). */
export const STREAM_EXISTS = 'stream_exists' as const;
/** Expected-version sentinel: no concurrency check. */
export const ANY = 'any' as const;

/** Stream versions start at 0 for the first event; a missing stream has no version. */
export type ExpectedVersion = bigint | typeof NO_STREAM | typeof STREAM_EXISTS | typeof ANY;

/** Global position before the first event: reading "from START" yields everything. */
export const START = 0n;

export const DEFAULT_BATCH_SIZE = 1_000;

export interface EventMetadata {
  /** Id shared by every event caused, directly or not, by one user request. */
  correlationId?: string;
  /** Id of the command or event that caused this event. */
  causationId?: string;
  /** Who did it: user id, service name or "system". */
  actor?: string;
  /** Content hash of the policy that was applied, when a policy decided. */
  policyVersion?: string;
  /** Governance time (ISO) at which it happened, from the injectable clock; `recordedAt` is the wall clock (see withGovernanceTime). */
  occurredAt?: string;
  [key: string]: unknown;
}

/** An event to be appended; id defaults to a fresh UUIDv7. */
export interface NewEvent<Type extends string = string, Data = unknown> {
  id?: string;
  type: Type;
  data: Data;
  metadata?: EventMetadata;
}

export interface StoredEvent<Type extends string = string, Data = unknown> {
  /** UUIDv7 */
  id: string;
  type: Type;
  streamId: string;
  /** 0-based position of the event within its stream. */
  streamVersion: bigint;
  /** Position in the global log; unique, increasing in commit order as read by readAll. */
  globalPosition: bigint;
  recordedAt: Date;
  data: Data;
  metadata: EventMetadata;
  /** SHA-256 (hex) over the event's content and the previous event's hash in the same stream. */
  hash: string;
  /** Hash of the previous event in the stream; all zeros for the first. */
  previousHash: string;
}

export interface AppendResult {
  /** Stream version of the last appended event. */
  nextExpectedVersion: bigint;
  /** Global position of the last appended event. */
  lastGlobalPosition: bigint;
  events: StoredEvent[];
}

export interface ReadStreamOptions {
  /** First stream version to return. @defaultValue 0n */
  fromVersion?: bigint;
  /** Maximum number of events. @defaultValue unlimited */
  maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: return events with global position greater than this. @defaultValue START */
  after?: bigint;
  /** Events fetched per round trip. @defaultValue DEFAULT_BATCH_SIZE */
  batchSize?: number;
  /** Stop at this global position (inclusive): "the log as of position P". */
  untilPosition?: bigint;
  /** Stop at events recorded after this instant: "the log as of time T". */
  untilRecordedAt?: Date;
  /** Only these event types. */
  eventTypes?: readonly string[];
}

export interface SubscribeOptions {
  /** Durable checkpoint name; the subscription resumes after the stored position. */
  subscriptionId: string;
  batchSize?: number;
  /** Polling interval when caught up, in ms. @defaultValue 100 */
  pollIntervalMs?: number;
}

/** A running catch-up-then-live subscription. */
export interface Subscription {
  /** Resolves once stopped; the last handled position is checkpointed. */
  stop(): Promise<void>;
  /** Settles when the subscription ends: resolves on stop(), rejects if a handler threw. */
  readonly done: Promise<void>;
}

export type EventHandler = (event: StoredEvent) => Promise<void> | void;

export interface WatchAppendsOptions {
  /**
   * Called when the connection carrying wake-ups fails (PostgreSQL). The store reconnects by
   * itself, with back-off, and then calls the listener once, since appends committed while it
   * was not listening were missed.
   */
  onError?(error: unknown): void;
}

/** Ends a watch: the listener is not called after the promise resolves. Safe to call twice, or after close(). */
export type StopWatchingAppends = () => Promise<void>;

export interface EventStore {
  /** Create or upgrade the schema (idempotent); called by the factory, safe to call again. */
  migrate(): Promise<void>;
  appendToStream(streamId: string, events: readonly NewEvent[], options?: { expectedVersion?: ExpectedVersion }): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /** Every committed event in commit order, gap-safe: an event that commits late is never skipped. */
  readAll(options?: ReadAllOptions): AsyncIterable<StoredEvent>;
  /** Catch-up then live delivery from a durable, named checkpoint; the checkpoint advances after each handled batch. */
  subscribe(handler: EventHandler, options: SubscribeOptions): Subscription;
  readCheckpoint(name: string): Promise<bigint | undefined>;
  storeCheckpoint(name: string, position: bigint): Promise<void>;
  /**
   * Calls `listener` soon after events were appended and committed: through this store or,
   * with the SQL adapters, through any store over the same database and schema (PostgreSQL:
   * in any process). A wake-up, not a delivery: it carries no data, one call may stand for
   * several appends, a call may be spurious, and calls are lost while the connection carrying
   * them is re-established. React by reading (readAll from your position) and keep polling as
   * the fallback. readAll is gap-safe, so right after a wake-up the newest event may still be
   * held back by another open transaction: look again shortly when a read found nothing new.
   *
   * The listener runs on the store's notification path: it must return quickly and not throw.
   * Resolves once listening (PostgreSQL: after the first attempt to LISTEN on a dedicated
   * connection; a failed attempt is reported to `onError` and retried in the background).
   * Optional: a store that cannot signal appends leaves it out and is polled.
   */
  watchAppends?(listener: () => void, options?: WatchAppendsOptions): Promise<StopWatchingAppends>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Additions to the original contract (additive; used by the sealer and verifier).
// ---------------------------------------------------------------------------

/** A checkpoint of the global hash chain written by the sealer. */
export interface Seal {
  /** 0, 1, 2, ...: a sealer that loses a race for the same number skips its write. */
  sealNumber: bigint;
  /** Global position of the last event covered by this seal. */
  position: bigint;
  /** chain_n over every event up to and including `position`, in readAll order. */
  chainHash: string;
  /** How many events the chain covers. */
  eventsSealed: bigint;
  sealedAt: Date;
}

/**
 * One event as the sealer saw it, kept beside the seals: what `verifyEventLog` compares the log
 * with, so a row deleted or rewritten after sealing is named by its position, stream and version.
 */
export interface SealedEvent {
  /** 0-based index of the event in readAll order (its leaf index in the Merkle tree). */
  ordinal: bigint;
  globalPosition: bigint;
  streamId: string;
  streamVersion: bigint;
  hash: string;
}

/**
 * An event store that also keeps seals, which the sealer and `verifyEventLog` need.
 * Every adapter in this library returns one.
 */
export interface AuditableEventStore extends EventStore {
  /**
   * SQL adapters (PostgreSQL, PGlite): the executor the store runs its statements on and its schema, so a
   * service can keep its own tables (read models, checkpoints) in the same database and write them in one
   * transaction. Absent for the in-memory store.
   */
  readonly sql?: SqlAccess;
  /** Seals in sealNumber order. */
  readSeals(): Promise<Seal[]>;
  /**
   * Records a seal with the events it covers since the previous seal (ordinals from the previous
   * seal's `eventsSealed`), atomically; resolves false and writes nothing when a seal with that
   * number already exists (another sealer won).
   */
  recordSeal(seal: Omit<Seal, 'sealedAt'>, events: readonly SealedEvent[]): Promise<boolean>;
  /** Sealed events with ordinal >= `fromOrdinal`, in ordinal order, at most `limit`. */
  readSealedEvents(fromOrdinal: bigint, limit: number): Promise<SealedEvent[]>;
  /**
   * Rows stored in the events table that no reader returns, because they are not part of the log
   * readAll walks (SQL adapters: a transaction id that no committed transaction can have, or a
   * cursor before the log's start). Only forgery makes them; at most `limit`, by position.
   */
  readEventsOutsideLog(limit: number): Promise<StoredEvent[]>;
}

/** The database under an SQL-backed store: its executor (shared pool / PGlite instance) and the log's schema name. */
export interface SqlAccess {
  readonly executor: SqlExecutor;
  /** Unquoted schema name of the log, e.g. 'gatehouse'. */
  readonly schema: string;
}
