import type { Seal, SealedEvent } from '../types.js';
import type { SqlQueryable } from './executor.js';

export const readSealsSql = (s: string): string =>
  `SELECT seal_number, position, chain_hash, events_sealed, sealed_at FROM ${s}.seals ORDER BY seal_number`;

/**
 * A concurrent sealer that already wrote this seal number wins; ours is dropped, with its sealed
 * events (inserted only when the seal row was): one statement, so both or neither.
 */
export const recordSealSql = (s: string): string =>
  `WITH seal AS (
     INSERT INTO ${s}.seals (seal_number, position, chain_hash, events_sealed) VALUES ($1, $2, $3, $4)
     ON CONFLICT (seal_number) DO NOTHING RETURNING seal_number
   ), sealed AS (
     INSERT INTO ${s}.sealed_events (ordinal, global_position, stream_id, stream_version, hash)
     SELECT u.ordinal, u.global_position, u.stream_id, u.stream_version, u.hash
     FROM unnest($5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $9::text[]) AS u(ordinal, global_position, stream_id, stream_version, hash)
     WHERE EXISTS (SELECT 1 FROM seal)
   )
   SELECT seal_number FROM seal`;

export const readSealedEventsSql = (s: string): string =>
  `SELECT ordinal, global_position, stream_id, stream_version, hash FROM ${s}.sealed_events
   WHERE ordinal >= $1 ORDER BY ordinal LIMIT $2`;

interface SealRow {
  seal_number: string;
  position: string;
  chain_hash: string;
  events_sealed: string;
  sealed_at: Date;
}

export async function readSeals(db: SqlQueryable, s: string): Promise<Seal[]> {
  const rows = await db.query<SealRow>(readSealsSql(s));
  return rows.map((row) => ({
    sealNumber: BigInt(row.seal_number),
    position: BigInt(row.position),
    chainHash: row.chain_hash,
    eventsSealed: BigInt(row.events_sealed),
    sealedAt: row.sealed_at,
  }));
}

export async function recordSeal(db: SqlQueryable, s: string, seal: Omit<Seal, 'sealedAt'>, events: readonly SealedEvent[]): Promise<boolean> {
  const rows = await db.query(recordSealSql(s), [
    seal.sealNumber.toString(),
    seal.position.toString(),
    seal.chainHash,
    seal.eventsSealed.toString(),
    events.map((e) => e.ordinal.toString()),
    events.map((e) => e.globalPosition.toString()),
    events.map((e) => e.streamId),
    events.map((e) => e.streamVersion.toString()),
    events.map((e) => e.hash),
  ]);
  return rows.length === 1;
}

interface SealedEventRow {
  ordinal: string;
  global_position: string;
  stream_id: string;
  stream_version: string;
  hash: string;
}

export async function readSealedEvents(db: SqlQueryable, s: string, fromOrdinal: bigint, limit: number): Promise<SealedEvent[]> {
  const rows = await db.query<SealedEventRow>(readSealedEventsSql(s), [fromOrdinal.toString(), limit]);
  return rows.map((row) => ({
    ordinal: BigInt(row.ordinal),
    globalPosition: BigInt(row.global_position),
    streamId: row.stream_id,
    streamVersion: BigInt(row.stream_version),
    hash: row.hash,
  }));
}
