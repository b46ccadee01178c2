import { InvalidArgumentError, WrongExpectedVersionError } from '../errors.js';
import { eventHash, GENESIS_HASH } from '../hashing.js';
import type { PreparedAppend } from '../prepareEvents.js';
import { ANY, NO_STREAM, STREAM_EXISTS, type AppendResult, type StoredEvent } from '../types.js';
import { sqlStateOf, UNIQUE_VIOLATION, type SqlQueryable } from './executor.js';
import type { StreamHead, StreamHeads } from './streamHeads.js';

/*
 * Appending is one statement, one round trip, no lock: read the stream's last version and
 * hash (a backward step on UNIQUE (stream_id, stream_version)), check the expected version
 * against it, and insert only when accepted, hashes chained in SQL with the same formula as
 * hashing.ts eventHash(): sha256(previousHash | streamVersion | body).
 * A concurrent append that wins the race makes ours fail on the unique (stream_id,
 * stream_version) index, so the statement aborts and writes nothing.
 *
 * Why this keeps each stream in version order in readAll (ordered by transaction id): an
 * append of version N+1 can only succeed if its snapshot saw version N committed, and its
 * transaction id is assigned by its INSERT, after that snapshot, so it is larger.
 */

/** The expected-version check ($2 kind, $3 exact version) against the head version (NULL: no stream). */
const acceptedWhen = (headVersion: string): string => `CASE $2::text
             WHEN 'any' THEN true
             WHEN 'no_stream' THEN ${headVersion} IS NULL
             WHEN 'stream_exists' THEN ${headVersion} IS NOT NULL
             ELSE coalesce(${headVersion} = $3::bigint, false)
           END`;

const headAndDecision = (s: string): string => `
  head AS (
    SELECT e.stream_version, e.hash FROM ${s}.events e WHERE e.stream_id = $1 ORDER BY e.stream_version DESC LIMIT 1
  ), decision AS (
    SELECT h.stream_version AS actual_version,
           coalesce(h.stream_version, -1) AS base_version,
           coalesce(h.hash, '${GENESIS_HASH}') AS base_hash,
           ${acceptedWhen('h.stream_version')} AS accepted
    FROM (SELECT 1) AS one LEFT JOIN head h ON true
  )`;

const result = `
SELECT d.accepted, d.actual_version, i.global_position, i.stream_version, i.hash, i.previous_hash
FROM decision d LEFT JOIN inserted i ON true`;

/**
 * One event (the common case): a plain INSERT ... SELECT with scalar parameters, no CTEs to
 * materialise. It inserts nothing when the expected version does not match; the caller then
 * reads the actual version (a second round trip only on that failure path).
 */
export const appendOneSql = (s: string): string => `
INSERT INTO ${s}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
SELECT $4::uuid, $1, d.base_version + 1, $5::text, $6::jsonb, $7::jsonb, $8::timestamptz,
       encode(sha256(convert_to(d.base_hash || '|' || (d.base_version + 1) || '|' || $9::text, 'UTF8')), 'hex'),
       d.base_hash
FROM (
  SELECT coalesce(h.stream_version, -1) AS base_version,
         coalesce(h.hash, '${GENESIS_HASH}') AS base_hash,
         ${acceptedWhen('h.stream_version')} AS accepted
  FROM (SELECT 1) AS one
  LEFT JOIN (SELECT e.stream_version, e.hash FROM ${s}.events e WHERE e.stream_id = $1 ORDER BY e.stream_version DESC LIMIT 1) h ON true
) d
WHERE d.accepted
RETURNING true AS accepted, NULL::bigint AS actual_version, global_position, stream_version, hash, previous_hash`;

/** Several events: arrays in, the hash chain built by a recursive CTE in event order. */
export const appendManySql = (s: string): string => `
WITH RECURSIVE ${headAndDecision(s)},
  input AS (
    SELECT * FROM unnest($4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[], $9::text[])
      WITH ORDINALITY AS u(id, type, data, metadata, body, ord)
  ), chain AS (
    SELECT 0::bigint AS ord, d.base_hash AS hash, NULL::text AS previous_hash FROM decision d WHERE d.accepted
    UNION ALL
    SELECT i.ord, encode(sha256(convert_to(c.hash || '|' || (d.base_version + i.ord) || '|' || i.body, 'UTF8')), 'hex'), c.hash
    FROM chain c JOIN input i ON i.ord = c.ord + 1 CROSS JOIN decision d
  ), inserted AS (
    INSERT INTO ${s}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
    SELECT i.id, $1, d.base_version + i.ord, i.type, i.data, i.metadata, $8::timestamptz, c.hash, c.previous_hash
    FROM input i JOIN chain c ON c.ord = i.ord CROSS JOIN decision d
    ORDER BY i.ord
    RETURNING global_position, stream_version, hash, previous_hash
  )${result}`;

