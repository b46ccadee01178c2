import {
  authenticatedCommandBus,
  type CallerIdentity,
  type CommandBus,
  type CommandKeys,
  createInProcessCommandBus,
  createInProcessEventConsumerFactory,
  createStoreDeadLetterAdmin,
  type EventConsumerFactory,
  generateCommandKeys,
  registerDeadLetterCommands,
  USER_SIGNER,
} from '@gatehouse/bus';
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
  /**
   * Keys commands are signed and verified with, shared with the gateway on the same bus. Services
   * verify every command as they do on NATS. @defaultValue fresh keys generated at start
   */
  commandKeys?: CommandKeys;
}

export interface EmbeddedHost {
  /** The raw in-process bus (share it with the gateway, which signs what it sends): unsigned sends are refused. */
  readonly commands: CommandBus;
  readonly commandKeys: CommandKeys;
  /** The bus as the gateway uses it, signing every command as `caller` (tests, tools in the same process). */
  commandsAs(caller: CallerIdentity): CommandBus;
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
  const { store, clock, policies, logger, pollIntervalMs, tickIntervalMs, metrics = createMetricsRegistry('gatehouse'), commands = createInProcessCommandBus(), commandKeys = generateCommandKeys([USER_SIGNER, ...definitions.map((d) => d.name)]) } = options;
  // The services' logger also reports handler failures and events skipped after their last attempt.
  const events = createInProcessEventConsumerFactory({ store, logger, ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }) });
  const running: RunningService[] = [];
  // Dead letters live in the store's ledger (no JetStream here): `deadLetters.*` is served on the bus, behind the
  // same signature check as every command, so /api/admin/dead-letters and `gatehouse dlq` work as in the distributed form.
  const unregisterDeadLetters = await registerDeadLetterCommands(authenticatedCommandBus(commands, { keys: commandKeys, name: USER_SIGNER }), createStoreDeadLetterAdmin({ store }));
  try {
    for (const definition of definitions) {
      running.push(await definition.start({ name: definition.name, store, commands: authenticatedCommandBus(timedCommandBus(commands, metrics, definition.name), { keys: commandKeys, name: definition.name }), events: measuredEvents(events, metrics, definition.name), clock, policies, metrics, logger, ...(tickIntervalMs === undefined ? {} : { tickIntervalMs }) }));
    }
  } catch (error) {
    await stopAll(running);
    await Promise.all(unregisterDeadLetters.map((unregister) => unregister()));
    throw error;
  }
  const asGateway = authenticatedCommandBus(commands, { keys: commandKeys, name: USER_SIGNER });
  return {
    commands,
    commandKeys,
    commandsAs: (caller) => ({ ...asGateway, send: (context, command, payload, sendOptions = {}) => asGateway.send(context, command, payload, { caller, ...sendOptions }) }),
    events,
    metrics,
    stop: async () => {
      await stopAll(running);
      await Promise.all(unregisterDeadLetters.map((unregister) => unregister()));
      await commands.close();
    },
  };
}

async function stopAll(running: RunningService[]): Promise<void> {
  for (const service of [...running].reverse()) await service.stop();
}
