/**
 * Event store throughput and memory, each figure next to a raw-SQL baseline measured in the
 * same run on the same database (the machine is shared and noisy: ratios are the stable part).
 *
 *   npm run bench:store            (builds libs, compiles bench/ with swc, runs this file)
 * or, with libs already built:
 *   npx swc bench -d bench/dist --strip-leading-paths --config-file .swcrc && node bench/dist/store.bench.js
 *
 * Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), STORE_BENCH_READ_EVENTS (1000000),
 * STORE_BENCH_SKIP_PGLITE=1. Writes into a fresh random schema and drops it at the end.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import {
  createPgliteEventStore,
  createPostgresEventStore,
  type AuditableEventStore,
  type NewEvent,
} from '@gatehouse/eventstore';
import {
  createLightRawTableSql,
  createRawTableSql,
  lightInsertManySql,
  lightInsertSql,
  lightKeysetSql,
  lightSeedSql,
  rawInsertManySql,
  rawInsertSql,
  rawKeysetSql,
  seedSql,
} from './lib/storeBenchSql.js';

export interface StoreBenchOptions {
  databaseUrl?: string;
  /** Concurrent writers, each on its own streams. @defaultValue 16 */
  writers?: number;
  /** Events written one per append (PostgreSQL). @defaultValue 30000 */
  singleEvents?: number;
  /** Events written ten per append (PostgreSQL). @defaultValue 100000 */
  batchEvents?: number;
  /** Events in the log for the catch-up read (PostgreSQL). @defaultValue 1000000 */
  readEvents?: number;
  /** readAll batch size, same page size for the raw keyset baseline. @defaultValue 5000 */
  readBatchSize?: number;
  /** PGlite figures on a smaller log (PGlite is one in-process connection). @defaultValue true */
  pglite?: boolean;
  pgliteSingleEvents?: number;
  pgliteBatchEvents?: number;
  pgliteReadEvents?: number;
}

export interface Throughput {
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

export interface Comparison {
  /** Best store round. */
  store: Throughput;
  /** Best raw round. */
  raw: Throughput;
  /** Median over rounds of store/raw, each round measuring both back to back (robust to load drift). */
  ratio: number;
  roundRatios: number[];
  /** Best round of the light raw table (id, stream, version, type, data, metadata only), and the median store/light ratio. */
  light: Throughput;
  lightRatio: number;
  lightRoundRatios: number[];
}

export interface StoreBenchResult {
  postgres: { singleAppend: Comparison; tenEventAppend: Comparison; readAll: Comparison; seed: Throughput };
  pglite?: { singleAppend: Comparison; tenEventAppend: Comparison; readAll: Comparison };
  targets: { name: string; target: string; actual: string; met: boolean }[];
  peakRssMb: number;
  config: Required<Omit<StoreBenchOptions, 'databaseUrl' | 'pglite'>> & { pglite: boolean; readRounds: number; appendRounds: number };
}

const TARGETS = {
  singleAppendEventsPerSecond: 5_000,
  singleAppendVsRaw: 0.8,
  tenEventAppendEventsPerSecond: 25_000,
  readAllEventsPerSecond: 250_000,
  tenEventAppendVsRaw: 0.8,
  readAllVsRaw: 0.9,
} as const;
/** Rows per seeding statement: one transaction each, so the log spans many transaction ids. */
const SEED_CHUNK = 100_000;
/** Rounds of each measure; best throughput and median ratio are reported (see interleave). */
const READ_ROUNDS = 3;
const APPEND_ROUNDS = 3;
const RSS_SAMPLE_MS = 50;
const EVENTS_PER_BATCH_APPEND = 10;
const HASH_PLACEHOLDER = 'a'.repeat(64);

const seconds = (startNs: bigint): number => Number(process.hrtime.bigint() - startNs) / 1e9;
const throughput = (events: number, elapsed: number): Throughput => ({ events, seconds: round(elapsed, 3), eventsPerSecond: Math.round(events / elapsed) });
const best = (runs: Throughput[]): Throughput => runs.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a));
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/**
 * Runs store and raw back to back `rounds` times, alternating which goes first, so a load
 * change on this shared machine hits both sides of a round alike.
 */
