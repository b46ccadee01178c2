import { authenticatedCommandBus, commandKeysFromConfig, createDeadLetterAdmin, createJetStreamEventConsumerFactory, createNatsCommandBus, registerDeadLetterCommands, type CommandBus } from '@gatehouse/bus';
import { type Clock, systemClock } from '@gatehouse/domain';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from '../metrics.js';
import { timedCommandBus } from '../command-metrics.js';
import { measuredEvents } from '../consumer-metrics.js';
import { PolicyRegistry } from '../policy/policy-registry.js';
import type { RunningService, ServiceDefinition } from '../service.js';
import { closeOnSignals, exitOnStartupFailure } from '../startup.js';
import { readStandaloneConfig, type StandaloneConfig } from './config.js';
import { connectInfrastructure, natsCredentials, standaloneClock } from './infrastructure.js';
import { storeCheckedEvents, storeEventCheck } from '../store-checked-events.js';
import { deadLetterRefusedEvents } from './refused-events.js';
import { controlledClock } from '../clock-control.js';
import { joinSharedClock, type SharedClockMember } from './nats-clock.js';
import { startOperationsServer } from './operations.js';
import { supportsMultipleFilterSubjects } from './single-filter.js';

export interface StandaloneServiceOptions {
  /** Overrides GATEHOUSE_CLOCK (tests that move time). */
  clock?: Clock;
}

