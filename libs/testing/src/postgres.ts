import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where integration tests find PostgreSQL unless DATABASE_URL says otherwise. */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** How long to wait for the server before declaring it missing. */
const CONNECT_TIMEOUT_MS = 3_000;
const START_COMMAND = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

export interface PostgresAvailability {
  available: boolean;
  url: string;
}

export function testDatabaseUrl(): string {
  return process.env['DATABASE_URL'] ?? DEFAULT_TEST_DATABASE_URL;
}

/**
 * Checks that PostgreSQL answers. Under CI a missing server is an error (the suite fails);
 * locally the suite is skipped with a loud message saying how to start the server.
 * Use with top-level await: `const pg = await requirePostgres(); const describePg = pg.available ? describe : describe.skip;`
 */
export async function requirePostgres(url: string = testDatabaseUrl()): Promise<PostgresAvailability> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { available: true, url };
  } catch (error) {
    const message =
      `PostgreSQL is not reachable at ${redact(url)} (${(error as Error).message}). ` +
      `Start it with: ${START_COMMAND}  (or set DATABASE_URL).`;
    if (process.env['CI']) throw new Error(`${message} CI is set, so integration tests fail instead of skipping.`);
    process.stderr.write(`\n${'!'.repeat(80)}\n!! SKIPPING PostgreSQL integration tests: ${message}\n${'!'.repeat(80)}\n\n`);
    return { available: false, url };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface IsolatedSchema {
  /** Fresh, random schema name (lower case, safe to splice into SQL). */
  name: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/**
 * A random schema name per suite so suites of several packages can run in parallel on one
 * database. The schema itself is created by whoever migrates it; drop() removes it.
 */
export function isolatedSchema(prefix: string, url: string = testDatabaseUrl()): IsolatedSchema {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase();
  return {
    name,
    async drop() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        // With the services' read-model schemas beside the log's (apps/projections readModelTables.ts, apps/monitoring watchIndex.ts).
        for (const schema of [name, `${name}_projections`.slice(0, 63), `${name}_monitoring`.slice(0, 63)]) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

function redact(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]+@/, '://$1:***@');
}

/** An event store as far as {@link visibleHead} needs it (structural: libs/testing does not depend on the store). */
export interface HeadReadableStore {
  readAll(): AsyncIterable<{ globalPosition: bigint }>;
  readonly sql?: { readonly executor: { query<Row>(text: string, params?: readonly unknown[]): Promise<Row[]> }; readonly schema: string };
}

/**
 * The global position of the log's last event, once log readers see every event appended so far. The store's
 * gap-safe reads stop at the oldest transaction still running on the server, whichever database it is in, so on a
 * PostgreSQL server shared with other suites a test that appends and then reads must wait for that horizon to
 * pass, or it reads less than it appended. Over a store without SQL, the last event readAll returns.
 */
export async function visibleHead(store: HeadReadableStore, { timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = store.sql === undefined ? [] : await store.sql.executor.query<{ head: string | null }>(`SELECT max(global_position)::text AS head FROM "${store.sql.schema}".events`);
    let last = 0n;
    for await (const event of store.readAll()) last = event.globalPosition;
    if (row === undefined || BigInt(row.head ?? '0') === last) return last;
    if (Date.now() > deadline) throw new Error(`log readers still see up to position ${last} of ${row.head} after ${timeoutMs} ms: a transaction on the server stays open`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
