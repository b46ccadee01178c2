import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { authenticatedCommandBus, createNatsCommandBus, DeadLetterHeaders, developmentCommandKeys, encodeEnvelope, type CommandBus, type Relay, startRelay, toEnvelope } from '@gatehouse/bus';
import { settableClock } from '@gatehouse/domain';
import { createEventStore, type AuditableEventStore, GENESIS_HASH } from '@gatehouse/eventstore';
import { isolatedSchema, natsUrl, requireNats, requirePostgres, type IsolatedSchema } from '@gatehouse/testing';
import { handleCommand, type ServiceDefinition } from '../index.js';
import { ConfigurationError, type StandaloneService, startStandaloneService } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const postgres = await requirePostgres();
const ready = postgres.available && (await requireNats());
const describeIf = ready ? describe : describe.skip;

type OrderEvent = { type: 'OrderPlaced'; data: { orderId: string } } | { type: 'OrderShipped'; data: { orderId: string } };
type OrderState = { placed: boolean; shipped: boolean };
const orderDecider = {
  initialState: (): OrderState => ({ placed: false, shipped: false }),
  evolve: (state: OrderState, event: OrderEvent): OrderState => (event.type === 'OrderPlaced' ? { ...state, placed: true } : { ...state, shipped: true }),
  decide: (command: { type: 'Place' | 'Ship'; orderId: string }, state: OrderState): OrderEvent[] => {
    if (command.type === 'Place') return state.placed ? [] : [{ type: 'OrderPlaced', data: { orderId: command.orderId } }];
    if (!state.placed) throw Object.assign(new Error('cannot ship an order that was not placed'), { name: 'OrderNotPlacedError' });
    return state.shipped ? [] : [{ type: 'OrderShipped', data: { orderId: command.orderId } }];
  },
};

/** Owns order streams and serves the commands. */
const orders: ServiceDefinition = {
  name: 'orders',
  async start({ store, commands }) {
    const handle = (type: 'Place' | 'Ship') => async (payload: unknown) => {
      const { orderId, commandId } = payload as { orderId: string; commandId: string };
      const result = await handleCommand({ store, decider: orderDecider, streamId: `order-${orderId}`, command: { type, orderId }, commandId, metadata: { actor: type === 'Ship' ? 'shipping' : 'alice' } });
      return { events: result.decided.map((e) => e.type) };
    };
    const unregister = [await commands.register('orders', 'place', handle('Place')), await commands.register('orders', 'ship', handle('Ship'))];
    return { stop: async () => void (await Promise.all(unregister.map((u) => u()))) };
  },
};

/** A process manager in another process: every placed order is shipped, keyed by the triggering event. */
const shipping: ServiceDefinition = {
  name: 'shipping',
  async start({ events, commands }) {
    const consumer = await events.consume({
      name: 'shipping-on-order-placed',
      categories: ['order'],
      eventTypes: ['OrderPlaced'],
      handler: async ({ event }) => {
        await commands.send('orders', 'ship', { orderId: (event.data as { orderId: string }).orderId, commandId: `${event.id}:Ship` });
      },
    });
    return { stop: () => consumer.stop() };
  },
};

