import pg from 'pg';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { prepareAppend } from '../prepareEvents.js';
import { appendStatement } from '../sql/appendToStream.js';
import type { AuditableEventStore, StoredEvent } from '../types.js';
import { createPostgresEventStore } from './createPostgresEventStore.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;

/** How long the reader keeps polling while the early transaction is open. */
const HOLD_MS = 600;
const POLL_MS = 10;

async function collect(iterable: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

describePostgres('readAll / subscribe are gap-safe (PostgreSQL)', () => {
  const schema = isolatedSchema('es_gap', postgres.url);
  const quoted = `"${schema.name}"`;
  let store: AuditableEventStore;
  let slowWriter: pg.Client;

  beforeAll(async () => {
    store = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name });
    slowWriter = new pg.Client({ connectionString: postgres.url });
    await slowWriter.connect();
  });
  const slowWriterPeer = async (text: string): Promise<string[]> => {
    const peer = new pg.Client({ connectionString: postgres.url });
    await peer.connect();
    try {
      return (await peer.query<{ type: string }>(text)).rows.map((row) => row.type);
    } finally {
      await peer.end();
    }
  };

  afterAll(async () => {
    await slowWriter.end();
    await store.close();
    await schema.drop();
  });

  it('holds back at an open transaction that took an earlier position, then delivers both in commit order', async () => {
    await store.appendToStream('before', [{ type: 'Before', data: {} }]);
    await visibleHead(store);
    const delivered: StoredEvent[] = [];
    const subscription = store.subscribe((event) => void delivered.push(event), {
      subscriptionId: 'gap-test',
      pollIntervalMs: POLL_MS,
    });

    // Transaction A takes the earlier global position and stays open.
    await slowWriter.query('BEGIN');
    const inA = appendStatement(quoted, prepareAppend('stream-a', [{ type: 'A', data: {} }]));
    const [a] = (await slowWriter.query<{ global_position: string }>(inA.text, inA.values)).rows;
    // Transaction B appends later and commits first.
    const b = await store.appendToStream('stream-b', [{ type: 'B', data: {} }]);
    expect(BigInt(a!.global_position) < b.lastGlobalPosition).toBe(true);

    // Sanity (proves the test can fail): ordering by position alone would already show B
    // with a hole where A will land, and a reader checkpointing at B would skip A forever.
    const naive = await slowWriterPeer(`SELECT type FROM ${quoted}.events ORDER BY global_position`);
    expect(naive).toEqual(['Before', 'B']);

    const deadline = Date.now() + HOLD_MS;
    while (Date.now() < deadline) {
      const seen = await collect(store.readAll());
      expect(seen.map((e) => e.type)).not.toContain('B');
      expect(delivered.map((e) => e.type)).not.toContain('B');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    expect(delivered.map((e) => e.type)).toEqual(['Before']);

    await slowWriter.query('COMMIT');
    const until = Date.now() + 10_000;
    while (delivered.length < 3 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    await subscription.stop();

    expect(delivered.map((e) => e.type)).toEqual(['Before', 'A', 'B']);
    expect((await collect(store.readAll())).map((e) => e.type)).toEqual(['Before', 'A', 'B']);
    expect(await store.readCheckpoint('gap-test')).toBe(b.lastGlobalPosition);
  });

  it('a rolled-back transaction leaves a position gap that readers pass without waiting', async () => {
    await slowWriter.query('BEGIN');
    const never = appendStatement(quoted, prepareAppend('rolled-back', [{ type: 'Never', data: {} }]));
    await slowWriter.query(never.text, never.values);
    await slowWriter.query('ROLLBACK');
    const after = await store.appendToStream('after-rollback', [{ type: 'After', data: {} }]);
    // Only a neighbour's open transaction (another suite on the server) may hold 'After' back, and only a moment.
    await visibleHead(store);
    const types = (await collect(store.readAll())).map((e) => e.type);
    expect(types).not.toContain('Never');
    expect(types).toContain('After');
    expect(after.lastGlobalPosition).toBeGreaterThan(0n);
  });
});