async function interleave(
  rounds: number,
  store: (round: number) => Promise<Throughput>,
  raw: (round: number) => Promise<Throughput>,
  light: (round: number) => Promise<Throughput>,
): Promise<Comparison> {
  const storeRuns: Throughput[] = [];
  const rawRuns: Throughput[] = [];
  const lightRuns: Throughput[] = [];
  const ratios: number[] = [];
  const lightRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let storeRun: Throughput;
    let rawRun: Throughput;
    let lightRun: Throughput;
    if (r % 2 === 0) {
      rawRun = await raw(r);
      storeRun = await store(r);
      lightRun = await light(r);
    } else {
      lightRun = await light(r);
      storeRun = await store(r);
      rawRun = await raw(r);
    }
    storeRuns.push(storeRun);
    rawRuns.push(rawRun);
    lightRuns.push(lightRun);
    ratios.push(round(storeRun.eventsPerSecond / rawRun.eventsPerSecond, 3));
    lightRatios.push(round(storeRun.eventsPerSecond / lightRun.eventsPerSecond, 3));
  }
  return {
    store: best(storeRuns),
    raw: best(rawRuns),
    ratio: round(median(ratios), 3),
    roundRatios: ratios,
    light: best(lightRuns),
    lightRatio: round(median(lightRatios), 3),
    lightRoundRatios: lightRatios,
  };
}
const round = (value: number, digits: number): number => Number(value.toFixed(digits));
const payload = (writer: number, seq: number): Record<string, unknown> => ({ writer, seq, kind: 'bench', note: 'x'.repeat(40) });

/** Runs `writers` loops that together issue `total` events, `perCall` at a time. */
async function runWriters(writers: number, total: number, perCall: number, call: (writer: number, seq: number) => Promise<void>): Promise<Throughput> {
  let issued = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let seq = 0; issued < total; seq++) {
        issued += perCall;
        await call(writer, seq);
      }
    }),
  );
  return throughput(issued, seconds(start));
}

interface Target {
  store: AuditableEventStore;
  /** Raw SQL on the same database, outside the store. */
  query(text: string, params?: unknown[]): Promise<unknown>;
  /** Raw keyset read returning the number of rows of one page and the last position. */
  readRawPage(after: string, limit: number): Promise<{ count: number; last: string | undefined }>;
  /** The same over the light table, paging on its primary key. */
  readLightPage(after: string, limit: number): Promise<{ count: number; last: string | undefined }>;
}

