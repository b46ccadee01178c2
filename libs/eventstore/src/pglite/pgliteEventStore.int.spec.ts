import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { runClosedStoreContract, runEventStoreContract } from '../contract/eventStoreContract.js';
import { createPgliteEventStore } from './createPgliteEventStore.js';

runEventStoreContract('PGlite (in memory)', async () => {
  const store = await createPgliteEventStore();
  return { store, teardown: () => store.close() };
});

// A caller-owned instance in a data folder: the store must not close it, and data survives a new store.
runEventStoreContract('PGlite (data folder, shared instance)', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-pglite-'));
  const db = await PGlite.create({ dataDir });
  const store = await createPgliteEventStore({ db, schema: 'audit_log' });
  return {
    store,
    reopen: () => createPgliteEventStore({ db, schema: 'audit_log' }),
    async teardown() {
      await store.close();
      await db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

runClosedStoreContract('PGlite', () => createPgliteEventStore());
