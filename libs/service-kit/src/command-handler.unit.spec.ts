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
