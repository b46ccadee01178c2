/**
 * Two replicas of the projections over one PostgreSQL database, at the level of their read-model keepers:
 * - one writes the tables, the other serves its own model; when the writer dies, the other takes the tables
 *   over after `takeoverAfterMs` and writes everything after their checkpoint (tables = a fold of the whole log);
 * - during a rolling upgrade, a replica of an older READ_MODEL_VERSION leaves tables of a newer version alone
 *   (it neither rebuilds them back nor writes into them) and still answers as a fold of the whole log.
 */
import { createPostgresEventStore, quoteSchema, type AuditableEventStore } from '@gatehouse/eventstore';
import type { ServiceLogger } from '@gatehouse/service-kit';
import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { queryReadModel, type ReadModelQuery } from './query.js';
import { evolveReadModel, initialReadModel, READ_MODEL_VERSION, type ReadModel } from './readModel.js';
import { ReadModelKeeper } from './readModelKeeper.js';
import { ReadModelTables } from './readModelTables.js';
import { ProjectionQueryPayload } from '@gatehouse/contracts';
import { appendChanges } from './test-support/history.js';

const postgres = await requirePostgres();
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const VIEWS = ['changeRequests', 'pendingApprovals', 'schedule', 'versions', 'activeDeployments'].map((view) => ProjectionQueryPayload.parse({ view }) as ReadModelQuery);
const FOLLOW_MS = 10;
const TAKEOVER_MS = 300;
/** Below TAKEOVER_MS, as the defaults are (1 s against 15 s): a live writer is never taken for a dead one. */
const WRITE_MS = 50;

const describeWithPostgres = postgres.available ? describe : describe.skip;

describeWithPostgres('read-model keepers as replicas over one PostgreSQL database', () => {
  let schema: ReturnType<typeof isolatedSchema>;
  const stores: AuditableEventStore[] = [];
  const keepers: ReadModelKeeper[] = [];
  let store: AuditableEventStore;

  const open = async () => {
    const opened = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name, maxConnections: 4 });
    stores.push(opened);
    return opened;
  };
  const keeper = async (over: AuditableEventStore, writeIntervalMs = WRITE_MS) => {
    const started = await ReadModelKeeper.start(over, evolveReadModel, quietLogger, { followIntervalMs: FOLLOW_MS, takeoverAfterMs: TAKEOVER_MS, writeIntervalMs });
    keepers.push(started);
    return started;
  };
  const answersOf = (model: ReadModel) => VIEWS.map((q) => structuredClone(queryReadModel(model, q)));
  async function wholeLogFold(): Promise<ReadModel> {
    const model = initialReadModel();
    for await (const event of store.readAll()) evolveReadModel(model, event);
    return model;
  }
  async function head(): Promise<bigint> {
    let last = 0n;
    for await (const event of store.readAll()) last = event.globalPosition;
    return last;
  }
  async function eventually(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeEach(async () => {
    schema = isolatedSchema('rmkeeper');
    store = await open();
  });
  afterEach(async () => {
    for (const k of keepers.splice(0)) await k.stop();
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    await schema.drop();
  });

  it('when the replica writing the tables dies, the other takes them over and writes everything after their checkpoint', async () => {
    await appendChanges(store, 0, 6);
    const a = await keeper(store);
    const b = await keeper(await open());
    // Both follow; at the first write after both have folded the same events, one of them finds the checkpoint moved.
    await appendChanges(store, 6, 10);
    await eventually('exactly one replica writes', () => [a, b].filter((k) => k.isWriter).length === 1);
    const [writer, other] = a.isWriter ? [a, b] : [b, a];
    const tables = new ReadModelTables(store.sql!);
    await eventually('the writer checkpointed the log head', async () => (await tables.peek())?.position === (await head()));

    // The writer dies (stops; its tables stay as they are); the log moves on.
    keepers.splice(keepers.indexOf(writer), 1);
    await writer.stop();
    await appendChanges(store, 10, 16);
    const target = await head();
    await eventually('the other replica took the tables over', () => other.isWriter);
    await eventually('the checkpoint reached the log head', async () => (await tables.peek())?.position === target);

    // The tables hold every event: loaded as they are, they answer as a fold of the whole log, as the survivor does.
    const expected = answersOf(await wholeLogFold());
    expect(answersOf(await tables.load((await tables.peek())!))).toEqual(expected);
    expect(answersOf(other.model)).toEqual(expected);
  });

  it('writes what it folds at most once per write interval, answering from memory meanwhile, and writes the rest when it stops', async () => {
    await appendChanges(store, 0, 4);
    const k = await keeper(store, 60_000);
    const tables = new ReadModelTables(store.sql!);
    const started = (await tables.peek())!.position;
    // The start's catch-up is written at once.
    expect(started).toBe(await head());

    await appendChanges(store, 4, 8);
    const target = await head();
    await eventually('the model folded the new events', () => k.model.position === target);
    expect(answersOf(k.model)).toEqual(answersOf(await wholeLogFold()));
    await new Promise((resolve) => setTimeout(resolve, 10 * FOLLOW_MS));
    expect((await tables.peek())!.position).toBe(started);

    keepers.splice(keepers.indexOf(k), 1);
    await k.stop();
    const written = (await tables.peek())!;
    expect(written.position).toBe(target);
    expect(answersOf(await tables.load(written))).toEqual(answersOf(await wholeLogFold()));
  });

  it('a replica of an older read-model version leaves tables of a newer version alone and answers from memory', async () => {
    await appendChanges(store, 0, 4);
    const current = await keeper(store);
    const tables = new ReadModelTables(store.sql!);
    await eventually('the tables checkpointed the log head', async () => (await tables.peek())?.position === (await head()));
    await current.stop();
    keepers.splice(0);
    // A newer version took the tables over (as its rebuild at start would leave them).
    await store.sql!.executor.query(`UPDATE ${quoteSchema(tables.schema)}.read_models SET version = $1`, [READ_MODEL_VERSION + 1]);
    const before = await tables.peek();

    const older = await keeper(await open());
    expect(older.isWriter).toBe(false);
    await appendChanges(store, 4, 8);
    const target = await head();
    await eventually('the older replica folded the new events', () => older.model.position === target);
    expect(answersOf(older.model)).toEqual(answersOf(await wholeLogFold()));
    // Nothing of the newer version's tables changed: same version, generation and checkpoint, no takeover.
    await new Promise((resolve) => setTimeout(resolve, TAKEOVER_MS * 3));
    expect(await tables.peek()).toEqual(before);
    expect(older.isWriter).toBe(false);
  });
});
