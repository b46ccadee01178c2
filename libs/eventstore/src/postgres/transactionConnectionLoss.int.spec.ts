/**
 * A connection lost while a transaction holds it (PostgreSQL stopped or restarted, the backend killed): the
 * transaction fails as StoreUnavailableError and the process goes on. pg emits 'error' on a client whose socket
 * fails, and pg-pool stops listening on a client while it is checked out: with nobody listening, that event
 * ended the process (the outage e2e saw the projections service, which writes its tables in transactions, vanish).
 */
import pg from 'pg';
import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { createPostgresEventStore } from './createPostgresEventStore.js';
import { StoreUnavailableError } from './storeUnavailable.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describePostgres('PostgreSQL adapter: a transaction whose connection dies', () => {
  const schema = isolatedSchema('es_tx_loss', postgres.url);
  const admin = new pg.Client({ connectionString: postgres.url });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => void uncaught.push(error);
  beforeAll(async () => {
    await admin.connect();
    // What would end the process: an 'error' event nobody listens to is thrown from the socket's callback.
    process.prependListener('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.removeListener('uncaughtException', onUncaught);
    await admin.end();
    await schema.drop();
  });

  it.each([
    ['between two statements', false],
    ['during a statement', true],
  ])('%s: the transaction fails as StoreUnavailableError, nothing is thrown at the process, and the store works on', async (_, duringStatement) => {
    const store = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name });
    const stream = `order-${duringStatement ? 'during' : 'between'}`;
    try {
      await store.appendToStream(stream, [{ type: 'OrderPlaced', data: {} }]);
      const failed = store.sql!.executor.transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        if (duringStatement) {
          const statement = tx.query('SELECT pg_sleep(5)');
          await sleep(200);
          await admin.query('SELECT pg_terminate_backend($1)', [row!.pid]);
          await statement;
        } else {
          await admin.query('SELECT pg_terminate_backend($1)', [row!.pid]);
          // The socket's error arrives while no statement runs.
          await sleep(500);
          await tx.query('SELECT 1');
        }
      });
      await expect(failed).rejects.toBeInstanceOf(StoreUnavailableError);
      await sleep(200);
      expect(uncaught.map(String)).toEqual([]);
      // The broken connection did not go back to the pool.
      await store.appendToStream(stream, [{ type: 'OrderPaid', data: {} }]);
      expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid']);
    } finally {
      await store.close();
    }
  });
});
