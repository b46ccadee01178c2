/**
 * The watch index kept in tables with a checkpoint (PGlite and PostgreSQL): a new index over the same
 * database reads only the events after the checkpoint, a catch-up that dies mid-write leaves the tables as
 * of the checkpoint, tables of another version are rebuilt, and a second replica that finds the checkpoint
 * moved leaves the writing to the first. Every answer is compared with an index folded from the whole log
 * in memory.
 */
import { type AuditableEventStore, createPgliteEventStore, createPostgresEventStore, type ReadAllOptions, type SqlQueryable, type StoredEvent } from '@gatehouse/eventstore';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { WATCH_INDEX_VERSION, WatchIndex } from './watchIndex.js';

const postgres = await requirePostgres();
const NOW = new Date('2026-12-01T12:00:00Z');

/**
 * Watch `n`: its change's kind, the watch started (service svc-<n % 3>); every third completed, every fourth ended.
 * Returns once log readers see them (another suite's open transaction on the server can hold them back a moment).
 */
async function appendWatches(store: AuditableEventStore, from: number, to: number): Promise<number> {
  let appended = 0;
  for (let n = from; n < to; n += 1) {
    const changeRequestId = `cr-${n}`;
    const events: Array<{ type: string; data: unknown }> = [
      { type: 'PostDeploymentWatchStarted', data: { changeRequestId, service: `svc-${n % 3}`, environment: 'production', rules: [{ metric: 'error_rate', threshold: 0.05 }] } },
    ];
    if (n % 3 === 0) events.push({ type: 'PostDeploymentWatchCompleted', data: { changeRequestId } });
    else if (n % 4 === 0) events.push({ type: 'PostDeploymentWatchEnded', data: { changeRequestId } });
    await store.appendToStream(`changeRequest-${changeRequestId}`, [{ type: 'ChangeRequestSubmitted', data: { changeRequestId, kind: n % 5 === 0 ? 'emergency' : 'normal' } }]);
    await store.appendToStream(`watch-${changeRequestId}`, events);
    appended += events.length + 1;
  }
  await visibleHead(store);
  return appended;
}

/** What the index answers, all of it. */
function answers(index: WatchIndex, watches: number) {
  return {
    open: index.openWatches().sort((a, b) => a.changeRequestId.localeCompare(b.changeRequestId)),
    active: [0, 1, 2].map((n) => index.activeWatch(`svc-${n}`, 'production')),
    kinds: Array.from({ length: watches }, (_, n) => index.changeKind(`cr-${n}`)),
  };
}

/** The store, counting the events its readAll hands out. */
function counting(store: AuditableEventStore): { store: AuditableEventStore; read: () => number } {
  let read = 0;
  const counted: AuditableEventStore = Object.create(store, {
    readAll: {
      value: (options?: ReadAllOptions) => ({
        async *[Symbol.asyncIterator](): AsyncIterator<StoredEvent> {
          for await (const event of store.readAll(options)) {
            read += 1;
            yield event;
          }
        },
      }),
    },
  });
  return { store: counted, read: () => read };
}

/** An index folded from the whole log in memory (a store without SQL keeps no tables). */
async function folded(store: AuditableEventStore): Promise<WatchIndex> {
  const index = new WatchIndex(Object.create(store, { sql: { value: undefined } }) as AuditableEventStore);
  await index.catchUp();
  return index;
}

const kinds: Array<[string, () => Promise<{ store: AuditableEventStore; cleanup(): Promise<void> }>]> = [
  ['PGlite', async () => ({ store: await createPgliteEventStore(), cleanup: async () => {} })],
  ...(postgres.available
    ? [
        [
          'PostgreSQL',
          async () => {
            const schema = isolatedSchema('watch_index');
            return { store: await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name, maxConnections: 4 }), cleanup: () => schema.drop() };
          },
        ] as [string, () => Promise<{ store: AuditableEventStore; cleanup(): Promise<void> }>],
      ]
    : []),
];

