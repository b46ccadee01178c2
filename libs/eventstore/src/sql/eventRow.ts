import type { EventMetadata, StoredEvent } from '../types.js';

/** Columns every event-returning query selects, in this order. */
export const EVENT_COLUMNS =
  'transaction_id, global_position, id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash';

export interface EventRow {
  transaction_id: string;
  global_position: string;
  id: string;
  stream_id: string;
  stream_version: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
  hash: string;
  previous_hash: string;
}

/** Row of EVENT_COLUMNS in array form (see SqlQueryable.queryArrays). */
export type EventTuple = [
  transactionId: string,
  globalPosition: string,
  id: string,
  streamId: string,
  streamVersion: string,
  type: string,
  data: unknown,
  metadata: EventMetadata,
  recordedAt: Date,
  hash: string,
  previousHash: string,
];

export function tupleToStoredEvent(row: EventTuple): StoredEvent {
  return {
    id: row[2],
    type: row[5],
    streamId: row[3],
    streamVersion: BigInt(row[4]),
    globalPosition: BigInt(row[1]),
    recordedAt: row[8],
    data: row[6],
    metadata: row[7],
    hash: row[9],
    previousHash: row[10],
  };
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    streamId: row.stream_id,
    streamVersion: BigInt(row.stream_version),
    globalPosition: BigInt(row.global_position),
    recordedAt: row.recorded_at,
    data: row.data,
    metadata: row.metadata,
    hash: row.hash,
    previousHash: row.previous_hash,
  };
}
