import { createInMemoryEventStore, type EventStore } from '@gatehouse/eventstore';
import { handleCommand, type CommandDecider } from './command-handler.js';

type Event = { type: 'Incremented'; data: { by: number } };
type Command = { type: 'Increment'; by: number; max: number };
class LimitExceeded extends Error {
  override name = 'LimitExceeded';
}

const counter: CommandDecider<Command, Event, { total: number }> = {
  initialState: () => ({ total: 0 }),
  evolve: (state, event) => ({ total: state.total + event.data.by }),
  decide: (command, state) => {
    if (state.total + command.by > command.max) throw new LimitExceeded(`total would exceed ${command.max}`);
    return command.by === 0 ? [] : [{ type: 'Incremented', data: { by: command.by } }];
  },
};

/** Every read waits a moment before returning, so concurrent handlers all read before any appends. */
function withSlowReads(inner: EventStore): EventStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'readStream') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<EventStore['readStream']>) => {
        const events = await target.readStream(...args);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return events;
      };
    },
  });
}

describe('handleCommand', () => {
  let store: EventStore;
  beforeEach(async () => {
    store = await createInMemoryEventStore();
  });
  afterEach(() => store.close());

  const increment = (by: number, commandId: string, max = 10) =>
    handleCommand({ store: withSlowReads(store), decider: counter, streamId: 'counter-1', command: { type: 'Increment', by, max }, commandId, metadata: { actor: 'ana' } });

  it('appends the decided events with the command id as causation and the actor', async () => {
    const result = await increment(2, 'cmd-1');
    expect(result.state).toEqual({ total: 2 });
    expect(result.events).toHaveLength(1);
    const [stored] = await store.readStream('counter-1');
    expect(stored?.metadata).toMatchObject({ causationId: 'cmd-1', actor: 'ana' });
  });

  it('does not decide a redelivered command twice', async () => {
    await increment(2, 'cmd-1');
    const again = await increment(2, 'cmd-1');
    expect(again).toMatchObject({ duplicate: true, events: [], state: { total: 2 } });
    expect(await store.readStream('counter-1')).toHaveLength(1);
  });

  it('writes nothing when the decider refuses', async () => {
    await increment(8, 'cmd-1');
    await expect(increment(5, 'cmd-2')).rejects.toThrow(LimitExceeded);
    expect(await store.readStream('counter-1')).toHaveLength(1);
  });

  it('resolves concurrent writers by deciding again on the fresh state', async () => {
    const results = await Promise.all([increment(1, 'a'), increment(1, 'b'), increment(1, 'c')]);
    expect(results.every((r) => r.events.length === 1)).toBe(true);
    expect((await store.readStream('counter-1')).map((e) => e.streamVersion)).toEqual([0n, 1n, 2n]);
  });

  it('re-checks the rule after a lost race instead of appending blindly', async () => {
    await increment(9, 'seed');
    const outcomes = await Promise.allSettled([increment(1, 'x'), increment(1, 'y')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.name)).toEqual(['LimitExceeded']);
  });
});

/** One process's view of a store: its own object (so its own remembered streams), counting the stream reads it makes. */
function processOn(store: EventStore): { store: EventStore; reads: () => number } {
  let reads = 0;
  const view = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'readStream') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: Parameters<EventStore['readStream']>) => {
        reads += 1;
        return target.readStream(...args);
      };
    },
  });
  return { store: view, reads: () => reads };
}

describe('handleCommand on a stream the process remembers', () => {
  let store: EventStore;
  beforeEach(async () => {
    store = await createInMemoryEventStore();
  });
  afterEach(() => store.close());

  const increment = (on: EventStore, by: number, commandId: string, max = 10) =>
    handleCommand({ store: on, decider: counter, streamId: 'counter-1', command: { type: 'Increment', by, max }, commandId });
  const totalInStore = async () => (await store.readStream('counter-1')).reduce((total, e) => total + (e.data as { by: number }).by, 0);

  it('creates a new stream and follows it with no read, each append checked by its version', async () => {
    const one = processOn(store);
    expect(await increment(one.store, 2, 'a')).toMatchObject({ state: { total: 2 }, duplicate: false });
    expect(await increment(one.store, 3, 'b')).toMatchObject({ state: { total: 5 }, duplicate: false });
    expect(one.reads()).toBe(0);
    expect((await store.readStream('counter-1')).map((e) => [e.streamVersion, e.metadata.causationId])).toEqual([
      [0n, 'a'],
      [1n, 'b'],
    ]);
  });

  it("another writer's event in between fails the append on its version: the command is decided again on a fresh read", async () => {
    const one = processOn(store);
    await increment(one.store, 8, 'a');
    await store.appendToStream('counter-1', [{ type: 'Incremented', data: { by: 1 } }]);
    // Remembered: 8, so +1 would pass and +2 would not; the store holds 9.
    expect(await increment(one.store, 1, 'b')).toMatchObject({ state: { total: 10 } });
    expect(one.reads()).toBe(1);
    await expect(increment(one.store, 1, 'c')).rejects.toThrow(LimitExceeded);
    expect(await totalInStore()).toBe(10);
  });

  it('a refusal on the remembered state is checked on a fresh read before it is answered', async () => {
    const one = processOn(store);
    await increment(one.store, 9, 'a');
    await store.appendToStream('counter-1', [{ type: 'Incremented', data: { by: -5 } }]);
    // Remembered: 9, where +3 exceeds 10; the store holds 4, where it does not.
    expect(await increment(one.store, 3, 'b')).toMatchObject({ state: { total: 7 }, duplicate: false });
    expect(await totalInStore()).toBe(7);
  });

  it('a command another process handled is a duplicate here too, and nothing is appended twice', async () => {
    const one = processOn(store);
    const two = processOn(store);
    await increment(one.store, 2, 'a');
    expect(await increment(two.store, 2, 'a')).toMatchObject({ duplicate: true, events: [], state: { total: 2 } });
    expect(await increment(one.store, 2, 'a')).toMatchObject({ duplicate: true, events: [], state: { total: 2 } });
    expect(await store.readStream('counter-1')).toHaveLength(1);
  });

  it('two processes writing one stream each see the other through the version check', async () => {
    const one = processOn(store);
    const two = processOn(store);
    await increment(one.store, 4, 'a');
    await increment(two.store, 4, 'b');
    await expect(increment(one.store, 4, 'c')).rejects.toThrow(LimitExceeded);
    expect(await increment(one.store, 2, 'd')).toMatchObject({ state: { total: 10 } });
    expect(await totalInStore()).toBe(10);
  });
});
