/**
 * Outbox relay throughput: PostgreSQL store → relay → JetStream, against a
 * baseline measured in the same run — raw pipelined JetStream publishes of the
 * same pre-encoded envelopes with the same in-flight window and no store.
 * Target: ≥ 10,000 events/s sustained.
 *
 * Build and run (libs resolve by package name to their built dist/):
 *   npm run build -w @gatehouse/eventstore -w @gatehouse/bus
 *   npx swc bench/relay.bench.ts -o bench/dist/relay.bench.js --config-file .swcrc && node bench/dist/relay.bench.js
 * Env: NATS_URL, DATABASE_URL, RELAY_BENCH_EVENTS (100000), RELAY_BENCH_IN_FLIGHT (relay default, 512).
 * The machine is shared: run it a few times; relay / baseline is the stable figure.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { createPostgresEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { DEFAULT_RELAY_MAX_IN_FLIGHT, encodeEnvelope, ensureEventStream, eventSubjectFor, startRelay, toEnvelope } from '@gatehouse/bus';

export interface RelayBenchOptions {
  natsUrl?: string;
  databaseUrl?: string;
  /** @defaultValue 100000 */
  events?: number;
  /** @defaultValue DEFAULT_RELAY_MAX_IN_FLIGHT (the relay's default) */
  maxInFlight?: number;
  /** Events per appendToStream call when seeding. @defaultValue 1000 */
  appendBatch?: number;
}

export interface RelayBenchResult {
  events: number;
  maxInFlight: number;
  store: string;
  seed: { seconds: number; eventsPerSecond: number };
  baseline: { seconds: number; eventsPerSecond: number };
  relay: { seconds: number; eventsPerSecond: number; slowestSecondEventsPerSecond: number; eventsInStream: number };
  relayVsBaseline: number;
  targetEventsPerSecond: number;
  targetMet: boolean;
}

const TARGET_EVENTS_PER_SECOND = 10_000;

/** Raw publishing done well: same window and the same burst strategy as the relay (drain to half, then publish synchronously). */
async function publishPipelined(js: JetStreamClient, messages: { subject: string; payload: Uint8Array; id: string }[], maxInFlight: number): Promise<void> {
  const window: Promise<unknown>[] = [];
  for (let next = 0; next < messages.length; ) {
    if (window.length >= maxInFlight) {
      while (window.length > maxInFlight / 2) await window.shift();
    }
    const end = Math.min(messages.length, next + maxInFlight - window.length);
    for (; next < end; next += 1) {
      const message = messages[next]!;
      window.push(js.publish(message.subject, message.payload, { msgID: message.id }));
    }
  }
  await Promise.all(window);
}

