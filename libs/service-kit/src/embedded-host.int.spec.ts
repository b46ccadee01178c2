import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore } from '@gatehouse/eventstore';
import { handleCommand, PolicyRegistry, type ServiceDefinition, type ServiceLogger, startEmbeddedServices } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const ALICE = { subject: 'alice', roles: ['developer'] };
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

type OrderEvent = { type: 'OrderPlaced'; data: { orderId: string } } | { type: 'OrderShipped'; data: { orderId: string } };
const orderDecider = {
  initialState: () => ({ placed: false, shipped: false }),
  evolve: (state: { placed: boolean; shipped: boolean }, event: OrderEvent) =>
    event.type === 'OrderPlaced' ? { ...state, placed: true } : { ...state, shipped: true },
  decide: (command: { type: 'Place' | 'Ship'; orderId: string }, state: { placed: boolean; shipped: boolean }): OrderEvent[] => {
    if (command.type === 'Place') return state.placed ? [] : [{ type: 'OrderPlaced', data: { orderId: command.orderId } }];
    if (!state.placed) throw new Error('cannot ship an order that was not placed');
    return state.shipped ? [] : [{ type: 'OrderShipped', data: { orderId: command.orderId } }];
  },
};

/** Owns order streams and serves the commands. */
const orders: ServiceDefinition = {
  name: 'orders',
  async start({ store, commands }) {
    const handle = (type: 'Place' | 'Ship') => async (payload: unknown) => {
      const { orderId } = payload as { orderId: string };
      const result = await handleCommand({ store, decider: orderDecider, streamId: `order-${orderId}`, command: { type, orderId }, commandId: `${type}:${orderId}` });
      return { events: result.decided.map((e) => e.type) };
    };
    const unregister = [await commands.register('orders', 'place', handle('Place')), await commands.register('orders', 'ship', handle('Ship'))];
    return { stop: async () => void (await Promise.all(unregister.map((u) => u()))) };
  },
};

/** A process manager in another service: every placed order is shipped. */
const shipping: ServiceDefinition = {
  name: 'shipping',
  async start({ events, commands }) {
    const consumer = await events.consume({
      name: 'shipping-on-order-placed',
      categories: ['order'],
      eventTypes: ['OrderPlaced'],
      handler: async ({ event }) => {
        await commands.send('orders', 'ship', { orderId: (event.data as { orderId: string }).orderId });
      },
    });
    return { stop: () => consumer.stop() };
  },
};

describe('startEmbeddedServices', () => {
  let store: AuditableEventStore;
  beforeEach(async () => {
    store = await createInMemoryEventStore();
  });
  afterEach(() => store.close());

  it('runs services on one in-process bus: a command in one, a process manager in another', async () => {
    const clock = fixedClock('2026-11-25T10:30:00Z');
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const host = await startEmbeddedServices([orders, shipping], { store, clock, policies, logger: quietLogger, pollIntervalMs: 10 });
    try {
      expect(await host.commandsAs(ALICE).send('orders', 'place', { orderId: '42' })).toEqual({ events: ['OrderPlaced'] });
      await waitFor(async () => (await store.readStream('order-42')).length === 2);
      expect((await store.readStream('order-42')).map((e) => e.type)).toEqual(['OrderPlaced', 'OrderShipped']);
      // Placing again is a duplicate command id: nothing new, and the process manager has nothing to react to.
      await host.commandsAs(ALICE).send('orders', 'place', { orderId: '42' });
      expect(await store.readStream('order-42')).toHaveLength(2);

      // Each service's command latency and each consumer's lag are on the shared registry.
      const exposition = await host.metrics.metrics();
      expect(exposition).toMatch(/gatehouse_command_handler_duration_seconds_count\{service="orders",context="orders",command="place",outcome="ok"\} 2/);
      expect(exposition).toMatch(/gatehouse_consumer_delivery_delay_seconds_count\{service="shipping",consumer="shipping-on-order-placed"\} 1/);
      const placed = (await store.readStream('order-42'))[0]!;
      expect(exposition).toContain(`gatehouse_consumer_position{service="shipping",consumer="shipping-on-order-placed"} ${placed.globalPosition}`);
    } finally {
      await host.stop();
    }
    await expect(host.commands.send('orders', 'place', { orderId: '43' })).rejects.toThrow();
  });

  it('refuses an unsigned command in process exactly as over NATS: ForbiddenCommand, and nothing is written', async () => {
    const clock = fixedClock('2026-11-25T10:30:00Z');
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const host = await startEmbeddedServices([orders, shipping], { store, clock, policies, logger: quietLogger, pollIntervalMs: 10 });
    try {
      await expect(host.commands.send('orders', 'place', { orderId: '7', actor: 'alice' })).rejects.toMatchObject({ remoteName: 'ForbiddenCommand', details: { code: 'FORBIDDEN_COMMAND', reason: 'unsigned' } });
      await expect(host.commandsAs(ALICE).send('orders', 'place', { orderId: '7', actor: 'vera' })).rejects.toMatchObject({ remoteName: 'ForbiddenCommand', details: { reason: 'actor_mismatch' } });
      expect(await store.readStream('order-7')).toEqual([]);
    } finally {
      await host.stop();
    }
  });

  it('stops the services already started when a later one fails to start', async () => {
    const clock = fixedClock('2026-11-25T10:30:00Z');
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const stopped: string[] = [];
    const tracked = (name: string): ServiceDefinition => ({ name, start: async () => ({ stop: async () => void stopped.push(name) }) });
    const broken: ServiceDefinition = { name: 'broken', start: async () => Promise.reject(new Error('no config')) };
    await expect(
      startEmbeddedServices([tracked('first'), tracked('second'), broken], { store, clock, policies, logger: quietLogger }),
    ).rejects.toThrow('no config');
    expect(stopped).toEqual(['second', 'first']);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
