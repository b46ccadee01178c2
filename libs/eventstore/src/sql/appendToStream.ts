import { InvalidArgumentError, WrongExpectedVersionError } from '../errors.js';
import type { PreparedAppend } from '../prepareEvents.js';
import type { AppendResult, StoredEvent } from '../types.js';
import { sqlStateOf, UNIQUE_VIOLATION, type SqlQueryable } from './executor.js';

/** Calls the append function created by migration 1 (see migrations.ts): one round trip per append. */
export const appendSql = (s: string): string =>
  `SELECT out_outcome, out_actual_version, out_global_position, out_stream_version, out_hash, out_previous_hash
   FROM ${s}.append_to_stream($1, $2, $3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[], $8::timestamptz)`;

interface AppendRow {
  out_outcome: 'ok' | 'wrong_version';
  out_actual_version: string | null;
  out_global_position: string | null;
  out_stream_version: string | null;
  out_hash: string | null;
  out_previous_hash: string | null;
}

/** Wire form of the expected version: the function compares text so sentinels and numbers share one parameter. */
export function expectedVersionParam(expected: PreparedAppend['expectedVersion']): string {
  return typeof expected === 'bigint' ? expected.toString() : expected;
}

/** Parameters for appendSql, in order; also used by tests that append inside their own transaction. */
export function appendParams(append: PreparedAppend): unknown[] {
  const { events } = append;
  return [
    append.streamId,
    expectedVersionParam(append.expectedVersion),
    events.map((e) => e.id),
    events.map((e) => e.type),
    events.map((e) => e.dataJson),
    events.map((e) => e.metadataJson),
    events.map((e) => e.body),
    append.recordedAt.toISOString(),
  ];
}

export async function appendToStream(db: SqlQueryable, s: string, append: PreparedAppend): Promise<AppendResult> {
  let rows: AppendRow[];
  try {
    rows = await db.query<AppendRow>(appendSql(s), appendParams(append), `gatehouse_append_${s}`);
  } catch (error) {
    // The per-stream lock makes version conflicts impossible here; a unique violation is a reused event id.
    if (sqlStateOf(error) === UNIQUE_VIOLATION && String((error as { constraint?: unknown }).constraint).endsWith('_id_key')) {
      throw new InvalidArgumentError('events[].id', `an event with one of these ids already exists: ${append.events.map((e) => e.id).join(', ')}`);
    }
    throw error;
  }
  const first = rows[0];
  if (first?.out_outcome === 'wrong_version') {
    throw new WrongExpectedVersionError(
      append.streamId,
      append.expectedVersion,
      first.out_actual_version === null ? undefined : BigInt(first.out_actual_version),
    );
  }
  const written = rows.map((row) => ({
    globalPosition: BigInt(row.out_global_position as string),
    streamVersion: BigInt(row.out_stream_version as string),
    hash: row.out_hash as string,
    previousHash: row.out_previous_hash as string,
  }));
  written.sort((a, b) => (a.streamVersion < b.streamVersion ? -1 : 1));
  const events: StoredEvent[] = append.events.map((event, index) => {
    const row = written[index];
    if (row === undefined) throw new Error(`append to '${append.streamId}' returned ${written.length} rows for ${append.events.length} events`);
    return {
      id: event.id,
      type: event.type,
      streamId: append.streamId,
      streamVersion: row.streamVersion,
      globalPosition: row.globalPosition,
      recordedAt: append.recordedAt,
      data: event.data,
      metadata: event.metadata,
      hash: row.hash,
      previousHash: row.previousHash,
    };
  });
  const last = events[events.length - 1] as StoredEvent;
  return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events };
}
