/**
 * The relay through a PostgreSQL outage: its own cluster (never the shared one) is stopped in
 * immediate mode under it. The relay stays up, says it is not ready, and once PostgreSQL is back
 * re-takes the lock and relays what was appended after, without a restart.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createEventStore, StoreUnavailableError, type AuditableEventStore } from '@gatehouse/eventstore';
import { natsUrl, type OwnServer, requireNats, startOwnPostgres } from '@gatehouse/testing';
import { type RelayProcess, sleep as relaySleep, startRelayProcess } from './relay-process.js';

const describeIf = (await requireNats()) ? describe : describe.skip;

describeIf('relay process through a PostgreSQL outage (its own cluster)', () => {
  const suffix = randomBytes(4).toString('hex');
  let postgres: OwnServer;
  let store: AuditableEventStore;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let relay: RelayProcess | undefined;
  const env = {
    NATS_URL: natsUrl(),
    GATEHOUSE_NATS_PREFIX: `relayout_${suffix}`,
    GATEHOUSE_EVENT_STREAM: `RELAYOUT_${suffix}`,
    GATEHOUSE_DLQ_STREAM: `RELAYOUT_DLQ_${suffix}`,
    PORT: '0',
    LOG_LEVEL: 'silent',
  };

  beforeAll(async () => {
    postgres = await startOwnPostgres();
    store = await createEventStore({ databaseUrl: postgres.url });
    nc = await connect({ servers: natsUrl() });
    jsm = await jetstreamManager(nc);
  }, 60_000);
  afterAll(async () => {
    await relay?.stop();
    for (const name of [env.GATEHOUSE_EVENT_STREAM, env.GATEHOUSE_DLQ_STREAM]) await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.close();
    await store?.close();
    await postgres?.close();
  });

  const append = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) await store.appendToStream(`order-${randomUUID()}`, [{ type: 'OrderPlaced', data: { n: i } }]);
  };
  const published = async (): Promise<number> => (await jsm.streams.info(env.GATEHOUSE_EVENT_STREAM)).state.messages;

  it('survives PostgreSQL stopping (immediate mode), reports it, and re-elects itself and relays once it is back', async () => {
    relay = await startRelayProcess({ ...env, DATABASE_URL: postgres.url }, { lockIntervalMs: 200, pollIntervalMs: 50 });
    await waitFor(async () => relay!.isLeader());
    await append(5);
    await waitFor(async () => (await published()) === 5);

    await postgres.stop();
    await waitFor(async () => !relay!.isLeader());
    const ready = await fetch(`${relay.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/store: PostgreSQL is unreachable/);
    await expect(store.readStream('order-x')).rejects.toBeInstanceOf(StoreUnavailableError);
    await sleep(3_000); // idle connections die, the lock and LISTEN connections retry: nothing may end the process

    await postgres.start();
    await waitFor(async () => relay!.isLeader(), 20_000);
    await append(3);
    await waitFor(async () => (await published()) === 8, 20_000);
    expect((await fetch(`${relay.url}/health/ready`)).status).toBe(200);
  }, 90_000);
});

describe('the relay loop’s sleep', () => {
  it('leaves no abort listener behind on its long-lived signal', async () => {
    const wake = new AbortController();
    for (let i = 0; i < 30; i++) await relaySleep(1, wake.signal);
    expect(getEventListeners(wake.signal, 'abort')).toHaveLength(0);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
