import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { runClosedStoreContract, runEventStoreContract } from '../contract/eventStoreContract.js';
import { createPostgresEventStore } from './createPostgresEventStore.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;

describePostgres('PostgreSQL adapter', () => {
  runEventStoreContract('PostgreSQL', async () => {
    const schema = isolatedSchema('es_contract', postgres.url);
    const store = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name });
    return {
      store,
      reopen: () => createPostgresEventStore({ connectionString: postgres.url, schema: schema.name }),
      async teardown() {
        await store.close();
        await schema.drop();
      },
    };
  });

  const closedSchema = isolatedSchema('es_closed', postgres.url);
  afterAll(() => closedSchema.drop());
  runClosedStoreContract('PostgreSQL', () => createPostgresEventStore({ connectionString: postgres.url, schema: closedSchema.name }));
});