describe.each(kinds)('watch index in tables with a checkpoint (%s)', (_, open) => {
  let store: AuditableEventStore;
  let cleanup: () => Promise<void>;
  const sql = (): SqlQueryable => store.sql!.executor;
  const tables = () => `"${store.sql!.schema}_monitoring"`;
  const checkpoint = async () => (await sql().query<{ version: number; position: string }>(`SELECT version, position FROM ${tables()}.watch_index_state`))[0];
  /** The log's head once readers see it all. */
  const head = async () => String(await visibleHead(store));

  beforeEach(async () => {
    ({ store, cleanup } = await open());
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  it('a new index reads only the events after the checkpoint and answers as a fold of the whole log', async () => {
    await appendWatches(store, 0, 12);
    const first = new WatchIndex(store);
    await first.catchUp();
    expect(await checkpoint()).toEqual({ version: WATCH_INDEX_VERSION, position: await head() });

    const later = await appendWatches(store, 12, 16);
    const restarted = counting(store);
    const second = new WatchIndex(restarted.store);
    await second.catchUp();
    expect(restarted.read()).toBe(later);
    expect(answers(second, 16)).toEqual(answers(await folded(store), 16));
    expect(answers(second, 16).open.length).toBeGreaterThan(0);
    expect(await checkpoint()).toEqual({ version: WATCH_INDEX_VERSION, position: await head() });
  });

  it('a catch-up that dies mid-write leaves the tables as of the checkpoint; the next reads the missed events once', async () => {
    await appendWatches(store, 0, 6);
    await new WatchIndex(store).catchUp();
    const before = await checkpoint();
    const entries = async () => (await sql().query<{ kind: string; key: string; value: unknown }>(`SELECT kind, key, value FROM ${tables()}.watch_index ORDER BY kind, key`));
    const rowsBefore = await entries();
    const missed = await appendWatches(store, 6, 10);

    const executor = store.sql!.executor;
    const dying: AuditableEventStore = Object.create(store, {
      sql: {
        value: {
          schema: store.sql!.schema,
          executor: {
            ...executor,
            transaction: <T>(work: (tx: SqlQueryable) => Promise<T>) =>
              executor.transaction((tx) => {
                let statements = 0;
                return work({
                  ...tx,
                  query: async (text: string, params?: readonly unknown[]) => {
                    if (++statements === 2) throw new Error('killed mid-write');
                    return tx.query(text, params);
                  },
                });
              }),
          },
        },
      },
    });
    await expect(new WatchIndex(dying).catchUp()).rejects.toThrow('killed mid-write');
    expect(await checkpoint()).toEqual(before);
    expect(await entries()).toEqual(rowsBefore);

    const restarted = counting(store);
    const next = new WatchIndex(restarted.store);
    await next.catchUp();
    expect(restarted.read()).toBe(missed);
    expect(answers(next, 10)).toEqual(answers(await folded(store), 10));
  });

  it('tables of another version are rebuilt from the log', async () => {
    const events = await appendWatches(store, 0, 6);
    await new WatchIndex(store).catchUp();
    await sql().query(`UPDATE ${tables()}.watch_index_state SET version = version - 1`);
    const restarted = counting(store);
    const index = new WatchIndex(restarted.store);
    await index.catchUp();
    expect(restarted.read()).toBe(events);
    expect(await checkpoint()).toEqual({ version: WATCH_INDEX_VERSION, position: await head() });
    expect(answers(index, 6)).toEqual(answers(await folded(store), 6));
  });

  it('a rebuild on demand replaces tables that no longer match the log, and a restart then loads the rebuilt ones', async () => {
    const events = await appendWatches(store, 0, 12);
    const index = new WatchIndex(store);
    await index.catchUp();
    const expected = answers(await folded(store), 12);
    // The tables drift from the log (an entry lost, one altered): a start that loads them answers wrong.
    await sql().query(`DELETE FROM ${tables()}.watch_index WHERE kind = 'watch' AND key = 'cr-1'`);
    await sql().query(`UPDATE ${tables()}.watch_index SET value = '"emergency"' WHERE kind = 'changeKind' AND key = 'cr-2'`);
    const drifted = new WatchIndex(store);
    await drifted.catchUp();
    expect(answers(drifted, 12)).not.toEqual(expected);

    const read = counting(store);
    const rebuilding = new WatchIndex(read.store);
    await rebuilding.catchUp();
    expect(await rebuilding.rebuild()).toMatchObject({ events, position: await head(), tables: true });
    expect(read.read()).toBe(events);
    expect(answers(rebuilding, 12)).toEqual(expected);
    expect(await checkpoint()).toEqual({ version: WATCH_INDEX_VERSION, position: await head() });
    const restarted = counting(store);
    const next = new WatchIndex(restarted.store);
    await next.catchUp();
    expect(restarted.read()).toBe(0);
    expect(answers(next, 12)).toEqual(expected);

    // It goes on following the log from where the rebuild left it.
    await appendWatches(store, 12, 14);
    await rebuilding.catchUp();
    expect(answers(rebuilding, 14)).toEqual(answers(await folded(store), 14));
    expect(await checkpoint()).toEqual({ version: WATCH_INDEX_VERSION, position: await head() });
  });

  it('of two replicas, the one that finds the checkpoint moved leaves the writing to the other and still answers right', async () => {
    await appendWatches(store, 0, 4);
    const a = new WatchIndex(store);
    const b = new WatchIndex(store);
    await a.catchUp();
    await b.catchUp();
    await appendWatches(store, 4, 8);
    await a.catchUp();
    await b.catchUp(); // finds the checkpoint moved by a: stops writing
    await appendWatches(store, 8, 10);
    await b.catchUp();
    await a.catchUp();
    expect(await checkpoint()).toEqual({ version: WATCH_INDEX_VERSION, position: await head() });
    const expected = answers(await folded(store), 10);
    expect(answers(a, 10)).toEqual(expected);
    expect(answers(b, 10)).toEqual(expected);
    const restarted = new WatchIndex(store);
    await restarted.catchUp();
    expect(answers(restarted, 10)).toEqual(expected);
  });
});
