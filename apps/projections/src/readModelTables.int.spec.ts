/**
 * The read models kept in tables with a checkpoint, on PGlite (embedded) and PostgreSQL (distributed):
 * a restart folds only the events after the checkpoint, a process that dies mid-batch leaves the tables as
 * of the last checkpoint and the batch is folded exactly once after restart, a rebuild (on demand, or at
 * start after a version change) equals the incremental result, and every answer equals a fold of the
 * whole log computed here independently.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createPgliteEventStore, createPostgresEventStore, type SqlQueryable } from '@gatehouse/eventstore';
import { type EmbeddedHost, PolicyRegistry, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { answerQuery, evolveReadModel, initialReadModel, projectionsService, queryReadModel, READ_MODEL_VERSION, ReadModelTables, WRITE_BATCH_EVENTS, type ProjectionQueryResult } from './index.js';
import { ProjectionQueryPayload } from '@gatehouse/contracts';
import { appendChanges } from './test-support/history.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const postgres = await requirePostgres();

/** Every view, with and without filters: what the answers are compared on. */
const QUERIES: unknown[] = [
  { view: 'changeRequests' },
  { view: 'changeRequests', filter: { service: 'svc-1', limit: 3 } },
  { view: 'changeRequests', filter: { status: 'awaiting_approval' } },
  { view: 'pendingApprovals' },
  { view: 'pendingApprovals', filter: { role: 'sre' } },
  { view: 'schedule' },
  { view: 'versions' },
  { view: 'activeDeployments' },
  ...[0, 3, 7, 12].map((n) => ({ view: 'changeHistory', filter: { changeRequestId: `cr-${n}` } })),
];

interface StoreUnderTest {
  name: string;
  open(): Promise<AuditableEventStore>;
  /** The store again over the same database (a restarted process), or the same PGlite instance. */
  reopen(store: AuditableEventStore): Promise<AuditableEventStore>;
  cleanup(): Promise<void>;
}

const pglite = (): StoreUnderTest => ({
  name: 'PGlite',
  open: () => createPgliteEventStore(),
  // One PGlite instance is the database: a restarted service gets the store over the same instance.
  reopen: async (store) => store,
  cleanup: async () => {},
});

const postgresql = (): StoreUnderTest => {
  const schema = isolatedSchema('readmodels');
  const stores: AuditableEventStore[] = [];
  const open = async () => {
    const store = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name, maxConnections: 4 });
    stores.push(store);
    return store;
  };
  return { name: 'PostgreSQL', open, reopen: open, cleanup: async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    await schema.drop();
  } };
};

const kinds = [pglite, ...(postgres.available ? [postgresql] : [])];