export interface StandaloneService {
  readonly config: StandaloneConfig;
  /** Base URL of the operations side (/health/live, /health/ready, /metrics). */
  readonly url: string;
  readonly store: AuditableEventStore;
  /** The raw NATS bus: what is sent on it unsigned is refused (tests use it to play an attacker). */
  readonly commands: CommandBus;
  readonly metrics: Registry;
  /** Stops the service (handlers, consumers), then the HTTP side, the bus, NATS and the store. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts one service as its own process's content: PostgreSQL store, commands over NATS
 * request/reply (queue group, so replicas share them), durable JetStream consumers, the
 * active policy set, a pino logger and a metrics registry; then the operations HTTP side.
 * Throws on bad configuration (`ConfigurationError`) or unreachable dependencies.
 */
export async function startStandaloneService(
  definition: ServiceDefinition,
  env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env,
  options: StandaloneServiceOptions = {},
): Promise<StandaloneService> {
  const config = readStandaloneConfig(env);
  // Settings count on the system clock, not on the GATEHOUSE_CLOCK-shifted base (see ControlledClock.reference).
  const shared = options.clock === undefined && config.GATEHOUSE_CLOCK_CONTROL === 'on' ? controlledClock(standaloneClock(config), null, systemClock) : undefined;
  const infra = await connectInfrastructure(definition.name, config, options.clock ?? shared);
  const { store, js, jsm, logger, clock } = infra;
  let clockMember: SharedClockMember | undefined;
  const metrics = createMetricsRegistry(definition.name);
  const commands = createNatsCommandBus({ servers: config.NATS_URL, name: `gatehouse-${definition.name}-commands`, subjectPrefix: config.GATEHOUSE_NATS_PREFIX, logger, ...natsCredentials(config) });
  const commandKeys = commandKeysFromConfig({ name: definition.name, signingKey: config.GATEHOUSE_COMMAND_SIGNING_KEY, publicKeys: config.GATEHOUSE_COMMAND_PUBLIC_KEYS });
  if (commandKeys.insecure) logger.warn({}, 'GATEHOUSE_COMMAND_PUBLIC_KEYS is not set: commands are signed and verified with the published development keys, which protect nothing');
  const serverVersion = infra.nc.info?.version;
  const multipleFilterSubjects = supportsMultipleFilterSubjects(serverVersion);
  if (!multipleFilterSubjects) logger.warn({ serverVersion }, 'nats-server < 2.10: subscriptions use one filter subject and select categories/types client-side, by subject');
  const transportEvents = createJetStreamEventConsumerFactory({ js, jsm, streamName: config.GATEHOUSE_EVENT_STREAM, deadLetterStreamName: config.GATEHOUSE_DLQ_STREAM, subjectPrefix: config.GATEHOUSE_NATS_PREFIX, multipleFilterSubjects, logger });
  // Only what the store holds is a fact: an event on the bus that does not match it is dead-lettered, never handled.
  const events = storeCheckedEvents(
    transportEvents,
    storeEventCheck(store),
    deadLetterRefusedEvents({ js, streamName: config.GATEHOUSE_EVENT_STREAM, subjectPrefix: config.GATEHOUSE_NATS_PREFIX, service: definition.name, metrics, logger }),
  );
  let running: RunningService | undefined;
  let unregisterDeadLetters: Array<() => Promise<void>> = [];
  try {
    if (shared) clockMember = await joinSharedClock({ nc: infra.nc, jsm, prefix: config.GATEHOUSE_NATS_PREFIX, name: definition.name, clock: shared, logger });
    const policies = await PolicyRegistry.activateFromDirectory(store, config.GATEHOUSE_POLICIES, clock, config.GATEHOUSE_POLICY_ACTIVATED_BY);
    const authenticatedCommands = authenticatedCommandBus(timedCommandBus(commands, metrics, definition.name), { keys: commandKeys, name: definition.name });
    // Every service process holds the dead-letter stream: whichever the queue group picks answers `deadLetters.*`,
    // behind the same signature check as every other command.
    unregisterDeadLetters = await registerDeadLetterCommands(authenticatedCommands, createDeadLetterAdmin({ js, jsm, deadLetterStreamName: config.GATEHOUSE_DLQ_STREAM, subjectPrefix: config.GATEHOUSE_NATS_PREFIX }));
    running = await definition.start({ name: definition.name, store, commands: authenticatedCommands, events: measuredEvents(events, metrics, definition.name), clock, policies, metrics, logger, ...(config.GATEHOUSE_TICK_INTERVAL_MS === undefined ? {} : { tickIntervalMs: config.GATEHOUSE_TICK_INTERVAL_MS }) });
    // Every connection the service needs: the store, the events connection and the command connection.
    const checks = [...infra.readinessChecks, { name: 'nats-commands', check: () => commands.ready() }];
    const http = await startOperationsServer({ name: definition.name, logLevel: config.LOG_LEVEL, checks, metrics, port: config.PORT, host: config.HOST });
    logger.info({ url: http.url, schema: config.GATEHOUSE_DB_SCHEMA, stream: config.GATEHOUSE_EVENT_STREAM, policyVersion: policies.current.policyVersion }, `${definition.name} started`);
    const service = running;
    let stopping: Promise<void> | undefined;
    return {
      config,
      url: http.url,
      store,
      commands,
      metrics,
      stop: () =>
        (stopping ??= (async () => {
          logger.info({}, `${definition.name} stopping`);
          await service.stop();
          await Promise.all(unregisterDeadLetters.map((unregister) => unregister()));
          await clockMember?.close();
          await http.close();
          await commands.close();
          await infra.close();
        })()),
    };
  } catch (error) {
    await running?.stop().catch(() => undefined);
    await clockMember?.close().catch(() => undefined);
    await commands.close().catch(() => undefined);
    await infra.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Entry point of a service's `main.ts`: starts it from the environment, stops it gracefully
 * on SIGINT/SIGTERM, and on failure prints why and exits (2 for bad configuration, 1 otherwise).
 */
export async function runStandaloneService(definition: ServiceDefinition, env: NodeJS.ProcessEnv = process.env): Promise<StandaloneService> {
  try {
    const service = await startStandaloneService(definition, env);
    closeOnSignals(() => service.stop());
    return service;
  } catch (error) {
    return exitOnStartupFailure(`gatehouse-${definition.name}`, error);
  }
}
