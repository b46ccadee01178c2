import { createInProcessCommandBus, createInProcessEventConsumerFactory, type CommandBus, type EventConsumerFactory } from '@gatehouse/bus';
import type { Clock } from '@gatehouse/domain';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { Registry } from 'prom-client';
import { timedCommandBus } from './command-metrics.js';
import { measuredEvents } from './consumer-metrics.js';
import { createMetricsRegistry } from './metrics.js';
import type { PolicyRegistry } from './policy/policy-registry.js';
import type { RunningService, ServiceDefinition, ServiceLogger } from './service.js';

export interface EmbeddedHostOptions {
  store: AuditableEventStore;
  clock: Clock;
  policies: PolicyRegistry;
  logger: ServiceLogger;
  /** Polling interval of the in-process event subscriptions, in ms. @defaultValue the store's default */
  pollIntervalMs?: number;
  /** One registry for the whole process; each service's metrics carry its own `service` label. @defaultValue a new registry */
  metrics?: Registry;
  /** Share a bus with another in-process component (the gateway). @defaultValue a new in-process bus */
  commands?: CommandBus;
  /** How often the services' timer loops look at the clock (`ServiceContext.tickIntervalMs`). @defaultValue each service's own */
  tickIntervalMs?: number;
}

export interface EmbeddedHost {
  readonly commands: CommandBus;
  readonly events: EventConsumerFactory;
  readonly metrics: Registry;
  stop(): Promise<void>;
}

/**
 * Embedded mode: every service in one process, sharing one in-process command bus and
 * consumers fed straight from the store. Services are started in the order given and
 * stopped in reverse, so producers outlive the consumers that depend on them.
 */
export async function startEmbeddedServices(definitions: readonly ServiceDefinition[], options: EmbeddedHostOptions): Promise<EmbeddedHost> {
  const { store, clock, policies, logger, pollIntervalMs, tickIntervalMs, metrics = createMetricsRegistry('gatehouse'), commands = createInProcessCommandBus() } = options;
  // The services' logger also reports handler failures and events skipped after their last attempt.
  const events = createInProcessEventConsumerFactory({ store, logger, ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) });
  const running: RunningService[] = [];
  try {
    for (const definition of definitions) {
      running.push(await definition.start({ name: definition.name, store, commands: timedCommandBus(commands, metrics, definition.name), events: measuredEvents(events, metrics, definition.name), clock, policies, metrics, logger, ...(tickIntervalMs === undefined ? {} : { tickIntervalMs }) }));
    }
  } catch (error) {
    await stopAll(running);
    throw error;
  }
  return {
    commands,
    events,
    metrics,
    stop: async () => {
      await stopAll(running);
      await commands.close();
    },
  };
}

async function stopAll(running: RunningService[]): Promise<void> {
  for (const service of [...running].reverse()) await service.stop();
}