describe.each(kinds)('read models in tables with a checkpoint (%p)', (kind) => {
  let under: StoreUnderTest;
  let store: AuditableEventStore;
  const hosts: EmbeddedHost[] = [];
  const clock = settableClock('2026-11-24T09:00:00Z');

  async function start(over: AuditableEventStore = store): Promise<EmbeddedHost> {
    const policies = await PolicyRegistry.activateFromDirectory(over, POLICIES, clock);
    const host = await startEmbeddedServices([projectionsService], { store: over, clock, policies, logger: quietLogger, tickIntervalMs: 10 });
    hosts.push(host);
    return host;
  }
  async function stop(host: EmbeddedHost): Promise<void> {
    hosts.splice(hosts.indexOf(host), 1);
    await host.stop();
  }
  const folded = async (host: EmbeddedHost): Promise<number> => (await host.metrics.getSingleMetricAsString('gatehouse_projections_events_applied_total')).split('\n').filter((l) => !l.startsWith('#')).reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
  const query = <T = unknown>(host: EmbeddedHost, payload: unknown) => host.commandsAs({ subject: 'ops', roles: ['sre'] }).send<ProjectionQueryResult<T>>('projections', 'query', payload);
  const answers = async (host: EmbeddedHost) => Promise.all(QUERIES.map((q) => query(host, q)));
  /** A model folded here from the whole log, in memory. */
  async function foldedLog() {
    const model = initialReadModel();
    for await (const event of store.readAll()) evolveReadModel(model, event);
    return model;
  }
  /** The same queries on a model folded here from the whole log, in memory. */
  async function expected(): Promise<ProjectionQueryResult[]> {
    const model = await foldedLog();
    return Promise.all(QUERIES.map(async (q) => structuredClone(await answerQuery(model, store, ProjectionQueryPayload.parse(q)))));
  }
  const head = async (): Promise<bigint> => {
    let last = 0n;
    for await (const event of store.readAll({ after: 0n })) last = event.globalPosition;
    return last;
  };
  async function waitCaughtUp(host: EmbeddedHost): Promise<void> {
    const target = await head();
    const deadline = Date.now() + 10_000;
    while (BigInt((await query(host, { view: 'versions' })).asOfPosition) < target) {
      if (Date.now() > deadline) throw new Error('the read models did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const sql = (): SqlQueryable => store.sql!.executor;
  const rmSchema = () => `"${store.sql!.schema}_projections"`;
  const checkpoint = async () => (await sql().query<{ version: number; generation: number; position: string }>(`SELECT version, generation, position FROM ${rmSchema()}.read_models`))[0];
  /** The checkpoint once it reached the log's head (it is written just after the events are folded). */
  async function settledCheckpoint(): Promise<{ version: number; generation: number; position: string }> {
    const target = String(await head());
    const deadline = Date.now() + 10_000;
    for (;;) {
      const current = await checkpoint();
      if (current?.position === target) return current;
      if (Date.now() > deadline) throw new Error(`the checkpoint stayed at ${current?.position}, not ${target}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  const changeRows = async (generation: number) => Number((await sql().query<{ n: string }>(`SELECT count(*) AS n FROM ${rmSchema()}.change_request_g${generation}`))[0]!.n);

  beforeEach(async () => {
    under = kind();
    store = await under.open();
  });
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
    await store.close();
    await under.cleanup();
  });

  it(`${kind().name}: a restart folds only the events after the checkpoint and answers as a fold of the whole log`, async () => {
    const first = await appendChanges(store, 0, 10);
    const host = await start();
    expect(await folded(host)).toBeGreaterThanOrEqual(first);
    expect(await answers(host)).toEqual(await expected());
    const before = await checkpoint();
    expect(before).toMatchObject({ version: READ_MODEL_VERSION, generation: 1, position: String(await head()) });
    // Followed live: written with their checkpoint as they are folded.
    await appendChanges(store, 10, 14);
    await waitCaughtUp(host);
    await settledCheckpoint();
    await stop(host);

    const later = await appendChanges(store, 14, 20);
    const restartedStore = await under.reopen(store);
    const restarted = await start(restartedStore);
    // Exactly the events appended while it was down (the policy activation of a restart appends none: same files).
    expect(await folded(restarted)).toBe(later);
    expect(await answers(restarted)).toEqual(await expected());
  });

  it(`${kind().name}: a process that dies mid-batch leaves the tables as of the checkpoint; the batch is folded once after restart`, async () => {
    await appendChanges(store, 0, 6);
    const host = await start();
    // Everything before the crash is folded, the policy activation `start` appended included (a neighbour's open
    // transaction can hold it back from the log readers a moment): then only the batch after it is missed.
    await visibleHead(store);
    await waitCaughtUp(host);
    await settledCheckpoint();
    await stop(host);
    const before = await checkpoint();
    const changesBefore = await changeRows(before!.generation);
    const missed = await appendChanges(store, 6, 12);

    // The next process writes part of its batch, then dies before COMMIT (the third statement of its transaction
    // fails: the checkpoint and the change rows are written by then).
    const dying = await under.reopen(store);
    const executor = dying.sql!.executor;
    const crashing: AuditableEventStore = Object.create(dying, {
      sql: {
        value: {
          schema: dying.sql!.schema,
          executor: {
            ...executor,
            query: executor.query.bind(executor),
            queryArrays: executor.queryArrays.bind(executor),
            exec: executor.exec.bind(executor),
            transaction: <T>(work: (tx: SqlQueryable) => Promise<T>) =>
              executor.transaction((tx) => {
                let statements = 0;
                return work({
                  ...tx,
                  query: async (text: string, params?: readonly unknown[]) => {
                    if (++statements === 3) throw new Error('killed mid-batch');
                    return tx.query(text, params);
                  },
                  queryArrays: tx.queryArrays.bind(tx),
                  exec: tx.exec.bind(tx),
                });
              }),
          },
        },
      },
    });
    await expect(start(crashing)).rejects.toThrow('killed mid-batch');
    expect(await checkpoint()).toEqual(before);
    expect(await changeRows(before!.generation)).toBe(changesBefore);

    const restarted = await start(await under.reopen(store));
    expect(await folded(restarted)).toBe(missed);
    expect(await answers(restarted)).toEqual(await expected());
    // No change row twice, none missing.
    expect(await changeRows(before!.generation)).toBe([...(await foldedLog()).changeRequests.values()].length);
  });

  it(`${kind().name}: a rebuild on demand equals the incremental result, swaps the tables and answers meanwhile`, async () => {
    await appendChanges(store, 0, 8);
    const host = await start();
    await appendChanges(store, 8, 16);
    await waitCaughtUp(host);
    const incremental = await answers(host);
    const before = await settledCheckpoint();

    const sre = host.commandsAs({ subject: 'sam', roles: ['sre'] });
    const [report, during] = await Promise.all([sre.send<{ events: number; position: string; generation: number; requestedBy: string }>('projections', 'rebuild', {}), query(host, { view: 'changeRequests' })]);
    expect(during.items.length).toBeGreaterThan(0);
    expect(report).toMatchObject({ position: before!.position, generation: before!.generation + 1, requestedBy: 'sam' });
    expect(report.events).toBeGreaterThanOrEqual(Number(before!.position) - 1);
    expect(await answers(host)).toEqual(incremental);
    expect(await checkpoint()).toEqual({ ...before, generation: before!.generation + 1 });
    const tables = await sql().query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%\\_g%' ORDER BY tablename`, [`${store.sql!.schema}_projections`]);
    expect(new Set(tables.map((t) => t.tablename.split('_g').at(-1)))).toEqual(new Set([String(before!.generation + 1)]));

    // It goes on following the log from the rebuilt tables, and a restart loads them.
    await appendChanges(store, 16, 18);
    await waitCaughtUp(host);
    await settledCheckpoint();
    await stop(host);
    const restarted = await start(await under.reopen(store));
    expect(await folded(restarted)).toBe(0);
    expect(await answers(restarted)).toEqual(await expected());
  });

  it(`${kind().name}: a rebuild over more than one write batch loads every row once, as a fold in memory holds them`, async () => {
    // Keyed rows are loaded at the end, REBUILD_ROWS_PER_STATEMENT rows per COPY.
    expect(await appendChanges(store, 0, 700)).toBeGreaterThan(WRITE_BATCH_EVENTS);
    const tables = new ReadModelTables(store.sql!);
    const rebuilt = await tables.rebuild(store, (model, event) => void evolveReadModel(model, event), await tables.state());
    const loaded = await tables.load(rebuilt.state);
    const folded = await foldedLog();
    expect(loaded.position).toBe(folded.position);
    for (const q of QUERIES.map((q) => ProjectionQueryPayload.parse(q))) {
      if (q.view !== 'changeHistory') expect(structuredClone(queryReadModel(loaded, q))).toEqual(structuredClone(queryReadModel(folded, q)));
    }
    expect(await changeRows(rebuilt.state.generation)).toBe([...folded.changeRequests.values()].length);
  });

  it(`${kind().name}: refuses a rebuild to a caller without an operator role, or with a payload, and rebuilds nothing`, async () => {
    await appendChanges(store, 0, 2);
    const host = await start();
    const before = await checkpoint();
    await expect(host.commandsAs({ subject: 'dev', roles: ['developer'] }).send('projections', 'rebuild', {})).rejects.toMatchObject({ remoteName: 'RebuildForbiddenError', message: expect.stringContaining('sre, release_engineer') });
    const invalid = (await host.commandsAs({ subject: 'sam', roles: ['sre'] }).send('projections', 'rebuild', { from: 0 }).catch((e: unknown) => e)) as { remoteName: string; details: unknown };
    expect(invalid.remoteName).toBe('ValidationError');
    expect(JSON.stringify(invalid.details)).toContain('from');
    expect(await checkpoint()).toEqual(before);
    expect(await folded(host)).toBe(Number(before!.position));
  });

  it(`${kind().name}: tables of another read-model version are rebuilt at start`, async () => {
    const events = await appendChanges(store, 0, 6);
    const host = await start();
    await stop(host);
    // As left by a projection of an earlier version.
    await sql().query(`UPDATE ${rmSchema()}.read_models SET version = version - 1`);
    const restarted = await start(await under.reopen(store));
    expect(await folded(restarted)).toBeGreaterThanOrEqual(events);
    expect(await checkpoint()).toMatchObject({ version: READ_MODEL_VERSION, generation: 2 });
    expect(await answers(restarted)).toEqual(await expected());
  });
});