async function benchAppends(target: Target, s: string, label: string, writers: number, single: number, batch: number): Promise<{ singleAppend: Comparison; tenEventAppend: Comparison }> {
  const recordedAt = new Date().toISOString();
  const perRoundSingle = Math.ceil(single / APPEND_ROUNDS);
  const perRoundBatch = Math.ceil(batch / APPEND_ROUNDS);
  const singleAppend = await interleave(
    APPEND_ROUNDS,
    (r) =>
      runWriters(writers, perRoundSingle, 1, (w, seq) =>
        target.store
          .appendToStream(`single-${label}-${r}-${w}`, [{ type: 'BenchEvent', data: payload(w, seq) }], { expectedVersion: seq === 0 ? 'no_stream' : BigInt(seq - 1) })
          .then(() => undefined),
      ),
    (r) =>
      runWriters(writers, perRoundSingle, 1, (w, seq) =>
        target
          .query(rawInsertSql(s), [uuidv7(), `raw-${label}-1-${r}-${w}`, seq, JSON.stringify(payload(w, seq)), recordedAt, HASH_PLACEHOLDER, HASH_PLACEHOLDER])
          .then(() => undefined),
      ),
    (r) =>
      runWriters(writers, perRoundSingle, 1, (w, seq) =>
        target.query(lightInsertSql(s), [uuidv7(), `light-${label}-1-${r}-${w}`, seq, JSON.stringify(payload(w, seq))]).then(() => undefined),
      ),
  );
  const tenEventAppend = await interleave(
    APPEND_ROUNDS,
    (r) =>
      runWriters(writers, perRoundBatch, EVENTS_PER_BATCH_APPEND, (w, seq) => {
        const events: NewEvent[] = Array.from({ length: EVENTS_PER_BATCH_APPEND }, (_, i) => ({ type: 'BenchEvent', data: payload(w, seq * EVENTS_PER_BATCH_APPEND + i) }));
        return target.store
          .appendToStream(`batch-${label}-${r}-${w}`, events, { expectedVersion: seq === 0 ? 'no_stream' : BigInt(seq * EVENTS_PER_BATCH_APPEND - 1) })
          .then(() => undefined);
      }),
    (r) =>
      runWriters(writers, perRoundBatch, EVENTS_PER_BATCH_APPEND, (w, seq) => {
        const ids = Array.from({ length: EVENTS_PER_BATCH_APPEND }, () => uuidv7());
        const versions = ids.map((_, i) => seq * EVENTS_PER_BATCH_APPEND + i);
        return target
          .query(rawInsertManySql(s), [
            ids,
            ids.map(() => `raw-${label}-10-${r}-${w}`),
            versions,
            versions.map((v) => JSON.stringify(payload(w, v))),
            ids.map(() => HASH_PLACEHOLDER),
            recordedAt,
          ])
          .then(() => undefined);
      }),
    (r) =>
      runWriters(writers, perRoundBatch, EVENTS_PER_BATCH_APPEND, (w, seq) => {
        const ids = Array.from({ length: EVENTS_PER_BATCH_APPEND }, () => uuidv7());
        const versions = ids.map((_, i) => seq * EVENTS_PER_BATCH_APPEND + i);
        return target
          .query(lightInsertManySql(s), [ids, ids.map(() => `light-${label}-10-${r}-${w}`), versions, versions.map((v) => JSON.stringify(payload(w, v)))])
          .then(() => undefined);
      }),
  );
  return { singleAppend, tenEventAppend };
}

async function seed(target: Target, s: string, events: number): Promise<Throughput> {
  const start = process.hrtime.bigint();
  for (let from = 1; from <= events; from += SEED_CHUNK) {
    await target.query(seedSql(s), [from, Math.min(events, from + SEED_CHUNK - 1)]);
  }
  await target.query(`TRUNCATE ${s}.raw_light_events`);
  await target.query(lightSeedSql(s));
  await target.query(`VACUUM (ANALYZE) ${s}.events`);
  await target.query(`VACUUM (ANALYZE) ${s}.raw_light_events`);
  return throughput(events, seconds(start));
}

async function benchReadAll(target: Target, batchSize: number): Promise<Comparison> {
  let expected: number | undefined;
  const checkCount = (count: number, what: string): void => {
    expected ??= count;
    if (count !== expected) throw new Error(`${what} returned ${count} events, expected ${expected}`);
  };
  return interleave(
    READ_ROUNDS,
    async () => {
      const start = process.hrtime.bigint();
      let count = 0;
      for await (const event of target.store.readAll({ batchSize })) {
        if (event.globalPosition > 0n) count++;
      }
      checkCount(count, 'readAll');
      return throughput(count, seconds(start));
    },
    async () => {
      const start = process.hrtime.bigint();
      let count = 0;
      for (let after = '0'; ; ) {
        const page = await target.readRawPage(after, batchSize);
        count += page.count;
        if (page.count < batchSize || page.last === undefined) break;
        after = page.last;
      }
      checkCount(count, 'raw keyset read');
      return throughput(count, seconds(start));
    },
    async () => {
      const start = process.hrtime.bigint();
      let count = 0;
      for (let after = '00000000-0000-0000-0000-000000000000'; ; ) {
        const page = await target.readLightPage(after, batchSize);
        count += page.count;
        if (page.count < batchSize || page.last === undefined) break;
        after = page.last;
      }
      checkCount(count, 'light keyset read');
      return throughput(count, seconds(start));
    },
  );
}

