import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { AppendResult, EventStore, NewEvent, ReadAllOptions, StoredEvent, Subscription } from '@gatehouse/eventstore';

/**
 * Stand-in PostgreSQL EventStore used by the relay crash test and bench while
 * the real adapter (@gatehouse/eventstore) has not landed. Deliberately
 * minimal: one writer at a time (so ordering by bigserial is commit order),
 * no optimistic concurrency, no hash chain, no live subscribe. It lives in
 * its own schema so runs never touch the real store's tables.
 */
export async function createStandInPostgresStore({ connectionString, schema }: { connectionString: string; schema: string }): Promise<EventStore> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`unsafe schema name '${schema}'`);
  const pool = new pg.Pool({ connectionString, max: 4 });
  const t = (name: string) => `"${schema}"."${name}"`;

  const store: EventStore = {
    async migrate() {
      await pool.query(`create schema if not exists "${schema}"`);
      await pool.query(`create table if not exists ${t('events')} (
        global_position bigserial primary key, id uuid not null unique, type text not null, stream_id text not null,
        stream_version bigint not null, recorded_at timestamptz not null default now(), data jsonb not null, metadata jsonb not null)`);
      await pool.query(`create table if not exists ${t('checkpoints')} (name text primary key, position bigint not null)`);
    },
    async appendToStream(streamId: string, events: readonly NewEvent[]): Promise<AppendResult> {
      const ids = events.map((e) => e.id ?? randomUUID());
      const { rows } = await pool.query(
        `with current as (select coalesce(max(stream_version), -1) as v from ${t('events')} where stream_id = $1)
         insert into ${t('events')} (id, type, stream_id, stream_version, data, metadata)
         select x.id, x.type, $1, (select v from current) + x.ord, x.data, x.metadata
         from unnest($2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[]) with ordinality as x(id, type, data, metadata, ord)
         order by x.ord returning *`,
        [streamId, ids, events.map((e) => e.type), events.map((e) => JSON.stringify(e.data)), events.map((e) => JSON.stringify(e.metadata ?? {}))],
      );
      const stored = rows.map(toStored);
      const last = stored[stored.length - 1]!;
      return { nextExpectedVersion: last.streamVersion, lastGlobalPosition: last.globalPosition, events: stored };
    },
    async readStream(streamId: string) {
      const { rows } = await pool.query(`select * from ${t('events')} where stream_id = $1 order by stream_version`, [streamId]);
      return rows.map(toStored);
    },
    async *readAll({ after = 0n, batchSize = 1_000 }: ReadAllOptions = {}): AsyncIterable<StoredEvent> {
      let position = after;
      for (;;) {
        const { rows } = await pool.query(`select * from ${t('events')} where global_position > $1 order by global_position limit $2`, [position.toString(), batchSize]);
        if (rows.length === 0) return;
        for (const row of rows) yield toStored(row);
        position = BigInt(rows[rows.length - 1].global_position);
      }
    },
    subscribe(): Subscription {
      throw new Error('the stand-in store has no live subscription');
    },
    async readCheckpoint(name: string) {
      const { rows } = await pool.query(`select position from ${t('checkpoints')} where name = $1`, [name]);
      return rows[0] === undefined ? undefined : BigInt(rows[0].position);
    },
    async storeCheckpoint(name: string, position: bigint) {
      await pool.query(`insert into ${t('checkpoints')} (name, position) values ($1, $2) on conflict (name) do update set position = excluded.position`, [name, position.toString()]);
    },
    async close() {
      await pool.end();
    },
  };
  await store.migrate();
  return store;
}

export async function dropStandInSchema(connectionString: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}

function toStored(row: Record<string, any>): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    streamId: row.stream_id,
    streamVersion: BigInt(row.stream_version),
    globalPosition: BigInt(row.global_position),
    recordedAt: row.recorded_at,
    data: row.data,
    metadata: row.metadata,
    hash: '',
    previousHash: '',
  };
}
