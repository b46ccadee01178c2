/**
 * Read models in PostgreSQL (issue 11, "Read models at scale"):
 *
 * 1. Rebuild rate: the projections' read models rebuilt from the log into fresh tables (read the log, fold in
 *    memory, load each key's final row and the history with COPY, swap), next to two floors measured in the
 *    same run with the same rows (the rows the rebuild left in its tables, read back untimed): a raw batched
 *    INSERT (unnest() batches of the same size) and a raw COPY of the same batches, each into a plain
 *    key/value table of the same column types. Target: >= 50,000 events/s. The process runs with the young
 *    generation the projections service sets for itself (sizeHeapForFolding), as the service's rebuild does.
 * 2. Start time of the projections service over the log: before (every event read and folded in memory, as
 *    every start did before the read models had tables), its first start (no tables yet: it builds them), and
 *    after (the tables and their checkpoint exist: the model is loaded from them and no event is replayed).
 *
 *   npm run bench:readmodels
 * Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), READMODELS_BENCH_EVENTS (200000; 1000000 for
 * the issue's start-time figure), READMODELS_BENCH_RAW (1; 0 skips the raw INSERT, for the long 1M run). Seeds a fresh random schema (four events per
 * change: release, submission, approval, booking) and drops it at the end. The machine is shared and noisy:
 * the ratio to the raw INSERT measured in the same run is the stable part.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { settableClock } from '@gatehouse/domain';
import { copyTextField, createPostgresEventStore, type StoredEvent } from '@gatehouse/eventstore';
import {
  evolveReadModel,
  FOLDING_SEMI_SPACE_MB,
  initialReadModel,
  projectionsService,
  ReadModelTables,
  REBUILD_ROWS_PER_STATEMENT,
  sizeHeapForFolding,
  WRITE_BATCH_EVENTS,
  type ReadModel,
} from '@gatehouse/projections';
import { type ServiceLogger, startEmbeddedServices, PolicyRegistry } from '@gatehouse/service-kit';
import { seedProjectionLogSql } from './lib/storeBenchSql.js';

const SEED_CHUNK = 50_000;
const quiet: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

interface Rate {
  events: number;
  seconds: number;
  eventsPerSecond: number;
}
const seconds = (started: bigint): number => Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(3));
const rate = (events: number, started: bigint): Rate => {
  const s = seconds(started);
  return { events, seconds: s, eventsPerSecond: Math.round(events / s) };
};
const fold = (model: ReadModel, event: StoredEvent): void => void evolveReadModel(model, event);

export async function runReadModelsBench({
  databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
  events = Number(process.env['READMODELS_BENCH_EVENTS'] ?? 200_000),
  measureRaw = process.env['READMODELS_BENCH_RAW'] !== '0',
} = {}) {
  sizeHeapForFolding();
  const schema = `readmodels_bench_${randomBytes(4).toString('hex')}`;
  const s = `"${schema}"`;
  const rm = `"${schema}_projections"`;
  const store = await createPostgresEventStore({ connectionString: databaseUrl, schema });
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    let started = process.hrtime.bigint();
    for (let from = 1; from <= events; from += SEED_CHUNK) await raw.query(seedProjectionLogSql(s), [from, Math.min(events, from + SEED_CHUNK - 1)]);
    const seed = rate(events, started);
    // A log that grew in a running system has its statistics (autovacuum analyses it as it grows); one seeded a
    // moment ago has none, and the planner would read it by another plan than a real log gets.
    await raw.query(`ANALYZE ${s}.events`);

    // 1. Rebuild into the PostgreSQL read models (log read + fold + batched writes + swap).
    const tables = new ReadModelTables(store.sql!);
    await tables.state();
    started = process.hrtime.bigint();
    const rebuilt = await tables.rebuild(store, fold, undefined);
    const rebuild = rate(rebuilt.events, started);
    const rowCounts = await raw.query<{ t: string; n: string }>(
      `SELECT c.relname AS t, c.reltuples::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE '%\\_g${rebuilt.state.generation}'`,
      [`${schema}_projections`],
    );

    // The same rows, raw: read back from the rebuilt tables (not timed), then written with plain batched INSERTs.
    const rows: Array<{ key: string; value: string }> = [];
    for (const { t } of measureRaw ? rowCounts.rows : []) {
      const keyed = t.startsWith('history_')
        ? await raw.query<{ key: string; value: string }>(`SELECT $1 || ':' || change_request_id || '/' || position AS key, entry::text AS value FROM ${rm}.${t}`, [t])
        : await raw.query<{ key: string; value: string }>(`SELECT $1 || ':' || key AS key, value::text AS value FROM ${rm}.${t}`, [t]);
      for (const row of keyed.rows) rows.push(row);
    }
    await raw.query(`CREATE TABLE ${s}.raw_rows (key text PRIMARY KEY, value json NOT NULL)`);
    started = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += REBUILD_ROWS_PER_STATEMENT) {
      const batch = rows.slice(i, i + REBUILD_ROWS_PER_STATEMENT);
      await raw.query(`INSERT INTO ${s}.raw_rows (key, value) SELECT * FROM unnest($1::text[], $2::json[])`, [batch.map((r) => r.key), batch.map((r) => r.value)]);
    }
    const rawInsertSeconds = seconds(started);
    const rawInsert = !measureRaw ? null : { rows: rows.length, seconds: rawInsertSeconds, rowsPerSecond: Math.round(rows.length / rawInsertSeconds), eventsPerSecond: Math.round(rebuilt.events / rawInsertSeconds) };
    await raw.query(`CREATE TABLE ${s}.raw_copy (key text PRIMARY KEY, value json NOT NULL)`);
    started = process.hrtime.bigint();
    for (let i = 0; i < rows.length; i += REBUILD_ROWS_PER_STATEMENT) {
      const text = rows.slice(i, i + REBUILD_ROWS_PER_STATEMENT).map((r) => `${copyTextField(r.key)}\t${copyTextField(r.value)}\n`).join('');
      await store.sql!.executor.copyIn(`${s}.raw_copy (key, value)`, text);
    }
    const rawCopySeconds = seconds(started);
    const rawCopy = !measureRaw ? null : { rows: rows.length, seconds: rawCopySeconds, rowsPerSecond: Math.round(rows.length / rawCopySeconds), eventsPerSecond: Math.round(rebuilt.events / rawCopySeconds) };

    // 2. Start of the projections service: before (no tables: replay the whole log) and after (load the tables).
    const clock = settableClock(new Date().toISOString());
    const policies = await PolicyRegistry.activateFromDirectory(store, 'deploy/policies', clock);
    const startOnce = async (): Promise<number> => {
      const t = process.hrtime.bigint();
      const host = await startEmbeddedServices([projectionsService], { store, clock, policies, logger: quiet });
      const took = seconds(t);
      await host.stop();
      return took;
    };
    // Before: what every start did until the read models had tables, read the whole log and fold it in memory.
    started = process.hrtime.bigint();
    const replayed = initialReadModel();
    for await (const event of store.readAll({ batchSize: WRITE_BATCH_EVENTS })) fold(replayed, event);
    const replayAtStart = seconds(started);
    await raw.query(`DROP SCHEMA ${rm} CASCADE`);
    const firstStartBuildingTables = await startOnce();
    const startFromCheckpoint = await startOnce();

    return {
      events,
      seed,
      rebuildIntoPostgres: rebuild,
      rawBatchedInsertOfTheSameRows: rawInsert,
      rebuildToRawRatio: rawInsert === null ? null : Number((rebuild.eventsPerSecond / rawInsert.eventsPerSecond).toFixed(2)),
      rawCopyOfTheSameRows: rawCopy,
      rebuildToRawCopyRatio: rawCopy === null ? null : Number((rebuild.eventsPerSecond / rawCopy.eventsPerSecond).toFixed(2)),
      v8MaxSemiSpaceMb: FOLDING_SEMI_SPACE_MB,
      start: { beforeReplayOfTheLogSeconds: replayAtStart, firstStartBuildingTheTablesSeconds: firstStartBuildingTables, afterFromCheckpointSeconds: startFromCheckpoint },
      target: { name: 'read-model rebuild into PostgreSQL', target: '>= 50000 events/s', actual: rebuild.eventsPerSecond, met: rebuild.eventsPerSecond >= 50_000 },
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    await store.close();
    await raw.query(`DROP SCHEMA IF EXISTS ${s} CASCADE; DROP SCHEMA IF EXISTS ${rm} CASCADE`);
    await raw.end();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(await runReadModelsBench(), null, 2)}\n`);
}