/*
 * When the head the append builds on is known (NO_STREAM: the genesis; an exact expected version
 * whose hash the store saw committed, see streamHeads.ts), Node chains the hashes (hashing.ts
 * eventHash, the formula verifyEventLog checks) and the statement is a plain INSERT: no head
 * read, no recursive CTE. The guard is the same unique (stream_id, stream_version) index: if
 * the stream moved past the known head, inserting head + 1 fails and writes nothing. Ordering
 * holds as above: the known head was committed before this INSERT took its transaction id.
 */

/** One event on a known head. */
export const insertOneSql = (s: string): string => `
INSERT INTO ${s}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
VALUES ($3::uuid, $1, $4::bigint, $5::text, $6::jsonb, $7::jsonb, $2::timestamptz, $8::text, $9::text)
RETURNING global_position, stream_version`;

/** Several events on a known head, in version order. */
export const insertManySql = (s: string): string => `
INSERT INTO ${s}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
SELECT u.id, $1, u.stream_version, u.type, u.data, u.metadata, $2::timestamptz, u.hash, u.previous_hash
FROM unnest($3::uuid[], $4::bigint[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::text[])
  AS u(id, stream_version, type, data, metadata, hash, previous_hash)
ORDER BY u.stream_version
RETURNING global_position, stream_version`;

export const streamVersionSql = (s: string): string =>
  `SELECT max(stream_version) AS version FROM ${s}.events WHERE stream_id = $1`;

/** Losing a race for one of these unique keys means: someone else appended to the stream first. */
const STREAM_VERSION_CONSTRAINT = 'events_stream_id_stream_version_key';
/**
 * Appends that do not pin a version (ANY, STREAM_EXISTS) retry a lost race; each round has a
 * winner, so n contenders need at most n attempts. The bound only stops a pathological loop.
 */
export const MAX_APPEND_ATTEMPTS = 100;

interface AppendRow {
  accepted: boolean;
  actual_version: string | null;
  global_position: string | null;
  stream_version: string | null;
  hash: string | null;
  previous_hash: string | null;
}

export interface AppendStatement {
  text: string;
  values: unknown[];
  /** Prepared-statement name, one per statement text. */
  name: string;
}

/** The statement for an append; also used by tests that append inside their own transaction. */
export function appendStatement(s: string, append: PreparedAppend): AppendStatement {
  const { events, expectedVersion } = append;
  const kind = typeof expectedVersion === 'bigint' ? 'exact' : expectedVersion;
  const exact = typeof expectedVersion === 'bigint' ? expectedVersion.toString() : null;
  const recordedAt = append.recordedAt.toISOString();
  const [only] = events;
  if (events.length === 1 && only !== undefined) {
    return {
      text: appendOneSql(s),
      name: `gatehouse_append_one_${s}`,
      values: [append.streamId, kind, exact, only.id, only.type, only.dataJson, only.metadataJson, recordedAt, only.body],
    };
  }
  return {
    text: appendManySql(s),
    name: `gatehouse_append_many_${s}`,
    values: [
      append.streamId,
      kind,
      exact,
      events.map((e) => e.id),
      events.map((e) => e.type),
      events.map((e) => e.dataJson),
      events.map((e) => e.metadataJson),
      recordedAt,
      events.map((e) => e.body),
    ],
  };
}

/** The head an append builds on, when known without reading it. */
function knownHead(append: PreparedAppend, heads: StreamHeads | undefined): StreamHead | undefined {
  if (append.expectedVersion === NO_STREAM) return { version: -1n, hash: GENESIS_HASH };
  if (typeof append.expectedVersion === 'bigint') return heads?.at(append.streamId, append.expectedVersion);
  return undefined;
}

/**
 * Appends in one statement. `heads` (the store's known stream heads) lets an append with an exact
 * expected version skip reading the head; it is updated with what was written.
 */
export async function appendToStream(db: SqlQueryable, s: string, append: PreparedAppend, heads?: StreamHeads): Promise<AppendResult> {
  try {
    const head = knownHead(append, heads);
    const result = head === undefined ? await appendReadingHead(db, s, append) : await appendOnKnownHead(db, s, append, head);
    const last = result.events[result.events.length - 1] as StoredEvent;
    heads?.saw(append.streamId, last.streamVersion, last.hash);
    return result;
  } catch (error) {
    heads?.forget(append.streamId);
    throw error;
  }
}

