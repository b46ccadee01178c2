import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { EventStore } from '@gatehouse/eventstore';
import { isolatedSchema, natsUrl, requireNats, requirePostgres } from '@gatehouse/testing';
import { ensureEventStream } from '../stream.js';
import { openTestStore } from '../test-fixtures/store.js';
import { uniqueSuffix } from '../test-support/events.js';
import { readWholeStream } from '../test-support/jetstream.js';
import { startRelay, type Relay } from './relay.js';

/** Far above any wake-up latency: an event this late was found by polling, not woken for. */
const POLL_INTERVAL_MS = 5_000;
const LATENCY_BOUND_MS = 1_000;
/** Long enough for the relay's re-checks after catching up to back off past LATENCY_BOUND_MS. */
const IDLE_MS = 3_000;
const LIVE_SAMPLES = 10;
/** How long another transaction keeps the woken-for event hidden from the gap-safe read. */
const HOLD_BACK_MS = 300;

const postgres = await requirePostgres();
const ready = (await requireNats()) && postgres.available;
const describeIf = ready ? describe : describe.skip;

/**
 * Latency of the outbox relay once idle: the writer and the relay use separate stores (pools),
 * as separate processes do, so the wake-up has to travel through PostgreSQL LISTEN/NOTIFY.
 */
describeIf('relay wake-ups (PostgreSQL → relay → JetStream)', () => {
  const suffix = uniqueSuffix();
  const names = { subjectPrefix: `t${suffix}`, streamName: `T_WAKE_${suffix}`, deadLetterStreamName: `T_WAKE_DLQ_${suffix}` };
  const schema = isolatedSchema('bus_relay_wake_up');
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let writer: EventStore;
  let relayStore: EventStore;
  let relay: Relay | undefined;

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, names);
    writer = await openTestStore(postgres.url, schema.name);
    relayStore = await openTestStore(postgres.url, schema.name);
  });

  afterAll(async () => {
    await relay?.stop();
    await jsm?.streams.delete(names.streamName).catch(() => undefined);
    await jsm?.streams.delete(names.deadLetterStreamName).catch(() => undefined);
    await nc?.close();
    await writer?.close();
    await relayStore?.close();
    await schema.drop();
  });

  let ackedPosition = 0n;
  const ackWaiters = new Set<() => void>();
  function acknowledged(position: bigint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        ackWaiters.delete(check);
        reject(new Error(`event ${position} not acknowledged within ${POLL_INTERVAL_MS * 2} ms`));
      }, POLL_INTERVAL_MS * 2);
      function check(): void {
        if (ackedPosition < position) return;
        clearTimeout(timer);
        ackWaiters.delete(check);
        resolve();
      }
      ackWaiters.add(check);
      check();
    });
  }

  it(`publishes an event appended while the relay idles within ${LATENCY_BOUND_MS} ms, with a ${POLL_INTERVAL_MS} ms poll interval`, async () => {
    relay = startRelay({
      store: relayStore,
      js,
      checkpointName: 'relay',
      subjectPrefix: names.subjectPrefix,
      pollIntervalMs: POLL_INTERVAL_MS,
      hooks: {
        onAcked: ({ lastPosition }) => {
          ackedPosition = lastPosition;
          for (const wake of ackWaiters) wake();
        },
      },
    });
    /** Milliseconds from just before the append to JetStream's ack of the event. */
    const publishLatency = async (n: number): Promise<number> => {
      const started = performance.now();
      const { lastGlobalPosition } = await writer.appendToStream(`changeRequest-${suffix}-${n}`, [{ type: 'ChangeRequested', data: { n } }]);
      await acknowledged(lastGlobalPosition);
      return performance.now() - started;
    };

    // Catch up on a first event, then let the relay go quiet.
    await publishLatency(0);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const afterIdle = await publishLatency(1);
    const live: number[] = [];
    for (let n = 2; n < 2 + LIVE_SAMPLES; n += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50 + (n % 4) * 50));
      live.push(await publishLatency(n));
    }

    expect(afterIdle).toBeLessThan(LATENCY_BOUND_MS);
    expect(Math.max(...live)).toBeLessThan(LATENCY_BOUND_MS);
    const streamed = await readWholeStream(js, names.streamName);
    expect(streamed.map((m) => m.globalPosition)).toEqual(Array.from({ length: 2 + LIVE_SAMPLES }, (_, i) => BigInt(i + 1)));
  }, 30_000);

  it('re-checks soon when the event it was woken for is held back by another open transaction', async () => {
    expect(relay).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const other = new pg.Client({ connectionString: postgres.url });
    await other.connect();
    try {
      // An open transaction with a transaction id older than the append's: readAll stops before the event.
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      const { lastGlobalPosition } = await writer.appendToStream(`changeRequest-${suffix}-held`, [{ type: 'ChangeRequested', data: {} }]);
      const published = acknowledged(lastGlobalPosition);
      await new Promise((resolve) => setTimeout(resolve, HOLD_BACK_MS));
      expect(ackedPosition).toBeLessThan(lastGlobalPosition);
      // Its end announces nothing: only the relay's re-checks find the event before the next poll.
      const released = performance.now();
      await other.query('COMMIT');
      await published;
      expect(performance.now() - released).toBeLessThan(LATENCY_BOUND_MS);
    } finally {
      await other.end();
    }
  }, 30_000);
});
