import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createEventStore, type AuditableEventStore } from '@gatehouse/eventstore';
import { isolatedSchema, natsUrl, requireNats, requirePostgres, type IsolatedSchema } from '@gatehouse/testing';
import { type RelayProcess, startRelayProcess } from './index.js';

const postgres = await requirePostgres();
const ready = postgres.available && (await requireNats());
const describeIf = ready ? describe : describe.skip;

describeIf('relay process: one leader per schema over a PostgreSQL advisory lock', () => {
  const suffix = randomBytes(4).toString('hex');
  const env = {
    DATABASE_URL: postgres.url,
    NATS_URL: natsUrl(),
    GATEHOUSE_NATS_PREFIX: `relaytest_${suffix}`,
    GATEHOUSE_EVENT_STREAM: `RELAYTEST_${suffix}`,
    GATEHOUSE_DLQ_STREAM: `RELAYTEST_DLQ_${suffix}`,
    PORT: '0',
    LOG_LEVEL: 'silent',
  };
  let schema: IsolatedSchema;
  let store: AuditableEventStore;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const relays: RelayProcess[] = [];

  beforeAll(async () => {
    schema = isolatedSchema('relay_proc', postgres.url);
    store = await createEventStore({ databaseUrl: postgres.url, schema: schema.name });
    nc = await connect({ servers: natsUrl() });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const relay of relays) await relay.stop();
    for (const name of [env.GATEHOUSE_EVENT_STREAM, env.GATEHOUSE_DLQ_STREAM]) await jsm.streams.delete(name).catch(() => undefined);
    await nc?.close();
    await store?.close();
    await schema?.drop();
  });

  async function append(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      ids.push(id);
      await store.appendToStream(`order-${randomUUID()}`, [{ id, type: 'OrderPlaced', data: { n: i } }]);
    }
    return ids;
  }

  async function streamMessageIds(): Promise<string[]> {
    const info = await jsm.streams.info(env.GATEHOUSE_EVENT_STREAM);
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const msg = await jsm.streams.getMessage(env.GATEHOUSE_EVENT_STREAM, { seq });
      if (msg !== null) ids.push(msg.header.get('Nats-Msg-Id'));
    }
    return ids;
  }

  it('publishes from one replica only; when the leader stops the standby takes over, and JetStream holds every event once', async () => {
    const first = await startRelayProcess({ ...env, GATEHOUSE_DB_SCHEMA: schema.name }, { lockIntervalMs: 100, pollIntervalMs: 20 });
    relays.push(first);
    await waitFor(async () => first.isLeader());
    const second = await startRelayProcess({ ...env, GATEHOUSE_DB_SCHEMA: schema.name }, { lockIntervalMs: 100, pollIntervalMs: 20 });
    relays.push(second);

    const before = await append(20);
    await waitFor(async () => (await jsm.streams.info(env.GATEHOUSE_EVENT_STREAM)).state.messages === before.length);
    await sleep(300);
    expect(first.isLeader()).toBe(true);
    expect(second.isLeader()).toBe(false);
    expect(first.publishedTotal()).toBe(before.length);
    expect(second.publishedTotal()).toBe(0);

    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_relay_leader\{service="relay"\} 1/);
    expect(metrics).toMatch(/gatehouse_relay_lag_seconds\{service="relay"\} \d+/);
    expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);

    await first.stop();
    await waitFor(async () => second.isLeader());
    const after = await append(15);
    await waitFor(async () => (await jsm.streams.info(env.GATEHOUSE_EVENT_STREAM)).state.messages === before.length + after.length);
    await second.relay()!.waitUntilCaughtUp({ timeoutMs: 5_000 });
    await sleep(300);

    const stored = await streamMessageIds();
    expect(stored).toEqual([...before, ...after]);
    expect(new Set(stored).size).toBe(stored.length);
    expect(second.publishedTotal()).toBe(after.length);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
