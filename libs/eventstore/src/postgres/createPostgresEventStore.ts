import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DEFAULT_SCHEMA } from '../sql/schema.js';
import type { SqlExecutor, SqlQueryable } from '../sql/executor.js';
import { parseTimestamptz, TIMESTAMPTZ_OID } from '../sql/parseTimestamptz.js';
import { sqlStorage } from '../sql/sqlStorage.js';
import { storeFromStorage } from '../storeFromStorage.js';
import type { AuditableEventStore } from '../types.js';
import { INT8_OID, keepDecimalString, XID8_OID } from '../sql/typeOids.js';
import { postgresAppendSignal } from './postgresAppendSignal.js';
import { asStoreUnavailable, StoreUnavailableError } from './storeUnavailable.js';

/** Connections in the pool when none is given. */
export const DEFAULT_POOL_SIZE = 10;
/**
 * How long a query waits for a new connection before failing with StoreUnavailableError. A refused
 * connection fails at once; this bounds a server that does not answer at all, so callers get
 * "database unavailable" in about a second instead of hanging.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_500;
/**
 * How long a query waits for a pooled connection to come free when every one is busy. This is load,
 * not an outage: it is kept apart from the connect timeout (pg's Pool uses one setting for both),
 * so a burst of appends queued behind a full pool is not told "PostgreSQL is unreachable". Bounded, so that
 * during an outage retries do not pile up behind the pool for long.
 */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000;

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
  /** How long opening one new connection may take. @defaultValue DEFAULT_CONNECT_TIMEOUT_MS */
  connectTimeoutMs?: number;
  /** How long a query waits for a busy pool to free a connection. @defaultValue DEFAULT_ACQUIRE_TIMEOUT_MS */
  acquireTimeoutMs?: number;
  /**
   * Told about errors of idle pooled connections (PostgreSQL restarted, the network cut). They are
   * otherwise harmless: the pool drops the connection and opens a new one when next needed.
   * Without a handler such an error would end the process. @defaultValue ignore them
   */
  onIdleConnectionError?: (error: Error) => void;
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

/** Runs a query, turning "PostgreSQL is not there" into StoreUnavailableError. */
async function unavailableAware<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStoreUnavailable(error);
  }
}

function queryable(client: pg.Pool | pg.PoolClient): SqlQueryable {
  return {
    async query<Row>(text: string, params: readonly unknown[] = [], name?: string): Promise<Row[]> {
      const config: pg.QueryConfig = { text, values: params as unknown[], types: typeParsers };
      if (name !== undefined) config.name = name;
      const result = await unavailableAware(() => client.query(config));
      return result.rows as Row[];
    },
    async queryArrays(text: string, params: readonly unknown[] = [], name?: string): Promise<unknown[][]> {
      const config: pg.QueryArrayConfig = { text, values: params as unknown[], types: typeParsers, rowMode: 'array' };
      if (name !== undefined) config.name = name;
      const result = await unavailableAware(() => client.query(config));
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await unavailableAware(() => client.query(script));
    },
    async copyIn(into: string, text: string): Promise<void> {
      if (client instanceof pg.Pool) return withPooledClient(client, (pooled) => copyText(pooled, into, text));
      return unavailableAware(() => copyText(client, into, text));
    },
  };
}

/**
 * Runs `work` on a client checked out of `pool`. pg emits 'error' on a client whose connection fails, and the pool
 * stops listening on a client while it is checked out: with nobody listening, PostgreSQL stopping mid-statement
 * would end the process. Here it only marks the client broken, and the statement in flight (or the next one) fails
 * on its own, as StoreUnavailableError. A broken client (its connection failed, or `work` said so) is released to
 * be destroyed, never handed to the next query.
 */
async function withPooledClient<T>(pool: pg.Pool, work: (client: pg.PoolClient, markBroken: (error: unknown) => void) => Promise<T>): Promise<T> {
  const client = await unavailableAware(() => pool.connect());
  let broken: unknown;
  const markBroken = (error: unknown): void => void (broken ??= error);
  const onConnectionError = (error: unknown): void => markBroken(asStoreUnavailable(error));
  client.on('error', onConnectionError);
  try {
    return await work(client, markBroken);
  } catch (error) {
    const failure = asStoreUnavailable(error);
    if (failure instanceof StoreUnavailableError) broken = failure;
    throw failure;
  } finally {
    // A broken client is destroyed by the pool and may still report errors as it goes: keep listening to it.
    if (broken === undefined) client.removeListener('error', onConnectionError);
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** COPY … FROM STDIN through pg-copy-streams: the text goes as it is, the server parses it. */
function copyText(client: pg.PoolClient, into: string, text: string): Promise<void> {
  return pipeline(async function* () {
    yield text;
  }, client.query(copyFrom(`COPY ${into} FROM STDIN`)));
}

export function postgresExecutor(pool: pg.Pool, ownsPool: boolean): SqlExecutor {
  return {
    ...queryable(pool),
    transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      return withPooledClient(pool, async (client, markBroken) => {
        await unavailableAware(() => client.query('BEGIN'));
        try {
          const result = await work(queryable(client));
          await unavailableAware(() => client.query('COMMIT'));
          return result;
        } catch (error) {
          // A connection that failed cannot roll back (the pool destroys it); one that did not, must.
          if (!(asStoreUnavailable(error) instanceof StoreUnavailableError)) await client.query('ROLLBACK').catch(markBroken);
          throw error;
        }
      });
    },
    async close(): Promise<void> {
      if (ownsPool) await pool.end();
    },
  };
}

/** A pg Client class whose connect() gives up after `timeoutMs`, whatever the pool's own timeout says. */
function clientWithConnectTimeout(timeoutMs: number): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(typeof config === 'string' ? { connectionString: config, connectionTimeoutMillis: timeoutMs } : { ...config, connectionTimeoutMillis: timeoutMs });
    }
  };
}

/** The production adapter: PostgreSQL through a pg Pool. Migrates on start unless told not to. */
export async function createPostgresEventStore(options: PostgresEventStoreOptions = {}): Promise<AuditableEventStore> {
  const { connectionString, schema = DEFAULT_SCHEMA, maxConnections = DEFAULT_POOL_SIZE, migrate = true, onIdleConnectionError } = options;
  const ownsPool = options.pool === undefined;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString,
      max: maxConnections,
      // pg's Pool times both the wait for a free connection and a new connection's handshake with
      // this one setting; the client class below gives the handshake its own, shorter bound.
      connectionTimeoutMillis: Math.max(options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
      Client: clientWithConnectTimeout(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    });
  // An idle client's error (PostgreSQL stopped or restarted) is emitted on the pool, and an
  // 'error' event nobody listens to ends the process. The pool has already dropped that client.
  if (ownsPool) pool.on('error', (error) => onIdleConnectionError?.(error));
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
