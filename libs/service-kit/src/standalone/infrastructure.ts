import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { type Clock, offsetClock, systemClock } from '@gatehouse/domain';
import { type AuditableEventStore, createEventStore, withGovernanceTime } from '@gatehouse/eventstore';
import { ensureEventStream, inboxPrefixOf } from '@gatehouse/bus';
import { pino, type Logger } from 'pino';
import type { ReadinessCheck } from '../health.js';
import type { StandaloneConfig } from './config.js';

/** What every standalone process (service or relay) connects to. */
export interface Infrastructure {
  store: AuditableEventStore;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger: Logger;
  clock: Clock;
  /** Store (a checkpoint read) and NATS (a round trip) answer. */
  readinessChecks: ReadinessCheck[];
  close(): Promise<void>;
}

/** Checkpoint that is only ever read: a cheap query proving the database and schema answer. */
const READINESS_CHECKPOINT = '__readiness__';

/** A clock that starts at the configured instant and then runs, like the gateway's. */
export function standaloneClock(config: Pick<StandaloneConfig, 'GATEHOUSE_CLOCK'>, base: Clock = systemClock): Clock {
  if (config.GATEHOUSE_CLOCK === undefined) return base;
  return offsetClock(base, Date.parse(config.GATEHOUSE_CLOCK) - base.now().getTime());
}

/**
 * The connection options' credentials part when NATS_USER is set: user, password, and the user's own
 * reply inbox prefix (the only inboxes its permissions let it read); nothing otherwise.
 */
export function natsCredentials(config: { NATS_USER?: string | undefined; NATS_PASSWORD?: string | undefined }): { user?: string; pass?: string; inboxPrefix?: string } {
  if (config.NATS_USER === undefined) return {};
  return { user: config.NATS_USER, ...(config.NATS_PASSWORD === undefined ? {} : { pass: config.NATS_PASSWORD }), inboxPrefix: inboxPrefixOf(config.NATS_USER) };
}

/** PostgreSQL store (migrated), a NATS connection and the JetStream streams (created or updated). */
export async function connectInfrastructure(name: string, config: StandaloneConfig, clock: Clock = standaloneClock(config)): Promise<Infrastructure> {
  const logger = pino({ level: config.LOG_LEVEL, base: { service: name } });
  // Events carry the governance time they happened at (metadata.occurredAt) next to the wall-clock recordedAt.
  const store = withGovernanceTime(await createEventStore({ databaseUrl: config.DATABASE_URL, schema: config.GATEHOUSE_DB_SCHEMA }), () => clock.now());
  let nc: NatsConnection | undefined;
  try {
    // noAsyncTraces: nats.js would otherwise capture stack traces on every request and publish.
    nc = await connect({ servers: config.NATS_URL, name: `gatehouse-${name}`, noAsyncTraces: true, maxReconnectAttempts: -1, ...natsCredentials(config) });
    const jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, {
      subjectPrefix: config.GATEHOUSE_NATS_PREFIX,
      streamName: config.GATEHOUSE_EVENT_STREAM,
      deadLetterStreamName: config.GATEHOUSE_DLQ_STREAM,
    });
    const connection = nc;
    return {
      store,
      nc: connection,
      js: jetstream(connection),
      jsm,
      logger,
      clock,
      readinessChecks: [
        { name: 'store', check: async () => void (await store.readCheckpoint(READINESS_CHECKPOINT)) },
        {
          name: 'nats',
          check: async () => {
            if (connection.isClosed()) throw new Error('connection closed');
            await connection.rtt();
          },
        },
      ],
      close: async () => {
        if (!connection.isClosed()) await connection.drain();
        await store.close();
      },
    };
  } catch (error) {
    if (nc !== undefined && !nc.isClosed()) await nc.close();
    await store.close();
    throw error;
  }
}
