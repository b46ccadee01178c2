import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { PGlite, type PGliteOptions, type Transaction } from '@electric-sql/pglite';
import { localAppendSignal, watcherSet, type Watchers } from '../appendSignal.js';
import { DEFAULT_SCHEMA } from '../sql/schema.js';
import type { SqlExecutor, SqlQueryable } from '../sql/executor.js';
import { sqlStorage } from '../sql/sqlStorage.js';
import { storeFromStorage } from '../storeFromStorage.js';
import type { AuditableEventStore } from '../types.js';
import { runPrepared } from './preparedStatements.js';
import { INT8_OID, keepDecimalString, XID8_OID } from '../sql/typeOids.js';

export interface PgliteEventStoreOptions {
  /** Folder holding the database; omitted: in memory. Ignored when `db` is given. */
  dataDir?: string;
  /** A migrated snapshot to start from (see PGlite dumpDataDir); much faster than migrating anew. */
  loadDataDir?: Blob | File;
  /** Use this instance instead of creating one; the store then does not close it. */
  db?: PGlite;
  /** @defaultValue 'gatehouse' */
  schema?: string;
  /** @defaultValue true */
  migrate?: boolean;
  /**
   * PostgreSQL settings of the database the store creates (ignored with `db`), on top of
   * EMBEDDED_POSTGRES_SETTINGS. @defaultValue EMBEDDED_POSTGRES_SETTINGS
   */
  settings?: Readonly<Record<string, string>>;
}

/**
 * Settings of the embedded database. PGlite starts with PostgreSQL's server defaults, sized for
 * a database server rather than a process that also runs the application: shared_buffers alone
 * is 128 MB of the WASM heap, touched as the log is read. Measured on `npm start`'s store
 * (idle after migrating, then 3,000 read-and-append commands): idle RSS 308 → 186 MB with
 * shared_buffers 16 MB; 375 → 251 MB after the load with the four below; command latency within
 * the noise of the shared machine (pages not in shared_buffers are still in the OS page cache).
 * shared_buffers 8 MB: the store alone in a data folder after 3,000 read-and-append commands and a
 * readAll, 245-258 → 222-231 MB RSS (16 → 8 MB, alternating runs). What else PGlite costs: the
 * WASM heap may not start below 128 MB (initialMemory smaller fails to link) and its untouched
 * pages cost no RSS; Node's --no-wasm-tier-up saved ~30 MB at start but nothing after the load.
 */
export const EMBEDDED_POSTGRES_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '8MB',
  work_mem: '1MB',
  maintenance_work_mem: '16MB',
  temp_buffers: '1MB',
};

const startParams = (settings: Readonly<Record<string, string>>): string[] => [
  ...PGlite.defaultStartParams,
  ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
];

/**
 * Creates a new data folder in a short-lived child process. initdb runs as a second WASM program
 * whose memory stays in the process after it finished: a first `npm start` measured 825 MB RSS
 * instead of 310 MB. A worker thread still left ~115 MB behind (300 vs 184 MB); a child process
 * returns all of it.
 */
async function initialiseDataDirApart(dataDir: string): Promise<void> {
  const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const source = `
    const { PGlite } = require(${JSON.stringify(pgliteEntry)});
    PGlite.create({ dataDir: ${JSON.stringify(path.resolve(dataDir))} }).then((db) => db.close()).catch((error) => { console.error(error); process.exit(1); });`;
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initialising the PGlite data folder ${dataDir} failed (exit code ${code}): ${stderr.trim()}`))));
  });
}

/** PGlite parses int8 to a JS number, which loses precision: keep decimal strings like the pg adapter. */
export const PGLITE_PARSERS: NonNullable<PGliteOptions['parsers']> = { [INT8_OID]: keepDecimalString, [XID8_OID]: keepDecimalString };

/**
 * Statements given a name (the hot paths) run as named prepared statements (preparedStatements.ts);
 * the others through PGlite's query(). `tx` is the open transaction the statements belong to, if any.
 */
function queryable(db: PGlite, tx?: Transaction): SqlQueryable {
  const target = tx ?? db;
  const prepared = <Row>(name: string, text: string, params: readonly unknown[], rowMode: 'object' | 'array'): Promise<Row[]> => {
    const run = (): Promise<Row[]> => runPrepared(db, PGLITE_PARSERS, name, text, params, rowMode, tx !== undefined) as Promise<Row[]>;
    // The same locks as PGlite's own query(): inside a transaction it holds the transaction lock already.
    return tx === undefined ? db._runExclusiveTransaction(() => db._runExclusiveQuery(run)) : db._runExclusiveQuery(run);
  };
  return {
    async query<Row>(text: string, params: readonly unknown[] = [], name?: string): Promise<Row[]> {
      if (name !== undefined) return prepared<Row>(name, text, params, 'object');
      const result = await target.query<Row>(text, params as unknown[], { parsers: PGLITE_PARSERS });
      return result.rows;
    },
    async queryArrays(text: string, params: readonly unknown[] = [], name?: string): Promise<unknown[][]> {
      if (name !== undefined) return prepared<unknown[]>(name, text, params, 'array');
      const result = await target.query<unknown[]>(text, params as unknown[], { parsers: PGLITE_PARSERS, rowMode: 'array' });
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await target.exec(script);
    },
    async copyIn(into: string, text: string): Promise<void> {
      // PGlite reads COPY input from the query's blob, named /dev/blob.
      await target.query(`COPY ${into} FROM '/dev/blob'`, [], { blob: new Blob([text]) });
    },
  };
}

/**
 * Append watchers per PGlite instance and schema, shared by every store over that instance.
 * PGlite runs inside one process, so in-process wake-ups reach every possible watcher, with no
 * NOTIFY round trip on the single connection.
 */
const watchersByInstance = new WeakMap<PGlite, Map<string, Watchers>>();

function instanceWatchers(db: PGlite, schema: string): Watchers {
  let bySchema = watchersByInstance.get(db);
  if (bySchema === undefined) watchersByInstance.set(db, (bySchema = new Map()));
  let watchers = bySchema.get(schema);
  if (watchers === undefined) bySchema.set(schema, (watchers = watcherSet()));
  return watchers;
}

export function pgliteExecutor(db: PGlite, ownsDb: boolean): SqlExecutor {
  return {
    ...queryable(db),
    transaction: <T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> => db.transaction((tx) => work(queryable(db, tx))),
    async close(): Promise<void> {
      if (ownsDb) await db.close();
    },
  };
}

/**
 * Embedded adapter: in-process PostgreSQL (WASM) with the same schema and SQL as the
 * PostgreSQL adapter. PGlite runs one connection, so its snapshots never see another open
 * transaction and the gap-safe read is trivially satisfied.
 */
export async function createPgliteEventStore(options: PgliteEventStoreOptions = {}): Promise<AuditableEventStore> {
  const { schema = DEFAULT_SCHEMA, migrate = true } = options;
  const ownsDb = options.db === undefined;
  if (options.db === undefined && options.dataDir !== undefined && options.loadDataDir === undefined && !existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    await initialiseDataDirApart(options.dataDir);
  }
  const db =
    options.db ??
    (await PGlite.create({
      ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
      ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
      startParams: startParams({ ...EMBEDDED_POSTGRES_SETTINGS, ...options.settings }),
    }));
  const store = storeFromStorage(sqlStorage(pgliteExecutor(db, ownsDb), schema, localAppendSignal(instanceWatchers(db, schema))));
  if (migrate) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}