async function postgresTarget(url: string, schema: string, writers: number): Promise<Target & { close(): Promise<void> }> {
  const store = await createPostgresEventStore({ connectionString: url, schema, maxConnections: writers });
  const raw = new pg.Pool({ connectionString: url, max: writers });
  const keyset = rawKeysetSql(`"${schema}"`, 'events');
  const lightKeyset = lightKeysetSql(`"${schema}"`);
  return {
    store,
    query: (text, params) => raw.query(text, params),
    async readRawPage(after, limit) {
      const { rows } = await raw.query<{ global_position: string }>({ text: keyset, values: [after, limit], name: 'raw_keyset' });
      return { count: rows.length, last: rows[rows.length - 1]?.global_position };
    },
    async readLightPage(after, limit) {
      const { rows } = await raw.query<{ id: string }>({ text: lightKeyset, values: [after, limit], name: 'light_keyset' });
      return { count: rows.length, last: rows[rows.length - 1]?.id };
    },
    async close() {
      await store.close();
      await raw.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await raw.end();
    },
  };
}

async function pgliteTarget(schema: string): Promise<Target & { close(): Promise<void> }> {
  const db = await PGlite.create();
  const store = await createPgliteEventStore({ db, schema });
  const keyset = rawKeysetSql(`"${schema}"`, 'events');
  return {
    store,
    query: (text, params) => (params === undefined ? db.exec(text) : db.query(text, params)),
    async readRawPage(after, limit) {
      const { rows } = await db.query<{ global_position: number }>(keyset, [after, limit]);
      const last = rows[rows.length - 1]?.global_position;
      return { count: rows.length, last: last === undefined ? undefined : String(last) };
    },
    async readLightPage(after, limit) {
      const { rows } = await db.query<{ id: string }>(lightKeysetSql('"' + schema + '"'), [after, limit]);
      return { count: rows.length, last: rows[rows.length - 1]?.id };
    },
    async close() {
      await store.close();
      await db.close();
    },
  };
}

function targetsOf(result: Omit<StoreBenchResult, 'targets' | 'peakRssMb' | 'config'>): StoreBenchResult['targets'] {
  const { singleAppend, tenEventAppend, readAll } = result.postgres;
  return [
    { name: 'PostgreSQL single-event appends', target: `>= ${TARGETS.singleAppendEventsPerSecond} ev/s`, actual: `${singleAppend.store.eventsPerSecond} ev/s`, met: singleAppend.store.eventsPerSecond >= TARGETS.singleAppendEventsPerSecond },
    { name: 'PostgreSQL single-event appends vs raw', target: `>= ${TARGETS.singleAppendVsRaw}x`, actual: `${singleAppend.ratio}x`, met: singleAppend.ratio >= TARGETS.singleAppendVsRaw },
    { name: 'PostgreSQL 10-event appends vs raw', target: `>= ${TARGETS.tenEventAppendVsRaw}x`, actual: `${tenEventAppend.ratio}x`, met: tenEventAppend.ratio >= TARGETS.tenEventAppendVsRaw },
    { name: 'PostgreSQL 10-event appends', target: `>= ${TARGETS.tenEventAppendEventsPerSecond} ev/s`, actual: `${tenEventAppend.store.eventsPerSecond} ev/s`, met: tenEventAppend.store.eventsPerSecond >= TARGETS.tenEventAppendEventsPerSecond },
    { name: 'PostgreSQL readAll catch-up', target: `>= ${TARGETS.readAllEventsPerSecond} ev/s`, actual: `${readAll.store.eventsPerSecond} ev/s`, met: readAll.store.eventsPerSecond >= TARGETS.readAllEventsPerSecond },
    { name: 'PostgreSQL readAll vs raw keyset', target: `>= ${TARGETS.readAllVsRaw}x`, actual: `${readAll.ratio}x`, met: readAll.ratio >= TARGETS.readAllVsRaw },
  ];
}

