import { settableClock, type EffectProtocol, type OpenIntent } from '@gatehouse/domain';
import { createInMemoryEventStore, type EventStore } from '@gatehouse/eventstore';
import { createEffectRunner, type EffectPort, PermanentEffectError } from './effect-runner.js';

/**
 * A tiny decider with one effect: ship a parcel. Intent: ParcelShipmentRequested; outcome: ParcelShipped, or
 * ParcelShipmentFailed when the courier refuses it for good.
 */
type Ship = { kind: 'ShipParcel'; effectId: string; parcel: string };
type Command = { type: 'RequestShipment' } | { type: 'RecordShipped' } | { type: 'RecordShipmentFailed'; reason: string; attempt: number } | { type: 'Claim'; attempt: number };
type Event =
  | { type: 'ParcelShipmentRequested'; data: { effectId: string } }
  | { type: 'ParcelShipped'; data: { effectId: string } }
  | { type: 'ParcelShipmentFailed'; data: { effectId: string; reason: string; attempt: number } }
  | { type: 'ShipmentClaimed'; data: { effectId: string; attempt: number } };
type State = { requested: boolean; settled: boolean; attempt: number };
const EFFECT_ID = 'parcel-1:ship';
const decider = {
  initialState: (): State => ({ requested: false, settled: false, attempt: 0 }),
  evolve: (s: State, e: Event): State => {
    if (e.type === 'ParcelShipmentRequested') return { ...s, requested: true, attempt: 1 };
    if (e.type === 'ShipmentClaimed') return { ...s, attempt: e.data.attempt };
    return { ...s, settled: true };
  },
  decide: (c: Command, s: State): Event[] => {
    if (c.type === 'RequestShipment') return s.requested ? [] : [{ type: 'ParcelShipmentRequested', data: { effectId: EFFECT_ID } }];
    if (s.settled) return [];
    if (c.type === 'RecordShipped') return [{ type: 'ParcelShipped', data: { effectId: EFFECT_ID } }];
    if (c.type === 'RecordShipmentFailed') return [{ type: 'ParcelShipmentFailed', data: { effectId: EFFECT_ID, reason: c.reason, attempt: c.attempt } }];
    return s.requested && c.attempt === s.attempt + 1 ? [{ type: 'ShipmentClaimed', data: { effectId: EFFECT_ID, attempt: c.attempt } }] : [];
  },
};
const protocol: EffectProtocol<Command, State, Ship> = {
  openIntents: (s): OpenIntent<Ship>[] => (s.requested && !s.settled ? [{ effect: { kind: 'ShipParcel', effectId: EFFECT_ID, parcel: 'parcel-1' }, attempt: s.attempt }] : []),
  recordOutcome: () => ({ type: 'RecordShipped' }),
  recordFailure: (intent, reason) => ({ type: 'RecordShipmentFailed', reason, attempt: intent.attempt }),
  claimAttempt: (intent) => ({ type: 'Claim', attempt: intent.attempt + 1 }),
};

/** The outside world: a courier that ships a parcel; `isDone` asks it first. */
function courier(store: EventStore) {
  const shipped: string[] = [];
  const seenIntentBeforeShipping: boolean[] = [];
  let failures = 0;
  let refuses = false;
  const port: EffectPort<Ship> = {
    isDone: async (effect) => shipped.includes(effect.parcel),
    perform: async (effect) => {
      seenIntentBeforeShipping.push((await store.readStream('parcel-1')).some((e) => e.type === 'ParcelShipmentRequested'));
      if (failures > 0) {
        failures--;
        throw new Error('courier unreachable');
      }
      if (refuses) throw new PermanentEffectError(`the courier does not ship ${effect.parcel}: no address on file`);
      shipped.push(effect.parcel);
    },
  };
  return {
    port,
    shipped,
    seenIntentBeforeShipping,
    failOnce: () => (failures = 1),
    failTimes: (n: number) => (failures = n),
    refuse: () => (refuses = true),
    /** How often the courier was asked to ship. */
    asked: () => seenIntentBeforeShipping.length,
  };
}

