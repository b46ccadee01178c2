import { GENESIS_HASH } from '../hashing.js';
import type { SqlExecutor } from './executor.js';

/**
 * Advisory-lock class for migrations (first key of pg_advisory_xact_lock(int, int)); the
 * second key is the schema name's hash, so concurrent starters of one schema queue up while
 * other schemas (parallel test suites) migrate independently.
 */
export const MIGRATION_LOCK_CLASS = 0x6761_7465; // "gate"
/** Advisory-lock class the append function of migrations 1-2 used (kept: migrations are history). */
export const STREAM_LOCK_CLASS = 0x6873_746d; // "hstm"

export interface Migration {
  version: number;
  description: string;
  /** DDL for the quoted schema `s`. Never edit a released migration: add a new one. */
  sql(s: string): string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events, streams, checkpoints, seals and the append function',
    sql: (s) => `
CREATE TABLE ${s}.events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Commit-order key for readAll: rows are read only below the oldest running xid.
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  id              uuid        NOT NULL UNIQUE,
  stream_id       text        NOT NULL,
  stream_version  bigint      NOT NULL CHECK (stream_version >= 0),
  type            text        NOT NULL,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL,
  recorded_at     timestamptz NOT NULL,
  hash            text        NOT NULL,
  previous_hash   text        NOT NULL,
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX events_commit_order ON ${s}.events (transaction_id, global_position);

-- One row per stream: the head that appends check and extend (version -1 never stored).
CREATE TABLE ${s}.streams (
  stream_id text   PRIMARY KEY,
  version   bigint NOT NULL,
  last_hash text   NOT NULL
);

CREATE TABLE ${s}.checkpoints (
  name       text        PRIMARY KEY,
  position   bigint      NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ${s}.seals (
  seal_number   bigint      PRIMARY KEY,
  position      bigint      NOT NULL,
  chain_hash    text        NOT NULL,
  events_sealed bigint      NOT NULL,
  sealed_at     timestamptz NOT NULL DEFAULT now()
);

-- One round trip per append: check the expected version, chain the hashes, insert, move the head.
-- p_expected is 'no_stream' | 'stream_exists' | 'any' | a decimal version.
-- Returns one 'wrong_version' row (with the actual version) and writes nothing on a conflict.
CREATE FUNCTION ${s}.append_to_stream(
  p_stream_id text, p_expected text, p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[],
  p_bodies text[], p_recorded_at timestamptz)
RETURNS TABLE (out_outcome text, out_actual_version bigint, out_global_position bigint,
               out_stream_version bigint, out_hash text, out_previous_hash text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_hash text;
  v_hashes text[] := '{}';
  v_previous text[] := '{}';
BEGIN
  -- Serialise appends per stream with an advisory lock, which (unlike SELECT ... FOR UPDATE)
  -- assigns no transaction id while waiting: the xid is taken by the INSERT below, after the
  -- previous append to this stream committed, so within a stream xid order = version order
  -- and readAll (ordered by xid) delivers each stream's events in version order.
  PERFORM pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext(p_stream_id));
  SELECT st.version, st.last_hash INTO v_version, v_hash FROM ${s}.streams st WHERE st.stream_id = p_stream_id;
  IF NOT FOUND THEN
    IF p_expected <> 'no_stream' AND p_expected <> 'any' THEN
      RETURN QUERY SELECT 'wrong_version'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text;
      RETURN;
    END IF;
    v_version := -1;
    v_hash := '${GENESIS_HASH}';
  ELSIF p_expected = 'no_stream' OR (p_expected NOT IN ('any', 'stream_exists') AND p_expected::bigint <> v_version) THEN
    RETURN QUERY SELECT 'wrong_version'::text, v_version, NULL::bigint, NULL::bigint, NULL::text, NULL::text;
    RETURN;
  END IF;

  -- Same formula as hashing.ts eventHash(): sha256(previousHash | streamVersion | body).
  FOR i IN 1 .. cardinality(p_ids) LOOP
    v_previous := v_previous || v_hash;
    v_hash := encode(sha256(convert_to(v_hash || '|' || (v_version + i) || '|' || p_bodies[i], 'UTF8')), 'hex');
    v_hashes := v_hashes || v_hash;
  END LOOP;

  INSERT INTO ${s}.streams AS st (stream_id, version, last_hash)
  VALUES (p_stream_id, v_version + cardinality(p_ids), v_hash)
  ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_hash = excluded.last_hash;

  RETURN QUERY
  INSERT INTO ${s}.events AS e (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
  SELECT u.id, p_stream_id, v_version + u.ord, u.type, u.data, u.metadata, p_recorded_at, u.hash, u.previous_hash
  FROM unnest(p_ids, p_types, p_data, p_metadata, v_hashes, v_previous)
       WITH ORDINALITY AS u(id, type, data, metadata, hash, previous_hash, ord)
  ORDER BY u.ord
  RETURNING 'ok'::text, NULL::bigint, e.global_position, e.stream_version, e.hash, e.previous_hash;
END
$fn$;
`,
  },
  {
    version: 2,
    description: 'append reads the stream head from events; drop the streams table (one write per event)',
    // The streams table doubled the writes of every append (benchmarked at ~0.55x a plain INSERT);
    // the head is one backward step on UNIQUE (stream_id, stream_version), so it is not worth a row.
    sql: (s) => `
DROP TABLE ${s}.streams;

CREATE OR REPLACE FUNCTION ${s}.append_to_stream(
  p_stream_id text, p_expected text, p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[],
  p_bodies text[], p_recorded_at timestamptz)
RETURNS TABLE (out_outcome text, out_actual_version bigint, out_global_position bigint,
               out_stream_version bigint, out_hash text, out_previous_hash text)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_version bigint;
  v_hash text;
  v_hashes text[] := '{}';
  v_previous text[] := '{}';
BEGIN
  -- Serialise appends per stream with an advisory lock, which (unlike SELECT ... FOR UPDATE)
  -- assigns no transaction id while waiting: the xid is taken by the INSERT below, after the
  -- previous append to this stream committed, so within a stream xid order = version order
  -- and readAll (ordered by xid) delivers each stream's events in version order.
  -- Each statement below takes a fresh snapshot, so it sees the append we waited for.
  PERFORM pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, hashtext(p_stream_id));
  SELECT e.stream_version, e.hash INTO v_version, v_hash
  FROM ${s}.events e WHERE e.stream_id = p_stream_id ORDER BY e.stream_version DESC LIMIT 1;
  IF NOT FOUND THEN
    IF p_expected <> 'no_stream' AND p_expected <> 'any' THEN
      RETURN QUERY SELECT 'wrong_version'::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text;
      RETURN;
    END IF;
    v_version := -1;
    v_hash := '${GENESIS_HASH}';
  ELSIF p_expected = 'no_stream' OR (p_expected NOT IN ('any', 'stream_exists') AND p_expected::bigint <> v_version) THEN
    RETURN QUERY SELECT 'wrong_version'::text, v_version, NULL::bigint, NULL::bigint, NULL::text, NULL::text;
    RETURN;
  END IF;

  -- Same formula as hashing.ts eventHash(): sha256(previousHash | streamVersion | body).
  FOR i IN 1 .. cardinality(p_ids) LOOP
    v_previous := v_previous || v_hash;
    v_hash := encode(sha256(convert_to(v_hash || '|' || (v_version + i) || '|' || p_bodies[i], 'UTF8')), 'hex');
    v_hashes := v_hashes || v_hash;
  END LOOP;

  RETURN QUERY
  INSERT INTO ${s}.events AS e (id, stream_id, stream_version, type, data, metadata, recorded_at, hash, previous_hash)
  SELECT u.id, p_stream_id, v_version + u.ord, u.type, u.data, u.metadata, p_recorded_at, u.hash, u.previous_hash
  FROM unnest(p_ids, p_types, p_data, p_metadata, v_hashes, v_previous)
       WITH ORDINALITY AS u(id, type, data, metadata, hash, previous_hash, ord)
  ORDER BY u.ord
  RETURNING 'ok'::text, NULL::bigint, e.global_position, e.stream_version, e.hash, e.previous_hash;
END
$fn$;
`,
  },
  {
    version: 3,
    description: 'append is one SQL statement in appendToStream.ts; drop the append function',
    // The function's per-stream advisory lock and PL/pgSQL call cost ~2x a plain INSERT in
    // server CPU; the statement relies on the unique (stream_id, stream_version) index instead.
    sql: (s) => `DROP FUNCTION IF EXISTS ${s}.append_to_stream(text, text, uuid[], text[], jsonb[], jsonb[], text[], timestamptz);`,
  },
  {
    version: 4,
    description: 'sealed_events: each sealed event as the sealer saw it, so verify names a deleted or rewritten row',
    // Backfilled from the log as it stands for what earlier seals cover (they recorded no rows).
    sql: (s) => `
CREATE TABLE ${s}.sealed_events (
  ordinal         bigint PRIMARY KEY,
  global_position bigint NOT NULL UNIQUE,
  stream_id       text   NOT NULL,
  stream_version  bigint NOT NULL,
  hash            text   NOT NULL
);
INSERT INTO ${s}.sealed_events (ordinal, global_position, stream_id, stream_version, hash)
SELECT row_number() OVER (ORDER BY transaction_id, global_position) - 1, global_position, stream_id, stream_version, hash
FROM ${s}.events
WHERE (transaction_id, global_position) > ('0'::xid8, 0)
ORDER BY transaction_id, global_position
LIMIT (SELECT coalesce(max(events_sealed), 0) FROM ${s}.seals);
`,
  },
];

/**
 * Applies missing migrations in one transaction under an advisory lock, so concurrent
 * starters never collide and a failed migration leaves nothing half-applied.
 */
export async function migrate(executor: SqlExecutor, schema: string, quotedSchema: string): Promise<void> {
  await executor.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${quotedSchema}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${quotedSchema}.schema_migrations (
         version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = await tx.query<{ version: number }>(`SELECT version FROM ${quotedSchema}.schema_migrations`);
    const appliedVersions = new Set(applied.map((row) => Number(row.version)));
    for (const migration of MIGRATIONS) {
      if (appliedVersions.has(migration.version)) continue;
      await tx.exec(migration.sql(quotedSchema));
      await tx.query(`INSERT INTO ${quotedSchema}.schema_migrations (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
    }
  });
}