/** A unique violation of an append: a lost race (stream version taken) or an event id that exists. */
function isLostRace(error: unknown, append: PreparedAppend): boolean {
  if (sqlStateOf(error) !== UNIQUE_VIOLATION) return false;
  const constraint = String((error as { constraint?: unknown }).constraint);
  if (constraint !== STREAM_VERSION_CONSTRAINT) {
    throw new InvalidArgumentError('events[].id', `an event with one of these ids already exists: ${append.events.map((e) => e.id).join(', ')}`);
  }
  return true;
}

async function appendOnKnownHead(db: SqlQueryable, s: string, append: PreparedAppend, head: StreamHead): Promise<AppendResult> {
  const { events, streamId } = append;
  const versions: bigint[] = [];
  const hashes: string[] = [];
  const previous: string[] = [];
  let hash = head.hash;
  for (let i = 0; i < events.length; i++) {
    const version = head.version + 1n + BigInt(i);
    previous.push(hash);
    hash = eventHash(hash, version, (events[i] as PreparedAppend['events'][number]).body);
    versions.push(version);
    hashes.push(hash);
  }
  const recordedAt = append.recordedAt.toISOString();
  const [only] = events;
  let rows: { global_position: string; stream_version: string }[];
  try {
    rows =
      events.length === 1 && only !== undefined
        ? await db.query(insertOneSql(s), [streamId, recordedAt, only.id, versions[0]?.toString(), only.type, only.dataJson, only.metadataJson, hashes[0], previous[0]], `gatehouse_insert_one_${s}`)
        : await db.query(
            insertManySql(s),
            [
              streamId,
              recordedAt,
              events.map((e) => e.id),
              versions.map((v) => v.toString()),
              events.map((e) => e.type),
              events.map((e) => e.dataJson),
              events.map((e) => e.metadataJson),
              hashes,
              previous,
            ],
            `gatehouse_insert_many_${s}`,
          );
  } catch (error) {
    if (!isLostRace(error, append)) throw error;
    throw new WrongExpectedVersionError(streamId, append.expectedVersion, await currentVersion(db, s, streamId));
  }
  return toAppendResult(
    append,
    rows.map((row) => {
      const index = Number(BigInt(row.stream_version) - head.version - 1n);
      return { ...row, hash: hashes[index] ?? null, previous_hash: previous[index] ?? null, accepted: true, actual_version: null };
    }),
  );
}

async function appendReadingHead(db: SqlQueryable, s: string, append: PreparedAppend): Promise<AppendResult> {
  const statement = appendStatement(s, append);
  const retriesLostRaces = append.expectedVersion === ANY || append.expectedVersion === STREAM_EXISTS;
  for (let attempt = 1; ; attempt++) {
    let rows: AppendRow[];
    try {
      rows = await db.query<AppendRow>(statement.text, statement.values, statement.name);
    } catch (error) {
      if (!isLostRace(error, append)) throw error;
      if (retriesLostRaces && attempt < MAX_APPEND_ATTEMPTS) continue;
      throw new WrongExpectedVersionError(append.streamId, append.expectedVersion, await currentVersion(db, s, append.streamId));
    }
    const first = rows[0];
    if (first === undefined) {
      // The one-event statement returns no row when it refused the expected version.
      throw new WrongExpectedVersionError(append.streamId, append.expectedVersion, await currentVersion(db, s, append.streamId));
    }
    if (!first.accepted) {
      throw new WrongExpectedVersionError(
        append.streamId,
        append.expectedVersion,
        first.actual_version === null ? undefined : BigInt(first.actual_version),
      );
    }
    return toAppendResult(append, rows);
  }
}

async function currentVersion(db: SqlQueryable, s: string, streamId: string): Promise<bigint | undefined> {
  const [row] = await db.query<{ version: string | null }>(streamVersionSql(s), [streamId]);
  return row?.version == null ? undefined : BigInt(row.version);
}

function toAppendResult(append: PreparedAppend, rows: AppendRow[]): AppendResult {
  const written = rows
    .map((row) => ({
      globalPosition: BigInt(row.global_position as string),
      streamVersion: BigInt(row.stream_version as string),
      hash: row.hash as string,
      previousHash: row.previous_hash as string,
    }))
    .sort((a, b) => (a.streamVersion < b.streamVersion ? -1 : 1));
  const events: StoredEvent[] = append.events.map((event, index) => {
    const row = written[index];
    if (row === undefined) throw new Error(`append to '${append.streamId}' returned ${written.length} rows for ${append.events.length} events`);
    return {
      id: event.id,
      type: event.type,
      streamId: append.streamId,
      streamVersion: row.streamVersion,
      globalPosition: row.globalPosition,
      recordedAt: new Date(append.recordedAt.getTime()),
      data: event.data,
      metadata: event.metadata,
      hash: row.hash,
      previousHash: row.previousHash,
    };
  });
  const last = events[events.length - 1] as StoredEvent;
  return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events };
}