describe('effect runner: intent, idempotent effect, outcome, resume', () => {
  const clock = settableClock('2026-12-01T10:00:00Z');
  const types = async (store: EventStore) => (await store.readStream('parcel-1')).map((e) => e.type);

  it('records the intent before the effect and the outcome after it; a repeated command performs nothing', async () => {
    const store = await createInMemoryEventStore();
    const world = courier(store);
    const runner = createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping' });
    const result = await runner.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship');
    expect(result.events.map((e) => e.type)).toEqual(['ParcelShipmentRequested', 'ParcelShipped']);
    expect(world.seenIntentBeforeShipping).toEqual([true]);
    expect((await runner.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship')).duplicate).toBe(true);
    expect(world.shipped).toEqual(['parcel-1']);
    await store.close();
  });

  it('two runners racing on the same command: one claims it by its append and performs; the other performs nothing', async () => {
    const store = await createInMemoryEventStore();
    const world = courier(store);
    const [a, b] = [0, 1].map(() => createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping' }));
    await Promise.all([a!.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship'), b!.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship')]);
    expect(world.shipped).toEqual(['parcel-1']);
    expect(await types(store)).toEqual(['ParcelShipmentRequested', 'ParcelShipped']);
    await store.close();
  });

  it('an effect that failed after its intent is resumed once its lease ran out, by one of two replicas, and completed once', async () => {
    const store = await createInMemoryEventStore();
    const world = courier(store);
    const LEASE_MS = 100;
    const [a, b] = [0, 1].map(() => createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping', leaseMs: LEASE_MS }));
    world.failOnce();
    // The decision stands (the intent is recorded); the effect failed, so the intent is still open.
    const decided = await a!.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship');
    expect(decided.events.map((e) => e.type)).toEqual(['ParcelShipmentRequested']);
    expect(protocol.openIntents(decided.state)).toHaveLength(1);
    expect(await types(store)).toEqual(['ParcelShipmentRequested']);
    expect(world.shipped).toEqual([]);
    // Within the lease the performer may still be at it: nobody resumes.
    expect(await b!.resume('parcel-1')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 20));
    const [fromA, fromB] = await Promise.all([a!.resume('parcel-1'), b!.resume('parcel-1')]);
    expect([...fromA, ...fromB].map((e) => e.type)).toEqual(['ShipmentClaimed', 'ParcelShipped']);
    expect(world.shipped).toEqual(['parcel-1']);
    expect(await types(store)).toEqual(['ParcelShipmentRequested', 'ShipmentClaimed', 'ParcelShipped']);
    await store.close();
  });

  it('an effect already in place (performed before a crash, outcome not recorded) is not performed again; only the outcome is recorded', async () => {
    const store = await createInMemoryEventStore();
    const world = courier(store);
    await store.appendToStream('parcel-1', [{ type: 'ParcelShipmentRequested', data: { effectId: EFFECT_ID } }]);
    world.shipped.push('parcel-1');
    const settled: boolean[] = [];
    const runner = createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping', leaseMs: 0, onSettled: (_, performed) => settled.push(performed) });
    expect((await runner.resume('parcel-1')).map((e) => e.type)).toEqual(['ShipmentClaimed', 'ParcelShipped']);
    expect(world.shipped).toEqual(['parcel-1']);
    expect(settled).toEqual([false]);
    await store.close();
  });

  describe('an effect refused for good (PermanentEffectError) is not retried', () => {
    const LEASE_MS = 50;
    const afterLease = () => new Promise((resolve) => setTimeout(resolve, LEASE_MS + 20));

    it('records the failure outcome once, closes the intent, and resume() never tries it again', async () => {
      const store = await createInMemoryEventStore();
      const world = courier(store);
      world.refuse();
      const failed: string[] = [];
      const [a, b] = [0, 1].map(() => createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping', leaseMs: LEASE_MS, onFailed: (_, reason) => failed.push(reason) }));
      const decided = await a!.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship');
      expect(decided.events.map((e) => e.type)).toEqual(['ParcelShipmentRequested', 'ParcelShipmentFailed']);
      expect(decided.events[1]).toMatchObject({ data: { reason: 'the courier does not ship parcel-1: no address on file', attempt: 1 }, metadata: { actor: 'shipping', causationId: `${EFFECT_ID}:failure` } });
      expect(protocol.openIntents(decided.state)).toEqual([]);
      expect(failed).toEqual(['the courier does not ship parcel-1: no address on file']);
      // A repeated command, and both replicas resuming after the lease: nothing is tried or recorded again.
      expect((await a!.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship')).duplicate).toBe(true);
      await afterLease();
      expect([...(await a!.resume('parcel-1')), ...(await b!.resume('parcel-1'))]).toEqual([]);
      expect(world.asked()).toBe(1);
      expect(await types(store)).toEqual(['ParcelShipmentRequested', 'ParcelShipmentFailed']);
      await store.close();
    });

    it('a refusal met on a resumed attempt is recorded once, at that attempt, and closes the intent', async () => {
      const store = await createInMemoryEventStore();
      const world = courier(store);
      const runner = createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping', leaseMs: LEASE_MS });
      world.failOnce();
      await runner.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship');
      world.refuse();
      await afterLease();
      expect((await runner.resume('parcel-1')).map((e) => e.type)).toEqual(['ShipmentClaimed', 'ParcelShipmentFailed']);
      await afterLease();
      expect(await runner.resume('parcel-1')).toEqual([]);
      expect(world.asked()).toBe(2);
      expect((await store.readStream('parcel-1')).at(-1)).toMatchObject({ type: 'ParcelShipmentFailed', data: { attempt: 2 } });
      await store.close();
    });

    it('a transient failure still leaves the intent open: each lease brings another attempt until one succeeds', async () => {
      const store = await createInMemoryEventStore();
      const world = courier(store);
      const runner = createEffectRunner({ store, decider, protocol, port: world.port, clock, actor: 'shipping', leaseMs: LEASE_MS });
      world.failTimes(2);
      const decided = await runner.decide('parcel-1', { type: 'RequestShipment' }, 'order-7:ship');
      expect(protocol.openIntents(decided.state)).toHaveLength(1);
      await afterLease();
      // The resumed attempt fails too (the courier is still unreachable): thrown, intent still open, nothing recorded but the claim.
      await expect(runner.resume('parcel-1')).rejects.toThrow('courier unreachable');
      await afterLease();
      expect((await runner.resume('parcel-1')).map((e) => e.type)).toEqual(['ShipmentClaimed', 'ParcelShipped']);
      expect(world.shipped).toEqual(['parcel-1']);
      expect(await types(store)).toEqual(['ParcelShipmentRequested', 'ShipmentClaimed', 'ShipmentClaimed', 'ParcelShipped']);
      await store.close();
    });
  });
});
