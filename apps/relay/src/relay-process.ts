import { type Relay, startRelay } from '@gatehouse/bus';
import { connectInfrastructure, createMetricsRegistry, readStandaloneConfig, type StandaloneConfig, startOperationsServer } from '@gatehouse/service-kit';
import { Gauge, type Registry } from 'prom-client';
import { createLeaderLock } from './leader-lock.js';

/** Store checkpoint holding the last global position known to be in JetStream. */
export const RELAY_CHECKPOINT = 'outbox-relay';
/** How often a standby tries the lock, and the leader checks it still holds it. */
export const DEFAULT_LOCK_INTERVAL_MS = 2_000;

export interface RelayProcessOptions {
  /** @defaultValue DEFAULT_LOCK_INTERVAL_MS */
  lockIntervalMs?: number;
  /** Fallback poll once caught up; the store's append wake-ups carry the latency. @defaultValue the relay's (DEFAULT_RELAY_POLL_INTERVAL_MS) */
  pollIntervalMs?: number;
}

export interface RelayProcess {
  readonly config: StandaloneConfig;
  /** Base URL of /health/live, /health/ready and /metrics. */
  readonly url: string;
  readonly metrics: Registry;
  /** True while this instance holds the lock and runs the relay. */
  isLeader(): boolean;
  /** The running relay while leader (tests: waitUntilCaughtUp, metrics). */
  relay(): Relay | undefined;
  /** Events this instance published over all its terms as leader. */
  publishedTotal(): number;
  stop(): Promise<void>;
}

/**
 * The outbox relay as its own process. Only one replica relays at a time: the one holding
 * a PostgreSQL advisory lock (per schema) on a dedicated connection. Standbys retry the lock
 * every `lockIntervalMs`; the leader checks it every `lockIntervalMs` and stands down when
 * its lock connection is gone (PostgreSQL then has released the lock for the next one).
 */
export async function startRelayProcess(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env, options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const { lockIntervalMs = DEFAULT_LOCK_INTERVAL_MS, pollIntervalMs } = options;
  const config = readStandaloneConfig(env);
  const infra = await connectInfrastructure('relay', config);
  const { store, js, logger } = infra;
  const lock = createLeaderLock(config.DATABASE_URL, `gatehouse-relay:${config.GATEHOUSE_DB_SCHEMA}:${config.GATEHOUSE_EVENT_STREAM}`);
  const metrics = createMetricsRegistry('relay');

  let relay: Relay | undefined;
  let publishedInEarlierTerms = 0;
  let stopped = false;
  const wake = new AbortController();

  const current = () => relay?.metrics();
  new Gauge({ name: 'gatehouse_relay_leader', help: '1 while this replica holds the lock and relays', registers: [metrics], collect() { this.set(relay === undefined ? 0 : 1); } });
  new Gauge({ name: 'gatehouse_relay_lag_seconds', help: 'Age of the last acknowledged event when it was acknowledged (0 when idle and caught up)', registers: [metrics], collect() { this.set((current()?.lagMs ?? 0) / 1000); } });
  new Gauge({ name: 'gatehouse_relay_in_flight', help: 'Publishes awaiting their JetStream ack', registers: [metrics], collect() { this.set(current()?.inFlight ?? 0); } });
  new Gauge({ name: 'gatehouse_relay_published', help: 'Events newly stored in JetStream by this replica', registers: [metrics], collect() { this.set(publishedInEarlierTerms + (current()?.published ?? 0)); } });
  new Gauge({ name: 'gatehouse_relay_checkpoint_position', help: 'Global position of the last stored relay checkpoint', registers: [metrics], collect() { this.set(Number(current()?.checkpointPosition ?? 0n)); } });

  async function standDown(reason: string): Promise<void> {
    const running = relay;
    if (running === undefined) return;
    relay = undefined;
    publishedInEarlierTerms += running.metrics().published;
    await running.stop();
    logger.warn({ reason }, 'relay stood down');
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        if (relay === undefined) {
          if (await lock.tryAcquire()) {
            if (stopped) break;
            relay = startRelay({ store, js, checkpointName: RELAY_CHECKPOINT, subjectPrefix: config.GATEHOUSE_NATS_PREFIX, logger, ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) });
            logger.info({ checkpoint: RELAY_CHECKPOINT }, 'relay lock acquired: this replica publishes');
          }
        } else {
          await lock.check();
        }
      } catch (error) {
        await standDown(error instanceof Error ? error.message : String(error));
        await lock.release();
      }
      await sleep(lockIntervalMs, wake.signal);
    }
  }
  const looping = loop();

  const http = await startOperationsServer({ name: 'relay', logLevel: config.LOG_LEVEL, checks: infra.readinessChecks, metrics, port: config.PORT, host: config.HOST }).catch(async (error: unknown) => {
    stopped = true;
    wake.abort();
    await looping;
    await infra.close();
    throw error;
  });
  let stopping: Promise<void> | undefined;
  return {
    config,
    url: http.url,
    metrics,
    isLeader: () => relay !== undefined,
    relay: () => relay,
    publishedTotal: () => publishedInEarlierTerms + (relay?.metrics().published ?? 0),
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        wake.abort();
        await looping;
        await standDown('stopping');
        await lock.release();
        await http.close();
        await infra.close();
      })()),
  };
}

/** Resolves after `ms` or on abort; removes its abort listener either way (one per sleep would pile up on the long-lived signal). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
