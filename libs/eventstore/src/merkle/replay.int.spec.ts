/**
 * The replay export over SQL (PGlite and PostgreSQL) writes the stored JSON text as it comes from the database
 * and reads the tree's leaves without the events' bodies: its lines must hold exactly what the generic path's
 * hold (each event parsed and stringified again; the database's text differs only in spacing and number
 * spelling), for the whole log and every filter, be one line each, and verify offline.
 */
import { generateKeyPairSync } from 'node:crypto';
import { visibleHead } from '@gatehouse/testing';
import { sqlStoreKinds } from '../contract/sqlStoreKinds.js';
import type { AuditableEventStore, EventStore } from '../types.js';
import { readLogTree } from './logTree.js';
import { replayLines, verifyReplay, type ReplayFilter } from './replay.js';
import { signTreeHead } from './treeHead.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');

const kinds = await sqlStoreKinds('replay_export', { maxConnections: 2 });

/** The same store seen without its SQL access: the export takes the generic path (readAll, parse, stringify). */
const withoutSql = (store: EventStore): EventStore => ({ readAll: (options) => store.readAll(options) }) as EventStore;

async function lines(store: EventStore, filter: ReplayFilter, treeSize?: number): Promise<string[]> {
  const tree = await readLogTree(store, treeSize);
  const size = treeSize ?? tree.leaves.length;
  const head = signTreeHead({ treeSize: size, rootHash: tree.tree.root(size).toString('hex'), lastPosition: String(tree.leaves[size - 1]!.globalPosition), timestamp: '2026-12-01T10:00:00.000Z' }, privateKey);
  const out: string[] = [];
  for await (const line of replayLines(store, tree, head, filter)) out.push(line);
  return out;
}

describe.each(kinds)('replay export over SQL (%s)', (_, open) => {
  let store: AuditableEventStore;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await open());
    // Bodies whose text a database could print differently from JSON.stringify: nesting, unicode, escapes, numbers, nulls.
    for (let n = 0; n < 30; n += 1) {
      await store.appendToStream(`order-${n % 4}`, [
        {
          type: n % 3 === 0 ? 'OrderPaid' : 'OrderPlaced',
          data: { n, amount: n * 1.5, tiny: 1e-7, big: 12345678901234, note: `été "quoted" \\ ${'\u2603'}\n\t`, nested: { list: [1, null, true, { deep: 'x' }] }, empty: {} },
          metadata: { actor: n % 2 === 0 ? 'ann' : 'bob', correlationId: `c-${n}` },
        },
      ]);
    }
    await visibleHead(store);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  const filters: Array<[string, ReplayFilter, number | undefined]> = [
    ['the whole log', {}, undefined],
    ['resumed after a position', { after: 7n }, undefined],
    ['one stream', { streamId: 'order-2' }, undefined],
    ['one event type', { eventType: 'OrderPaid' }, undefined],
    ['up to a position, under an older head', { until: 20n }, 25],
  ];
  it.each(filters)('%s: the lines hold what the generic path writes, and verify offline', async (_name, filter, treeSize) => {
    const fast = await lines(store, filter, treeSize);
    expect(fast.length).toBeGreaterThan(2);
    expect(fast.some((line) => line.includes('\n'))).toBe(false);
    expect(fast.map((line) => JSON.parse(line))).toEqual((await lines(withoutSql(store), filter, treeSize)).map((line) => JSON.parse(line)));
    expect(await verifyReplay(fast, publicKey)).toMatchObject({ ok: true, events: fast.length - 2 });
  });
});
