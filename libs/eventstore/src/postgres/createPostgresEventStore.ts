import pg from 'pg';
import { DEFAULT_SCHEMA } from '../sql/schema.js';
import type { SqlExecutor, SqlQueryable } from '../sql/executor.js';
import { parseTimestamptz, TIMESTAMPTZ_OID } from '../sql/parseTimestamptz.js';
import { sqlStorage } from '../sql/sqlStorage.js';
import { storeFromStorage } from '../storeFromStorage.js';
import type { AuditableEventStore } from '../types.js';
import { INT8_OID, keepDecimalString, XID8_OID } from '../sql/typeOids.js';
import { postgresAppendSignal } from './postgresAppendSignal.js';

/** Connections in the pool when none is given. */
export const DEFAULT_POOL_SIZE = 10;

export interface PostgresEventStoreOptions {
  /** libpq-style URL (pg's `connectionString`), e.g. postgres://user@host:5432/db. Ignored when `pool` is given. */
  connectionString?: string;
  /** Use this pool instead of creating one; the store then does not end it on close(). */
  pool?: pg.Pool;
  /** Schema holding the tables. @defaultValue 'gatehouse' */
  schema?: string;
  /** Pool size when the store creates the pool. @defaultValue DEFAULT_POOL_SIZE */
  maxConnections?: number;
  /** Run migrations on start. @defaultValue true */
  migrate?: boolean;
}


/**
 * Per-query type parsers (not the global pg.types, which other code in the process may
 * configure): int8 and xid8 stay decimal strings and are turned into bigint by the mappers;
 * timestamptz uses a faster parser.
 */
const defaultTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date;
const fastTimestamptz = (text: string): Date => parseTimestamptz(text, defaultTimestamptz);
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID || oid === XID8_OID) return keepDecimalString;
    if (oid === TIMESTAMPTZ_OID && format !== 'binary') return fastTimestamptz;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as pg.CustomTypesConfig;

function queryable(client: pg.Pool | pg.PoolClient): SqlQueryable {
  return {
    async query<Row>(text: string, params: readonly unknown[] = [], name?: string): Promise<Row[]> {
      const config: pg.QueryConfig = { text, values: params as unknown[], types: typeParsers };
      if (name !== undefined) config.name = name;
      const result = await client.query(config);
      return result.rows as Row[];
    },
    async queryArrays(text: string, params: readonly unknown[] = [], name?: string): Promise<unknown[][]> {
      const config: pg.QueryArrayConfig = { text, values: params as unknown[], types: typeParsers, rowMode: 'array' };
      if (name !== undefined) config.name = name;
      const result = await client.query(config);
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await client.query(script);
    },
  };
}

export function postgresExecutor(pool: pg.Pool, ownsPool: boolean): SqlExecutor {
  return {
    ...queryable(pool),
    async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async close(): Promise<void> {
      if (ownsPool) await pool.end();
    },
  };
}

/** The production adapter: PostgreSQL through a pg Pool. Migrates on start unless told not to. */
export async function createPostgresEventStore(options: PostgresEventStoreOptions = {}): Promise<AuditableEventStore> {
  const { connectionString, schema = DEFAULT_SCHEMA, maxConnections = DEFAULT_POOL_SIZE, migrate = true } = options;
  const ownsPool = options.pool === undefined;
  const pool = options.pool ?? new pg.Pool({ connectionString, max: maxConnections });
  const store = storeFromStorage(sqlStorage(postgresExecutor(pool, ownsPool), schema, postgresAppendSignal(pool, schema)));
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
