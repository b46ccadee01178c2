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

// The store's own database in a new folder (npm start's first run): initialised in a child process, then opened here.
describe('PGlite store in a data folder it creates', () => {
  it('initialises the folder, keeps what was appended across a restart, and refuses a stale expected version', async () => {
    const parent = await mkdtemp(path.join(tmpdir(), 'gatehouse-pglite-own-'));
    const dataDir = path.join(parent, 'data');
    try {
      const first = await createPgliteEventStore({ dataDir });
      await first.appendToStream('release-1', [{ type: 'Created', data: { n: 1 } }], { expectedVersion: 'no_stream' });
      await first.close();
      const second = await createPgliteEventStore({ dataDir });
      try {
        expect((await second.readStream('release-1')).map((e) => e.type)).toEqual(['Created']);
        await expect(second.appendToStream('release-1', [{ type: 'Again', data: {} }], { expectedVersion: 'no_stream' })).rejects.toMatchObject({ actualVersion: 0n });
        expect(await second.readStream('release-1')).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  }, 180_000); // initdb of a new folder takes ~30 s on a busy two-core machine
});