describeIf('standalone services over real NATS/JetStream and PostgreSQL', () => {
  const suffix = randomBytes(4).toString('hex');
  let schema: IsolatedSchema;
  let env: Record<string, string>;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let relayStore: AuditableEventStore;
  let relay: Relay | undefined;
  const services: StandaloneService[] = [];
  let client: CommandBus;
  /** The bus without signatures: what anyone on NATS could send. */
  let unsigned: CommandBus;

  beforeAll(async () => {
    schema = isolatedSchema('standalone', postgres.url);
    env = {
      DATABASE_URL: postgres.url,
      NATS_URL: natsUrl(),
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_NATS_PREFIX: `standalone_${suffix}`,
      GATEHOUSE_EVENT_STREAM: `STANDALONE_${suffix}`,
      GATEHOUSE_DLQ_STREAM: `STANDALONE_DLQ_${suffix}`,
      PORT: '0',
      LOG_LEVEL: 'silent',
    };
    nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    jsm = await jetstreamManager(nc);
    const clock = settableClock('2026-12-01T10:00:00Z');
    services.push(await startStandaloneService(orders, env, { clock }));
    services.push(await startStandaloneService(shipping, env, { clock }));
    // The relay is its own app (apps/relay); here the bus's relay on the same schema and stream stands in for it.
    relayStore = await createEventStore({ databaseUrl: postgres.url, schema: schema.name });
    relay = startRelay({ store: relayStore, js: jetstream(nc), checkpointName: 'outbox-relay', subjectPrefix: env['GATEHOUSE_NATS_PREFIX']!, pollIntervalMs: 20 });
    unsigned = createNatsCommandBus({ servers: natsUrl(), subjectPrefix: env['GATEHOUSE_NATS_PREFIX']! });
    // Signs as the gateway does with the development keys the services fall back to without configuration.
    const gateway = authenticatedCommandBus(unsigned, { keys: developmentCommandKeys(['gateway']), name: 'gateway' });
    client = { ...gateway, send: (context, command, payload, options) => gateway.send(context, command, payload, { caller: { subject: 'alice', roles: ['developer'] }, ...options }) };
  });

  afterAll(async () => {
    await unsigned?.close();
    for (const service of services.reverse()) await service.stop();
    await relay?.stop();
    await relayStore?.close();
    for (const name of [env['GATEHOUSE_EVENT_STREAM']!, env['GATEHOUSE_DLQ_STREAM']!]) await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.close();
    await schema?.drop();
  });

  it('a command → event → relay → JetStream → process manager in another service → command round trip', async () => {
    expect(await client.send('orders', 'place', { orderId: '42', commandId: 'place-42' })).toEqual({ events: ['OrderPlaced'] });
    await waitFor(async () => (await relayStore.readStream('order-42')).length === 2);
    const [placed, shipped] = await relayStore.readStream('order-42');
    expect(placed).toMatchObject({ type: 'OrderPlaced', metadata: { actor: 'alice' } });
    expect(shipped).toMatchObject({ type: 'OrderShipped', data: { orderId: '42' }, metadata: { actor: 'shipping', causationId: `${placed!.id}:Ship` } });
    // The same command id again: nothing new is written and nothing more is shipped.
    await client.send('orders', 'place', { orderId: '42', commandId: 'place-42' });
    await relay!.waitUntilCaughtUp({ timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await relayStore.readStream('order-42')).toHaveLength(2);
  });

  it('carries a remote domain error back to the caller by name', async () => {
    await expect(client.send('orders', 'ship', { orderId: 'never-placed', commandId: 'ship-x' })).rejects.toMatchObject({ name: 'CommandFailedError', remoteName: 'OrderNotPlacedError' });
  });

  it('answers /health/live, /health/ready (store and NATS) and /metrics', async () => {
    const [ordersService] = services;
    expect(await (await fetch(`${ordersService!.url}/health/live`)).json()).toEqual({ status: 'ok' });
    const readiness = await fetch(`${ordersService!.url}/health/ready`);
    expect(readiness.status).toBe(200);
    expect(await readiness.json()).toEqual({ status: 'ok', checks: { store: 'ok', nats: 'ok', 'nats-commands': 'ok' } });
    const metrics = await fetch(`${ordersService!.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/process_cpu_user_seconds_total\{service="orders"\}/);
  });

  it('refuses an unsigned command with ForbiddenCommand, writing nothing', async () => {
    await expect(unsigned.send('orders', 'place', { orderId: '66', commandId: 'place-66' })).rejects.toMatchObject({ remoteName: 'ForbiddenCommand', details: { reason: 'unsigned' } });
    expect(await relayStore.readStream('order-66')).toEqual([]);
  });

  it('dead-letters an event the store does not hold, without handling it, and counts it', async () => {
    const prefix = env['GATEHOUSE_NATS_PREFIX']!;
    const forged = toEnvelope({
      id: randomUUID(),
      type: 'OrderPlaced',
      streamId: 'order-77',
      streamVersion: 0n,
      globalPosition: 999_999_999_999n,
      recordedAt: new Date(),
      data: { orderId: '77' },
      metadata: { actor: 'alice' },
      hash: 'f'.repeat(64),
      previousHash: GENESIS_HASH,
    });
    await jetstream(nc).publish(`${prefix}.evt.order.OrderPlaced`, encodeEnvelope(forged), { msgID: forged.id });
    await waitFor(async () => (await jsm.streams.info(env['GATEHOUSE_DLQ_STREAM']!)).state.messages > 0);
    const parked = (await jsm.streams.getMessage(env['GATEHOUSE_DLQ_STREAM']!, { last_by_subj: `${prefix}.dlq.order.OrderPlaced` }))!;
    expect(parked.header.get(DeadLetterHeaders.Reason)).toBe('event_not_in_store');
    expect(parked.header.get(DeadLetterHeaders.Consumer)).toBe('shipping-on-order-placed');
    expect(parked.header.get(DeadLetterHeaders.EventId)).toBe(forged.id);
    expect(parked.header.get(DeadLetterHeaders.ErrorMessage)).toContain('the store has no version 0 of stream order-77');
    // The process manager never saw it: nothing was shipped (it would have tried, and failed, to ship order 77).
    expect(await relayStore.readStream('order-77')).toEqual([]);
    const shipping = services[1]!;
    expect(await (await fetch(`${shipping.url}/metrics`)).text()).toMatch(/gatehouse_consumer_refused_events_total\{service="shipping",consumer="shipping-on-order-placed",reason="not_in_store"\} 1/);
  });

  it('refuses to start without its configuration, naming what is missing', async () => {
    await expect(startStandaloneService(orders, { NATS_URL: natsUrl() })).rejects.toThrow(ConfigurationError);
    await expect(startStandaloneService(orders, { NATS_URL: natsUrl() })).rejects.toThrow(/DATABASE_URL/);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
