import pg from 'pg';
import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { runTamperContract } from '../contract/tamperContract.js';
import { createPostgresEventStore } from './createPostgresEventStore.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;

describePostgres('PostgreSQL', () => {
  let raw: pg.Pool;
  beforeAll(() => {
    raw = new pg.Pool({ connectionString: postgres.url, max: 2 });
  });
  afterAll(() => raw.end());

  runTamperContract('PostgreSQL', async () => {
    const schema = isolatedSchema('es_tamper', postgres.url);
    const store = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name });
    return {
      store,
      schema: `"${schema.name}"`,
      sql: (text, params) => raw.query(text, params),
      async teardown() {
        await store.close();
        await schema.drop();
      },
    };
  });
});
