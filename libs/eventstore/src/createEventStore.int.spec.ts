import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { createEventStore } from './createEventStore.js';
import type { AuditableEventStore } from './types.js';

const postgres = await requirePostgres();

async function roundTrip(store: AuditableEventStore): Promise<string[]> {
  try {
    await store.appendToStream('factory-check', [{ type: 'Checked', data: {} }]);
    return (await store.readStream('factory-check')).map((e) => e.type);
  } finally {
    await store.close();
  }
}

describe('createEventStore picks the adapter', () => {
  it('in memory when asked', async () => {
    expect(await roundTrip(await createEventStore({ inMemory: true }))).toEqual(['Checked']);
  });

  it('embedded PGlite when no database URL is set', async () => {
    expect(await roundTrip(await createEventStore({ schema: 'factory' }))).toEqual(['Checked']);
  });

  (postgres.available ? it : it.skip)('PostgreSQL when a database URL is set', async () => {
    const schema = isolatedSchema('es_factory', postgres.url);
    try {
      expect(await roundTrip(await createEventStore({ databaseUrl: postgres.url, schema: schema.name }))).toEqual(['Checked']);
    } finally {
      await schema.drop();
    }
  });
});
