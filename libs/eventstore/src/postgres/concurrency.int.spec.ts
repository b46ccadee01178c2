import pg from 'pg';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { WrongExpectedVersionError } from '../errors.js';
import { MIGRATIONS } from '../sql/migrations.js';
import { ANY, NO_STREAM, type AuditableEventStore, type StoredEvent } from '../types.js';
import { verifyEventLog } from '../verify.js';
import { createPostgresEventStore } from './createPostgresEventStore.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;

const CONTENDERS = 50;
/** Enough connections for real contention, leaving room for suites running in parallel. */
const POOL_SIZE = 25;

describePostgres('concurrent appends (PostgreSQL)', () => {
  const schema = isolatedSchema('es_conc', postgres.url);
  let store: AuditableEventStore;

  beforeAll(async () => {
    store = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name, maxConnections: POOL_SIZE });
  });
  afterAll(async () => {
    await store.close();
    await schema.drop();
  });

  it(`${CONTENDERS} appends with the same expected version: exactly one wins`, async () => {
    await store.appendToStream('contended', [{ type: 'Opened', data: {} }]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: CONTENDERS }, (_, i) => store.appendToStream('contended', [{ type: 'Claimed', data: { by: i } }], { expectedVersion: 0n })),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(CONTENDERS - 1);
    for (const error of lost) {
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(error).toMatchObject({ streamId: 'contended', expectedVersion: 0n, actualVersion: 1n });
    }
    const events = await store.readStream('contended');
    expect(events.map((e) => e.type)).toEqual(['Opened', 'Claimed']);
  });

  it(`${CONTENDERS} creators of one stream with NO_STREAM: exactly one wins`, async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: CONTENDERS }, () => store.appendToStream('created-once', [{ type: 'Created', data: {} }], { expectedVersion: NO_STREAM })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await store.readStream('created-once')).toHaveLength(1);
  });

  it('concurrent ANY appends keep each stream in version order in the global log, and the log verifies', async () => {
    const streams = ['s0', 's1', 's2', 's3'];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.appendToStream(streams[i % streams.length]!, [{ type: 'Tick', data: { i } }, { type: 'Tock', data: { i } }], { expectedVersion: ANY }),
      ),
    );
    const lastVersion = new Map<string, bigint>();
    await visibleHead(store);
    const all: StoredEvent[] = [];
    for await (const event of store.readAll({ batchSize: 97 })) all.push(event);
    for (const event of all.filter((e) => streams.includes(e.streamId))) {
      expect(event.streamVersion).toBe((lastVersion.get(event.streamId) ?? -1n) + 1n);
      lastVersion.set(event.streamId, event.streamVersion);
    }
    expect([...lastVersion.values()]).toEqual([99n, 99n, 99n, 99n]);
    expect(await verifyEventLog(store)).toMatchObject({ ok: true });
  });

  it('concurrent starters migrate one fresh schema exactly once', async () => {
    const fresh = isolatedSchema('es_migrate', postgres.url);
    try {
      const stores = await Promise.all(
        Array.from({ length: 6 }, () => createPostgresEventStore({ connectionString: postgres.url, schema: fresh.name, maxConnections: 1 })),
      );
      await Promise.all(stores.map((s) => s.close()));
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT version FROM "${fresh.name}".schema_migrations ORDER BY version`);
        expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
      } finally {
        await client.end();
      }
    } finally {
      await fresh.drop();
    }
  });
});
