/**
 * One behavioural contract run against every adapter (PostgreSQL, PGlite, in-memory).
 * Each test writes to its own fresh stream ids and event types, so one store instance per
 * suite is enough (PGlite takes seconds to start).
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, StoreClosedError, WrongExpectedVersionError } from '../errors.js';
import { GENESIS_HASH } from '../hashing.js';
import { sealOnce, startSealer } from '../sealer.js';
import { ANY, NO_STREAM, STREAM_EXISTS, type AuditableEventStore, type ReadAllOptions, type StoredEvent } from '../types.js';
import { recomputeEventHash, verifyEventLog } from '../verify.js';

export interface ContractFixture {
  store: AuditableEventStore;
  /** Closes the store and removes what the suite created. */
  teardown(): Promise<void>;
  /** Opens a second store over the same data (another process after a restart); absent for in-memory. */
  reopen?: () => Promise<AuditableEventStore>;
}

/** Poll interval and patience for reads that may be held back by another suite's open transaction. */
const EVENTUALLY_INTERVAL_MS = 20;
const EVENTUALLY_TIMEOUT_MS = 10_000;

const uniqueId = (prefix: string): string => `${prefix}-${randomUUID()}`;
const event = (type: string, data: unknown = { n: 1 }, metadata = {}) => ({ type, data, metadata });

async function collect(iterable: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const e of iterable) events.push(e);
  return events;
}

/**
 * readAll holds back at the oldest open transaction in the whole cluster, which may belong
 * to a suite running in parallel: wait until the expected number of events is visible.
 */
async function readAllEventually(store: AuditableEventStore, options: ReadAllOptions, expectedCount: number): Promise<StoredEvent[]> {
  const deadline = Date.now() + EVENTUALLY_TIMEOUT_MS;
  for (;;) {
    const events = await collect(store.readAll(options));
    if (events.length >= expectedCount || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, EVENTUALLY_INTERVAL_MS));
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, EVENTUALLY_INTERVAL_MS));
  }
}

async function eventually(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, EVENTUALLY_INTERVAL_MS));
  }
}

async function expectWrongVersion(promise: Promise<unknown>, expected: unknown, actual: bigint | undefined): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  expect(error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', expectedVersion: expected, actualVersion: actual });
}