export async function runRelayBench({
  natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  events = Number(process.env.RELAY_BENCH_EVENTS ?? 100_000),
  maxInFlight = Number(process.env.RELAY_BENCH_IN_FLIGHT ?? DEFAULT_RELAY_MAX_IN_FLIGHT),
  appendBatch = 1_000,
}: RelayBenchOptions = {}): Promise<RelayBenchResult> {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 10);
  const schema = `bench_relay_${suffix}`;
  const relayNames = { subjectPrefix: `bench${suffix}`, streamName: `BENCH_RELAY_${suffix}`, deadLetterStreamName: `BENCH_RELAY_DLQ_${suffix}` };
  const baselineNames = { subjectPrefix: `benchbase${suffix}`, streamName: `BENCH_BASE_${suffix}`, deadLetterStreamName: `BENCH_BASE_DLQ_${suffix}` };

  // noAsyncTraces: nats.js otherwise builds two Error objects (with stack traces) per request; profiling showed ~20% of CPU there.
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const store = await createPostgresEventStore({ connectionString: databaseUrl, schema });
  try {
    await ensureEventStream(jsm, relayNames);
    await ensureEventStream(jsm, baselineNames);

    // Seed: realistic-sized events spread over many streams.
    const seedStart = performance.now();
    for (let offset = 0; offset < events; offset += appendBatch) {
      const count = Math.min(appendBatch, events - offset);
      await store.appendToStream(
        `changeRequest-${suffix}${(offset / appendBatch) % 200}`,
        Array.from({ length: count }, (_, i) => ({
          type: 'ChangeRequested',
          data: { n: offset + i, service: 'payments-api', environment: 'production', title: `Roll out build ${offset + i}`, risk: 'medium' },
          metadata: { correlationId: randomUUID(), actor: 'bench', policyVersion: 'sha256:bench' },
        })),
      );
    }
    const seedSeconds = (performance.now() - seedStart) / 1_000;

    // Baseline: same envelopes, pre-encoded, same window, no store.
    const stored: StoredEvent[] = [];
    for await (const event of store.readAll()) stored.push(event);
    const messages = stored.map((event) => ({
      subject: eventSubjectFor(event.streamId, event.type, baselineNames.subjectPrefix),
      payload: encodeEnvelope(toEnvelope(event)),
      id: event.id,
    }));
    const baselineStart = performance.now();
    await publishPipelined(js, messages, maxInFlight);
    const baselineSeconds = (performance.now() - baselineStart) / 1_000;

    // Relay: from an empty checkpoint to caught up.
    const perSecond = new Map<number, number>();
    const relayStart = performance.now();
    let caughtUpAt = 0;
    const relay = startRelay({
      store,
      js,
      checkpointName: 'bench',
      subjectPrefix: relayNames.subjectPrefix,
      maxInFlight,
      hooks: {
        onAcked: ({ count }) => {
          const second = Math.floor((performance.now() - relayStart) / 1_000);
          perSecond.set(second, (perSecond.get(second) ?? 0) + count);
        },
        onCaughtUp: () => {
          caughtUpAt = performance.now();
        },
      },
    });
    await relay.waitUntilCaughtUp({ timeoutMs: 600_000 });
    await relay.stop();
    const relaySeconds = (caughtUpAt - relayStart) / 1_000;
    // Full seconds only: the last partial second says nothing about the sustained rate.
    const fullSeconds = [...perSecond.entries()].filter(([second]) => second < Math.floor(relaySeconds)).map(([, count]) => count);
    const eventsInStream = (await jsm.streams.info(relayNames.streamName)).state.messages;
    if (eventsInStream !== events) throw new Error(`relay stream holds ${eventsInStream} events, expected ${events}`);

    const relayRate = events / relaySeconds;
    return {
      events,
      maxInFlight,
      store: 'postgres (@gatehouse/eventstore)',
      seed: { seconds: round(seedSeconds), eventsPerSecond: Math.round(events / seedSeconds) },
      baseline: { seconds: round(baselineSeconds), eventsPerSecond: Math.round(events / baselineSeconds) },
      relay: {
        seconds: round(relaySeconds),
        eventsPerSecond: Math.round(relayRate),
        slowestSecondEventsPerSecond: fullSeconds.length > 0 ? Math.min(...fullSeconds) : Math.round(relayRate),
        eventsInStream,
      },
      relayVsBaseline: round(relayRate / (events / baselineSeconds)),
      targetEventsPerSecond: TARGET_EVENTS_PER_SECOND,
      targetMet: relayRate >= TARGET_EVENTS_PER_SECOND && (fullSeconds.length === 0 || Math.min(...fullSeconds) >= TARGET_EVENTS_PER_SECOND),
    };
  } finally {
    for (const name of [relayNames.streamName, relayNames.deadLetterStreamName, baselineNames.streamName, baselineNames.deadLetterStreamName]) {
      await jsm.streams.delete(name).catch(() => undefined);
    }
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await client.end();
    await store.close();
    await nc.close();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function printTable(result: RelayBenchResult): void {
  const rows: [string, string, string][] = [
    ['seed (appendToStream)', `${result.seed.seconds} s`, `${result.seed.eventsPerSecond.toLocaleString('en')} ev/s`],
    ['baseline (raw JetStream)', `${result.baseline.seconds} s`, `${result.baseline.eventsPerSecond.toLocaleString('en')} ev/s`],
    ['relay (store → JetStream)', `${result.relay.seconds} s`, `${result.relay.eventsPerSecond.toLocaleString('en')} ev/s`],
    ['relay, slowest full second', '', `${result.relay.slowestSecondEventsPerSecond.toLocaleString('en')} ev/s`],
  ];
  const out = [
    `Relay bench: ${result.events.toLocaleString('en')} events, in-flight window ${result.maxInFlight}, store: ${result.store}`,
    ...rows.map(([a, b, c]) => `  ${a.padEnd(28)} ${b.padStart(9)}  ${c.padStart(16)}`),
    `  relay / baseline: ${result.relayVsBaseline}; target ≥ ${result.targetEventsPerSecond.toLocaleString('en')} ev/s sustained: ${result.targetMet ? 'MET' : 'MISSED'}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runRelayBench();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  printTable(result);
}
