/**
 * SQL for the event-store benchmark: a raw baseline table shaped like the events table,
 * and a set-based seeder that writes real rows (real canonical bodies and SHA-256 hashes,
 * one-event streams) into the real schema far faster than appends could.
 */

/** A plain table with the events table's columns and indexes, written with plain INSERTs. */
export const createRawTableSql = (s: string): string => `
CREATE TABLE ${s}.raw_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  id              uuid        NOT NULL UNIQUE,
  stream_id       text        NOT NULL,
  stream_version  bigint      NOT NULL,
  type            text        NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL,
  recorded_at     timestamptz NOT NULL,
  hash            text        NOT NULL,
  previous_hash   text        NOT NULL,
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX raw_events_commit_order ON ${s}.raw_events (transaction_id, global_position);`;

/**
 * The lightest honest event row: id, stream, version, type, data, metadata; one primary key,
 * nothing else (no position, no commit order, no hashes, no per-stream uniqueness).
 */
export const createLightRawTableSql = (s: string): string => `
CREATE TABLE ${s}.raw_light_events (
  id             uuid   PRIMARY KEY,
  stream_id      text   NOT NULL,
  stream_version bigint NOT NULL,
  type           text   NOT NULL,
  data           jsonb  NOT NULL,
  metadata       jsonb  NOT NULL
);`;

export const lightInsertSql = (s: string): string =>
  `INSERT INTO ${s}.raw_light_events (id, stream_id, stream_version, type, data, metadata) VALUES ($1, $2, $3, 'BenchEvent', $4, '{}')`;

export const lightInsertManySql = (s: string): string =>
  `INSERT INTO ${s}.raw_light_events (id, stream_id, stream_version, type, data, metadata)
   SELECT u.id, u.stream_id, u.stream_version, 'BenchEvent', u.data, '{}'
   FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::jsonb[]) AS u(id, stream_id, stream_version, data)`;

/** Copies the seeded log into the light table (its keyset read pages on the primary key). */
export const lightSeedSql = (s: string): string =>
  `INSERT INTO ${s}.raw_light_events (id, stream_id, stream_version, type, data, metadata)
   SELECT id, stream_id, stream_version, type, data, metadata FROM ${s}.events`;

export const lightKeysetSql = (s: string): string =>
  `SELECT id, stream_id, stream_version, type, data, metadata FROM ${s}.raw_light_events WHERE id > $1 ORDER BY id LIMIT $2`;

export const RAW_COLUMNS = 'id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash';

/** One row per statement: the cheapest honest way to store one event with plain SQL. */
export const rawInsertSql = (s: string): string =>
  `INSERT INTO ${s}.raw_events (${RAW_COLUMNS}) VALUES ($1, $2, $3, 'BenchEvent', $4, '{}', $5, $6, $7)`;

/** Many rows in one statement (the raw counterpart of a 10-event append). */
export const rawInsertManySql = (s: string): string =>
  `INSERT INTO ${s}.raw_events (${RAW_COLUMNS})
   SELECT u.id, u.stream_id, u.stream_version, 'BenchEvent', u.data, '{}', $6, u.hash, p.previous_hash
   FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::jsonb[], $5::text[]) AS u(id, stream_id, stream_version, data, hash)
   CROSS JOIN (SELECT repeat('0', 64) AS previous_hash) p`;

/** Raw keyset read: the fastest plain paging over the same rows, no snapshot guard, no mapping. */
export const rawKeysetSql = (s: string, table: string): string =>
  `SELECT transaction_id, global_position, id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash
   FROM ${s}.${table} WHERE global_position > $1 ORDER BY global_position LIMIT $2`;

/**
 * Inserts events [from, to] as one-event streams 'bench-<i>' with the same canonical body
 * and hash formula as the store (see libs/eventstore hashing.ts), so verifyEventLog accepts them.
 */
export const seedSql = (s: string): string => `
WITH gen AS (
  SELECT i, gen_random_uuid() AS id, 'bench-' || i AS stream_id, date_trunc('milliseconds', now()) AS ts
  FROM generate_series($1::bigint, $2::bigint) AS i
), hashed AS (
  SELECT i, id, stream_id, ts,
         encode(sha256(convert_to(repeat('0', 64) || '|0|' ||
           '{"data":{"i":' || i || '},"id":"' || id || '","metadata":{},"recordedAt":"' ||
           to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ||
           '","streamId":"' || stream_id || '","type":"BenchEvent"}', 'UTF8')), 'hex') AS hash
  FROM gen
)
INSERT INTO ${s}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
SELECT id, stream_id, 0, 'BenchEvent', jsonb_build_object('i', i), '{}', ts, hash, repeat('0', 64)
FROM hashed ORDER BY i`;

/**
 * Inserts events [from, to] shaped like the read models' input, four per change: a release planned, the change
 * submitted (with its draft), the change approved, the deployment booked. Hashes are per-row digests, not the
 * store's chain (readAll and the projections do not check them; do not run verifyEventLog on this log).
 */
export const seedProjectionLogSql = (s: string): string => `
WITH gen AS (
  SELECT i, i / 4 AS c, i % 4 AS k, date_trunc('milliseconds', now()) AS ts
  FROM generate_series($1::bigint, $2::bigint) AS i
), shaped AS (
  SELECT i, ts,
    CASE k WHEN 0 THEN 'release-rel-' || c WHEN 3 THEN 'schedule-cr-' || c ELSE 'changeRequest-cr-' || c END AS stream_id,
    CASE k WHEN 2 THEN 1 ELSE 0 END AS stream_version,
    CASE k WHEN 0 THEN 'ReleasePlanned' WHEN 1 THEN 'ChangeRequestSubmitted' WHEN 2 THEN 'ChangeRequestApproved' ELSE 'DeploymentScheduled' END AS type,
    CASE k
      WHEN 0 THEN jsonb_build_object('releaseId', 'rel-' || c, 'service', 'svc-' || (c % 200), 'version', '1.' || c || '.0', 'previousVersion', NULL)
      WHEN 1 THEN jsonb_build_object('changeRequestId', 'cr-' || c, 'kind', 'normal',
        'draft', jsonb_build_object('title', 'svc-' || (c % 200) || ' 1.' || c || '.0', 'environments', jsonb_build_array(CASE WHEN c % 3 = 0 THEN 'production' ELSE 'staging' END), 'releaseId', 'rel-' || c, 'author', 'bench'),
        'riskAssessment', jsonb_build_object('level', 'low', 'score', 12), 'submittedAt', ts)
      WHEN 2 THEN jsonb_build_object('changeRequestId', 'cr-' || c, 'approvalId', 'cr-' || c, 'approvedAt', ts)
      ELSE jsonb_build_object('changeRequestId', 'cr-' || c, 'releaseId', 'rel-' || c, 'service', 'svc-' || (c % 200), 'version', '1.' || c || '.0',
        'environment', CASE WHEN c % 3 = 0 THEN 'production' ELSE 'staging' END, 'changeType', 'normal', 'strategy', 'rolling',
        'scheduledFor', to_char((ts + (c || ' minutes')::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'windowId', NULL, 'policyVersion', 'sha256:bench')
    END AS data
  FROM gen
)
INSERT INTO ${s}.events (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
SELECT gen_random_uuid(), stream_id, stream_version, type, data, '{"actor":"bench"}', ts, encode(sha256(int8send(i)), 'hex'), repeat('0', 64)
FROM shaped ORDER BY i`;