export function runEventStoreContract(name: string, createFixture: () => Promise<ContractFixture>): void {
  describe(`EventStore contract: ${name}`, () => {
    let fixture: ContractFixture;
    let store: AuditableEventStore;

    beforeAll(async () => {
      fixture = await createFixture();
      store = fixture.store;
    });
    afterAll(async () => {
      await fixture?.teardown();
    });

    describe('append and readStream', () => {
      it('stores events with versions from 0, ids, data, metadata and a timestamp', async () => {
        const streamId = uniqueId('order');
        const given = randomUUID();
        const before = Date.now();
        const result = await store.appendToStream(streamId, [
          { id: given, type: 'OrderPlaced', data: { total: 10, lines: [{ sku: 'a' }] }, metadata: { actor: 'ann', correlationId: 'c1' } },
          event('OrderPaid', { total: 10 }),
        ]);
        expect(result.nextExpectedVersion).toBe(1n);
        expect(result.events.map((e) => e.streamVersion)).toEqual([0n, 1n]);
        expect(result.lastGlobalPosition).toBe(result.events[1]?.globalPosition);

        const read = await store.readStream(streamId);
        expect(read).toEqual(result.events);
        expect(read[0]).toMatchObject({
          id: given,
          type: 'OrderPlaced',
          streamId,
          data: { total: 10, lines: [{ sku: 'a' }] },
          metadata: { actor: 'ann', correlationId: 'c1' },
        });
        expect(read[1]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(read[0]?.recordedAt.getTime()).toBeGreaterThanOrEqual(before - 1);
        expect(read[0]!.globalPosition < read[1]!.globalPosition).toBe(true);
      });

      it('returns an empty list for a stream that does not exist', async () => {
        expect(await store.readStream(uniqueId('missing'))).toEqual([]);
      });

      it('reads from a version and at most maxCount events', async () => {
        const streamId = uniqueId('paged');
        await store.appendToStream(streamId, [event('A'), event('B'), event('C'), event('D')]);
        const read = await store.readStream(streamId, { fromVersion: 1n, maxCount: 2 });
        expect(read.map((e) => [e.streamVersion, e.type])).toEqual([
          [1n, 'B'],
          [2n, 'C'],
        ]);
      });
    });

    describe('expected versions', () => {
      it('NO_STREAM: accepts a new stream, refuses an existing one with its actual version', async () => {
        const streamId = uniqueId('nostream');
        await store.appendToStream(streamId, [event('A')], { expectedVersion: NO_STREAM });
        await expectWrongVersion(store.appendToStream(streamId, [event('B')], { expectedVersion: NO_STREAM }), NO_STREAM, 0n);
      });

      it('STREAM_EXISTS: refuses a missing stream, accepts an existing one', async () => {
        const streamId = uniqueId('exists');
        await expectWrongVersion(store.appendToStream(streamId, [event('A')], { expectedVersion: STREAM_EXISTS }), STREAM_EXISTS, undefined);
        expect(await store.readStream(streamId)).toEqual([]);
        await store.appendToStream(streamId, [event('A')]);
        const result = await store.appendToStream(streamId, [event('B')], { expectedVersion: STREAM_EXISTS });
        expect(result.nextExpectedVersion).toBe(1n);
      });

      it('ANY: appends whatever the stream state', async () => {
        const streamId = uniqueId('any');
        await store.appendToStream(streamId, [event('A')], { expectedVersion: ANY });
        const result = await store.appendToStream(streamId, [event('B')], { expectedVersion: ANY });
        expect(result.nextExpectedVersion).toBe(1n);
      });

      it('exact version: appends when it matches; otherwise names stream, expected and actual and writes nothing', async () => {
        const streamId = uniqueId('exact');
        await store.appendToStream(streamId, [event('A'), event('B')]);
        await expectWrongVersion(store.appendToStream(streamId, [event('C'), event('D')], { expectedVersion: 0n }), 0n, 1n);
        await expectWrongVersion(store.appendToStream(uniqueId('exact-missing'), [event('C')], { expectedVersion: 0n }), 0n, undefined);
        expect((await store.readStream(streamId)).map((e) => e.type)).toEqual(['A', 'B']);
        const result = await store.appendToStream(streamId, [event('C')], { expectedVersion: 1n });
        expect(result.nextExpectedVersion).toBe(2n);
        const error = await store.appendToStream(streamId, [event('X')], { expectedVersion: 7n }).catch((e: unknown) => e);
        expect(error).toMatchObject({ streamId, expectedVersion: 7n, actualVersion: 2n });
      });
    });

    describe('validation (nothing is written)', () => {
      const invalidAppends: [string, string, () => Parameters<AuditableEventStore['appendToStream']>[1]][] = [
        ['an empty type', 'events[0].type', () => [event('')]],
        ['a non-UUID id', 'events[0].id', () => [{ id: 'not-a-uuid', type: 'A', data: {} }]],
        ['bigint data', 'events[1].data.amount', () => [event('A'), event('B', { amount: 1n })]],
        ['NaN data', 'events[0].data.ratio', () => [event('A', { ratio: Number.NaN })]],
        ['a function in data', 'events[0].data.f', () => [event('A', { f: () => 1 })]],
        ['undefined data', 'events[0].data', () => [{ type: 'A', data: undefined }]],
        ['a NUL character', 'events[0].data.s', () => [event('A', { s: 'a\u0000b' })]],
        ['no events', 'events', () => []],
      ];
      it.each(invalidAppends)('refuses %s, naming %s', async (_what, field, events) => {
        const streamId = uniqueId('invalid');
        const error = await store.appendToStream(streamId, events()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field });
        expect(await store.readStream(streamId)).toEqual([]);
      });

      it('refuses circular data', async () => {
        const circular: Record<string, unknown> = {};
        circular['self'] = circular;
        await expect(store.appendToStream(uniqueId('invalid'), [event('A', circular)])).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('refuses an empty stream id', async () => {
        await expect(store.appendToStream('', [event('A')])).rejects.toMatchObject({ field: 'streamId' });
        await expect(store.appendToStream('  ', [event('A')])).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('refuses an event id that is already stored, writing none of the batch', async () => {
        const id = randomUUID();
        await store.appendToStream(uniqueId('dup'), [{ id, type: 'A', data: {} }]);
        const streamId = uniqueId('dup');
        await expect(store.appendToStream(streamId, [event('B'), { id, type: 'A', data: {} }])).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await store.readStream(streamId)).toEqual([]);
      });
    });

    describe('hash chain', () => {
      it('chains each event to the previous one of its stream, starting from 64 zeros', async () => {
        const streamId = uniqueId('chain');
        await store.appendToStream(streamId, [event('A', { x: 1 })]);
        await store.appendToStream(uniqueId('other'), [event('A', { x: 1 })]);
        await store.appendToStream(streamId, [event('B', { y: [1, 2] }), event('C', { z: 'é' })]);
        const events = await store.readStream(streamId);
        expect(events[0]?.previousHash).toBe(GENESIS_HASH);
        for (let i = 1; i < events.length; i++) expect(events[i]?.previousHash).toBe(events[i - 1]?.hash);
        for (const e of events) {
          expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
          expect(recomputeEventHash(e)).toBe(e.hash);
        }
        expect(new Set(events.map((e) => e.hash)).size).toBe(3);
      });

      it('hashes the content: the same data in another stream gives another hash', async () => {
        const [a] = (await store.appendToStream(uniqueId('h'), [event('A', { same: true })])).events;
        const [b] = (await store.appendToStream(uniqueId('h'), [event('A', { same: true })])).events;
        expect(a?.hash).not.toBe(b?.hash);
        expect(recomputeEventHash({ ...a!, data: { same: false } })).not.toBe(a?.hash);
      });
    });

    describe('readAll', () => {
      it('returns every committed event after a position, in commit order, across batches', async () => {
        const type = uniqueId('Ordered');
        const marker = await store.appendToStream(uniqueId('marker'), [event('Marker')]);
        const s1 = uniqueId('ra');
        const s2 = uniqueId('ra');
        const appended: StoredEvent[] = [];
        appended.push(...(await store.appendToStream(s1, [event(type), event(type)])).events);
        appended.push(...(await store.appendToStream(s2, [event(type)])).events);
        appended.push(...(await store.appendToStream(s1, [event(type), event(type)])).events);

        const read = await readAllEventually(store, { after: marker.lastGlobalPosition, batchSize: 2, eventTypes: [type] }, 5);
        expect(read.map((e) => e.id)).toEqual(appended.map((e) => e.id));
        expect(read).toEqual(appended);
        const unfiltered = await readAllEventually(store, { after: marker.lastGlobalPosition, batchSize: 3 }, 5);
        expect(unfiltered.filter((e) => e.type === type).map((e) => e.globalPosition)).toEqual(appended.map((e) => e.globalPosition));
      });

      it('stops at untilPosition and untilRecordedAt, and filters by event type', async () => {
        const typeA = uniqueId('TypeA');
        const typeB = uniqueId('TypeB');
        const first = await store.appendToStream(uniqueId('until'), [event(typeA), event(typeB)]);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const second = await store.appendToStream(uniqueId('until'), [event(typeA), event(typeB)]);
        const types = [typeA, typeB];
        const all = await readAllEventually(store, { eventTypes: types }, 4);
        expect(all).toHaveLength(4);

        const asOfPosition = await collect(store.readAll({ eventTypes: types, untilPosition: first.lastGlobalPosition }));
        expect(asOfPosition.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
        const asOfTime = await collect(store.readAll({ eventTypes: types, untilRecordedAt: first.events[0]!.recordedAt }));
        expect(asOfTime.map((e) => e.id)).toEqual(first.events.map((e) => e.id));
        const onlyB = await collect(store.readAll({ eventTypes: [typeB] }));
        expect(onlyB.map((e) => e.id)).toEqual([first.events[1]!.id, second.events[1]!.id]);
      });

      it('resumes after any returned position without repeating or skipping', async () => {
        const type = uniqueId('Resume');
        const appended = (await store.appendToStream(uniqueId('resume'), [event(type), event(type), event(type), event(type)])).events;
        await readAllEventually(store, { eventTypes: [type] }, 4);
        const rest = await collect(store.readAll({ after: appended[1]!.globalPosition, eventTypes: [type] }));
        expect(rest.map((e) => e.id)).toEqual([appended[2]!.id, appended[3]!.id]);
      });

      it('lets a consumer stop early and iterate again', async () => {
        const type = uniqueId('Early');
        await store.appendToStream(uniqueId('early'), [event(type), event(type), event(type)]);
        await readAllEventually(store, { eventTypes: [type] }, 3);
        const iterable = store.readAll({ eventTypes: [type], batchSize: 1 });
        const firstTwo: StoredEvent[] = [];
        for await (const e of iterable) {
          firstTwo.push(e);
          if (firstTwo.length === 2) break;
        }
        expect(firstTwo).toHaveLength(2);
        expect(await collect(iterable)).toHaveLength(3);
      });

      it('refuses bad options', async () => {
        await expect(collect(store.readAll({ batchSize: 0 }))).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(collect(store.readAll({ after: -1n }))).rejects.toBeInstanceOf(InvalidArgumentError);
      });
    });

    describe('checkpoints and subscribe', () => {
      it('stores and reads named checkpoints', async () => {
        const name = uniqueId('cp');
        expect(await store.readCheckpoint(name)).toBeUndefined();
        await store.storeCheckpoint(name, 42n);
        await store.storeCheckpoint(name, 43n);
        expect(await store.readCheckpoint(name)).toBe(43n);
      });

      it('catches up, goes live, checkpoints, and resumes after the checkpoint without redelivery', async () => {
        const subscriptionId = uniqueId('sub');
        const streamId = uniqueId('live');
        await store.appendToStream(streamId, [event('Before1'), event('Before2')]);
        const seen: StoredEvent[] = [];
        const subscription = store.subscribe((e) => void seen.push(e), { subscriptionId, batchSize: 3, pollIntervalMs: 10 });
        await until(() => seen.filter((e) => e.streamId === streamId).length === 2, 'catch-up');
        await store.appendToStream(streamId, [event('Live')]);
        await until(() => seen.filter((e) => e.streamId === streamId).length === 3, 'live delivery');
        await subscription.stop();
        await subscription.done;

        const mine = seen.filter((e) => e.streamId === streamId);
        expect(mine.map((e) => e.type)).toEqual(['Before1', 'Before2', 'Live']);
        const positions = seen.map((e) => e.globalPosition);
        expect(new Set(positions).size).toBe(positions.length);
        expect(await store.readCheckpoint(subscriptionId)).toBe(seen[seen.length - 1]!.globalPosition);

        await store.appendToStream(streamId, [event('AfterRestart')]);
        const resumed: StoredEvent[] = [];
        const again = store.subscribe((e) => void resumed.push(e), { subscriptionId, pollIntervalMs: 10 });
        await until(() => resumed.some((e) => e.streamId === streamId), 'resumed delivery');
        await again.stop();
        expect(resumed.filter((e) => e.streamId === streamId).map((e) => e.type)).toEqual(['AfterRestart']);
        expect(resumed.some((e) => positions.includes(e.globalPosition))).toBe(false);
      });

      it('a throwing handler rejects done and leaves the checkpoint at the last fully handled event', async () => {
        const subscriptionId = uniqueId('failing');
        const streamId = uniqueId('poison');
        await store.appendToStream(streamId, [event('Ok'), event('Ok'), event('Poison'), event('Ok')]);
        let lastHandled: bigint | undefined;
        const subscription = store.subscribe(
          (e) => {
            if (e.streamId === streamId && e.type === 'Poison') throw new Error('handler failed on purpose');
            lastHandled = e.globalPosition;
          },
          { subscriptionId, batchSize: 1_000, pollIntervalMs: 10 },
        );
        await expect(subscription.done).rejects.toThrow('handler failed on purpose');
        const events = await store.readStream(streamId);
        expect(lastHandled).toBe(events[1]!.globalPosition);
        expect(await store.readCheckpoint(subscriptionId)).toBe(events[1]!.globalPosition);
        await subscription.stop();
      });
    });

    describe('watchAppends', () => {
      /** Watches, recording for each call how many of the stream's events were readable by then. */
      async function watch(streamId: string) {
        const calls: Promise<number>[] = [];
        const stop = await store.watchAppends!(() => {
          calls.push(store.readStream(streamId).then((events) => events.length));
        });
        // Earlier calls may be other appends' wake-ups: some call must have seen the events.
        const sawEvents = async (count: number): Promise<boolean> => (await Promise.all(calls)).some((seen) => seen >= count);
        return { calls, stop, sawEvents };
      }

      it('wakes a watcher after an append committed, until it stops watching', async () => {
        const streamId = uniqueId('watched');
        const stopping = await watch(streamId);
        const staying = await watch(streamId);
        try {
          await store.appendToStream(streamId, [event('A')]);
          await eventually(() => stopping.sawEvents(1), 'a wake-up that sees the appended event');

          await stopping.stop();
          await stopping.stop();
          const callsWhenStopped = stopping.calls.length;
          await store.appendToStream(streamId, [event('B')]);
          await eventually(() => staying.sawEvents(2), 'the other watcher to be woken after the second append');
          // The stopped watcher would have been called by the same notification as the other one.
          await new Promise((resolve) => setTimeout(resolve, EVENTUALLY_INTERVAL_MS));
          expect(stopping.calls).toHaveLength(callsWhenStopped);
        } finally {
          await staying.stop();
          await stopping.stop();
        }
      });

      it('wakes a watcher for appends through another store over the same data', async () => {
        if (fixture.reopen === undefined) return;
        const streamId = uniqueId('watched-elsewhere');
        const watcher = await watch(streamId);
        const other = await fixture.reopen();
        try {
          await other.appendToStream(streamId, [event('A')]);
          await eventually(() => watcher.sawEvents(1), "a wake-up for the other store's append");
        } finally {
          await other.close();
          await watcher.stop();
        }
      });
    });

    describe('seals and verification', () => {
      it('seals the global chain and verifies a clean log', async () => {
        await store.appendToStream(uniqueId('sealed'), [event('A'), event('B'), event('C')]);
        const pass = await sealOnce(store, 2);
        expect(pass.sealsWritten).toBeGreaterThanOrEqual(1);
        const again = await sealOnce(store, 2);
        expect(again.sealsWritten).toBe(0);
        const seals = await store.readSeals();
        expect(seals.map((s) => s.sealNumber)).toEqual(seals.map((_, i) => BigInt(i)));

        const result = await verifyEventLog(store);
        expect(result).toMatchObject({ ok: true, sealsChecked: seals.length });
        if (result.ok) expect(BigInt(result.eventsChecked)).toBe(seals[seals.length - 1]!.eventsSealed);
      });
    });

    describe('background sealer', () => {
      it('seals new events on its interval and stops cleanly', async () => {
        const errors: unknown[] = [];
        const sealer = startSealer(store, { intervalMs: 20, eventsPerSeal: 1_000, onError: (e) => errors.push(e) });
        try {
          const { lastGlobalPosition } = await store.appendToStream(uniqueId('bg'), [event('A')]);
          const deadline = Date.now() + EVENTUALLY_TIMEOUT_MS;
          for (;;) {
            const seals = await store.readSeals();
            if (seals.some((seal) => seal.position >= lastGlobalPosition)) break;
            if (Date.now() > deadline) throw new Error('no seal covered the new event');
            await new Promise((resolve) => setTimeout(resolve, EVENTUALLY_INTERVAL_MS));
          }
        } finally {
          await sealer.stop();
        }
        expect(errors).toEqual([]);
        expect(await verifyEventLog(store)).toMatchObject({ ok: true });
      });
    });

    describe('known stream heads (appends that skip reading the head)', () => {
      it('refuses an append on a head another store moved past, writes nothing, and chains verifiably after a re-read', async () => {
        if (fixture.reopen === undefined) return;
        const streamId = uniqueId('stale-head');
        await store.appendToStream(streamId, [event('A'), event('B')], { expectedVersion: NO_STREAM });
        expect((await store.readStream(streamId)).map((e) => e.streamVersion)).toEqual([0n, 1n]);
        const other = await fixture.reopen();
        try {
          await other.appendToStream(streamId, [event('C')], { expectedVersion: 1n });
          // `store` last saw version 1: one event and several, both refused with the actual version.
          await expectWrongVersion(store.appendToStream(streamId, [event('X')], { expectedVersion: 1n }), 1n, 2n);
          await expectWrongVersion(store.appendToStream(streamId, [event('X'), event('Y')], { expectedVersion: 1n }), 1n, 2n);
          expect((await other.readStream(streamId)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
          const seen = await store.readStream(streamId);
          await store.appendToStream(streamId, [event('D'), event('E')], { expectedVersion: 2n });
          await store.appendToStream(streamId, [event('F')], { expectedVersion: 4n });
          await other.appendToStream(streamId, [event('G')], { expectedVersion: 5n });
          expect(seen).toHaveLength(3);
        } finally {
          await other.close();
        }
        const events = await store.readStream(streamId);
        expect(events.map((e) => e.type)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
        let previous = GENESIS_HASH;
        for (const e of events) {
          expect(e.previousHash).toBe(previous);
          expect(recomputeEventHash(e)).toBe(e.hash);
          previous = e.hash;
        }
      });
    });

    describe('lifecycle', () => {
      it('migrate() is idempotent', async () => {
        await store.migrate();
        await store.migrate();
        expect(await store.readStream(uniqueId('x'))).toEqual([]);
      });

      it('another store over the same data sees the same log', async () => {
        if (fixture.reopen === undefined) return;
        const streamId = uniqueId('reopen');
        await store.appendToStream(streamId, [event('A')]);
        const other = await fixture.reopen();
        try {
          expect((await other.readStream(streamId)).map((e) => e.type)).toEqual(['A']);
        } finally {
          await other.close();
        }
      });
    });
  });
}

/** Closing is terminal: every later call fails with StoreClosedError. */
export function runClosedStoreContract(name: string, create: () => Promise<AuditableEventStore>): void {
  it(`${name}: refuses use after close()`, async () => {
    const store = await create();
    await store.close();
    await store.close();
    await expect(store.appendToStream('s', [event('A')])).rejects.toBeInstanceOf(StoreClosedError);
    await expect(store.readStream('s')).rejects.toBeInstanceOf(StoreClosedError);
    await expect(collect(store.readAll())).rejects.toBeInstanceOf(StoreClosedError);
    await expect(store.watchAppends!(() => undefined)).rejects.toBeInstanceOf(StoreClosedError);
  });
}
