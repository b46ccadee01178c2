import pg from 'pg';
import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { appendsChannel } from '../sql/schema.js';
import type { AuditableEventStore } from '../types.js';
import { createPostgresEventStore } from './createPostgresEventStore.js';
import { LISTEN_RETRY_MAX_DELAY_MS } from './listenConnection.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Wake-ups across processes are PostgreSQL LISTEN/NOTIFY on a connection of its own, which must survive being cut. */
describePostgres('PostgreSQL watchAppends', () => {
  const schema = isolatedSchema('es_watch', postgres.url);
  const channel = appendsChannel(schema.name);
  let writer: AuditableEventStore;
  let watcher: AuditableEventStore;
  let admin: pg.Client;

  const listeningBackends = async (): Promise<number[]> =>
    (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE query = $1', [`LISTEN ${channel}`])).rows.map((row) => row.pid);

  beforeAll(async () => {
    // Two stores with their own pools: as good as two processes for LISTEN/NOTIFY.
    writer = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name });
    watcher = await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name, migrate: false });
    admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
  });

  afterAll(async () => {
    await writer?.close();
    await watcher?.close();
    await admin?.end();
    await schema.drop();
  });

  it('lets a lone writer read its own appends with readAll as soon as append returns (the NOTIFY does not hold them back)', async () => {
    const read = async (after: bigint): Promise<bigint[]> => {
      const seen: bigint[] = [];
      for await (const event of writer.readAll({ after })) seen.push(event.globalPosition);
      return seen;
    };
    /** Write transactions open on the server now, by what they run (readAll waits for every one, in any database). */
    const openWriters = async (): Promise<string[]> =>
      (await admin.query<{ query: string }>('SELECT query FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()')).rows.map((row) => row.query);
    /** Rounds held back while no other writer was open when looked at (it may have ended meanwhile, or it was ours). */
    let heldBackUnexplained = 0;
    for (let i = 0; i < 30; i++) {
      // Back-to-back appends: the second commits while the first one's NOTIFY may still be open.
      const first = await writer.appendToStream(`ryw-${i}-a`, [{ type: 'Written', data: { i } }]);
      const second = await writer.appendToStream(`ryw-${i}-b`, [{ type: 'Written', data: { i } }]);
      const third = await writer.appendToStream(`ryw-${i}-c`, [{ type: 'Written', data: { i } }]);
      const expected = [first.lastGlobalPosition, second.lastGlobalPosition, third.lastGlobalPosition];
      const seen = await read(first.lastGlobalPosition - 1n);
      if (seen.length < expected.length) {
        // A transaction of another suite running at the same time on the same server (CI runs two projects at
        // once) holds readAll back as any open writer does. This store's own NOTIFY must never be the one.
        const writers = await openWriters();
        expect(writers.filter((query) => query.includes(channel))).toEqual([]);
        if (writers.length === 0) heldBackUnexplained += 1;
        await until(async () => (await read(first.lastGlobalPosition - 1n)).length === expected.length, 'the appends once the other transactions ended');
      }
      expect(await read(first.lastGlobalPosition - 1n)).toEqual(expected);
    }
    // Alone on the server, none is held back; a NOTIFY that held them back would hold back nearly every round,
    // with no other writer to explain it.
    expect(heldBackUnexplained).toBeLessThan(10);
  });

  it('opens one listening connection for all watchers of a store, and closes it with the last one', async () => {
    const stops = await Promise.all([watcher.watchAppends!(() => undefined), watcher.watchAppends!(() => undefined)]);
    expect(await listeningBackends()).toHaveLength(1);
    await stops[0]!();
    expect(await listeningBackends()).toHaveLength(1);
    await stops[1]!();
    await until(async () => (await listeningBackends()).length === 0, 'the listening connection to close');
  });

  it('coalesces the wake-ups of concurrent appends', async () => {
    let wakeUps = 0;
    const stop = await watcher.watchAppends!(() => (wakeUps += 1));
    try {
      const appends = 200;
      await Promise.all(Array.from({ length: appends }, (_, i) => writer.appendToStream(`coalesce-${i % 20}`, [{ type: 'Counted', data: { i } }])));
      await until(() => wakeUps > 0, 'a wake-up');
      // Every append is followed by a NOTIFY, but appends that commit while one is on its way share the next.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(wakeUps).toBeLessThan(appends);
    } finally {
      await stop();
    }
  });

  it('re-establishes a killed listening connection, wakes the watcher for what it missed, and reports the loss', async () => {
    let wakeUps = 0;
    const errors: unknown[] = [];
    const stop = await watcher.watchAppends!(() => (wakeUps += 1), { onError: (error) => errors.push(error) });
    try {
      const [pid] = await listeningBackends();
      expect(pid).toBeDefined();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(() => errors.length > 0, 'the loss to be reported');
      // An append while nobody listens: its NOTIFY is lost, the wake-up on reconnect stands for it.
      await writer.appendToStream('while-disconnected', [{ type: 'Missed', data: {} }]);
      await until(() => wakeUps > 0, 'the wake-up after reconnecting', LISTEN_RETRY_MAX_DELAY_MS * 2);
      await until(async () => (await listeningBackends()).some((listening) => listening !== pid), 'a new listening connection');

      const before = wakeUps;
      await writer.appendToStream('after-reconnect', [{ type: 'Seen', data: {} }]);
      await until(() => wakeUps > before, 'a wake-up on the new connection');
    } finally {
      await stop();
    }
  });
});