export async function runStoreBench(options: StoreBenchOptions = {}): Promise<StoreBenchResult> {
  const {
    databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    writers = 16,
    singleEvents = 30_000,
    batchEvents = 100_000,
    readEvents = Number(process.env['STORE_BENCH_READ_EVENTS'] ?? 1_000_000),
    readBatchSize = 5_000,
    pglite = process.env['STORE_BENCH_SKIP_PGLITE'] !== '1',
    pgliteSingleEvents = 5_000,
    pgliteBatchEvents = 20_000,
    pgliteReadEvents = 200_000,
  } = options;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, RSS_SAMPLE_MS);
  sampler.unref();

  try {
    const schema = `bench_store_${randomBytes(4).toString('hex')}`;
    const s = `"${schema}"`;
    const postgres = await postgresTarget(databaseUrl, schema, writers);
    let postgresResult: StoreBenchResult['postgres'];
    try {
      await postgres.query(createRawTableSql(s));
      await postgres.query(createLightRawTableSql(s));
      const appends = await benchAppends(postgres, s, 'pg', writers, singleEvents, batchEvents);
      const seeded = await seed(postgres, s, readEvents);
      postgresResult = { ...appends, readAll: await benchReadAll(postgres, readBatchSize), seed: seeded };
    } finally {
      await postgres.close();
    }

    let pgliteResult: StoreBenchResult['pglite'];
    if (pglite) {
      const embedded = await pgliteTarget('bench_store');
      try {
        await embedded.query(createRawTableSql('"bench_store"'));
        await embedded.query(createLightRawTableSql('"bench_store"'));
        const appends = await benchAppends(embedded, '"bench_store"', 'lite', writers, pgliteSingleEvents, pgliteBatchEvents);
        await seed(embedded, '"bench_store"', pgliteReadEvents);
        pgliteResult = { ...appends, readAll: await benchReadAll(embedded, readBatchSize) };
      } finally {
        await embedded.close();
      }
    }
    const partial = { postgres: postgresResult, ...(pgliteResult === undefined ? {} : { pglite: pgliteResult }) };
    return {
      ...partial,
      targets: targetsOf(partial),
      peakRssMb: Math.round(peakRss / 2 ** 20),
      config: { writers, singleEvents, batchEvents, readEvents, readBatchSize, pglite, pgliteSingleEvents, pgliteBatchEvents, pgliteReadEvents, readRounds: READ_ROUNDS, appendRounds: APPEND_ROUNDS },
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Human-readable summary of a result. */
export function formatStoreBench(result: StoreBenchResult): string {
  const lines: string[] = [];
  const row = (cells: (string | number)[]): void => void lines.push(cells.map((c, i) => String(c).padEnd(i === 0 ? 34 : 16)).join(''));
  row(['measure (best round)', 'store ev/s', 'raw ev/s', 'median ratio', 'round ratios', 'light raw ev/s', 'vs light', 'light rounds']);
  const add = (name: string, c: Comparison): void =>
    row([name, c.store.eventsPerSecond, c.raw.eventsPerSecond, c.ratio, c.roundRatios.join(' '), c.light.eventsPerSecond, c.lightRatio, c.lightRoundRatios.join(' ')]);
  add('PostgreSQL 1-event appends', result.postgres.singleAppend);
  add('PostgreSQL 10-event appends', result.postgres.tenEventAppend);
  add('PostgreSQL readAll catch-up', result.postgres.readAll);
  if (result.pglite) {
    add('PGlite 1-event appends', result.pglite.singleAppend);
    add('PGlite 10-event appends', result.pglite.tenEventAppend);
    add('PGlite readAll catch-up', result.pglite.readAll);
  }
  const { config } = result;
  lines.push(
    '',
    `PostgreSQL: ${config.writers} writers, ${config.singleEvents} single + ${config.batchEvents} batched events; read ${result.postgres.readAll.store.events} events in pages of ${config.readBatchSize}`,
    `PGlite: ${config.pgliteSingleEvents} single + ${config.pgliteBatchEvents} batched events; read ${result.pglite?.readAll.store.events ?? 0} events`,
    'raw: a table with the store\'s columns and indexes; light raw: id, stream, version, type, data, metadata and a primary key only',
    `seeded ${result.postgres.seed.events} events in ${result.postgres.seed.seconds}s; peak RSS ${result.peakRssMb} MB; load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
  );
  for (const t of result.targets) lines.push(`${t.met ? 'MET   ' : 'MISSED'} ${t.name}: ${t.actual} (target ${t.target})`);
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runStoreBench();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n${formatStoreBench(result)}\n`);
}
