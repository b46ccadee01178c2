import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { runTamperContract } from '../contract/tamperContract.js';
import { createPgliteEventStore } from './createPgliteEventStore.js';

// One PGlite instance (slow to start), one fresh schema per test.
let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create();
});
afterAll(() => db.close());

runTamperContract('PGlite', async () => {
  const schema = `es_tamper_${randomBytes(4).toString('hex')}`;
  const store = await createPgliteEventStore({ db, schema });
  return {
    store,
    schema: `"${schema}"`,
    sql: (text, params) => db.query(text, params),
    async teardown() {
      await store.close();
      await db.exec(`DROP SCHEMA "${schema}" CASCADE`);
    },
  };
});
