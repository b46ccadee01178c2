/**
 * The composition root of the one-process mode: the gateway and every service share one
 * event store, one clock, one policy registry, one in-process command bus and one metrics
 * registry. Only this app imports the services; they never import each other.
 */
import { approvalsService } from '@gatehouse/approvals';
import { createInProcessCommandBus, generateCommandKeys } from '@gatehouse/bus';
import { changeRequestsService } from '@gatehouse/change-requests';
import { createDeploymentsService, targetFromEnvironment } from '@gatehouse/deployments';
import type { Clock } from '@gatehouse/domain';
import { type GatewayConfig, type RunningGateway, startGateway } from '@gatehouse/gateway';
import { createMonitoringService } from '@gatehouse/monitoring';
import { projectionsService } from '@gatehouse/projections';
import { createSchedulingService } from '@gatehouse/scheduling';
import { createMetricsRegistry, type EmbeddedHost, type ServiceDefinition, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { pino } from 'pino';

export interface StartGatehouseOptions {
  /** Overrides the configured clock, e.g. a settable clock in tests that fast-forward to a window. */
  clock?: Clock;
  /** Polling interval of the in-process event subscriptions, in ms. */
  pollIntervalMs?: number;
  /** How often the timer loops (due deployments, step analysis, watch ends) look at the clock, in ms. @defaultValue each service's own */
  tickIntervalMs?: number;
}

export interface RunningGatehouse {
  gateway: RunningGateway;
  services: EmbeddedHost;
  /** Names of the services running beside the gateway. */
  serviceNames: string[];
  close(): Promise<void>;
}

/** Producers first: projections last so they see everything from the start. */
function serviceDefinitions(): ServiceDefinition[] {
  return [
    changeRequestsService,
    approvalsService,
    createSchedulingService(),
    // KUBECONFIG set: the policy's Kubernetes clusters; unset: the sandbox that stands in for a cluster.
    createDeploymentsService({ target: targetFromEnvironment(process.env) }),
    createMonitoringService(),
    projectionsService,
  ];
}

export async function startGatehouse(config: GatewayConfig, options: StartGatehouseOptions = {}): Promise<RunningGatehouse> {
  const commands = createInProcessCommandBus();
  // Generated at every start and never leave the process: the gateway signs, the services verify, as over NATS.
  const commandKeys = generateCommandKeys();
  const metrics = createMetricsRegistry('gatehouse');
  const gateway = await startGateway(config, { commands, commandKeys, metrics, ...(options.clock ? { clock: options.clock } : {}) });
  const logger: ServiceLogger = pino({ level: config.LOG_LEVEL, base: { service: 'gatehouse' } });
  const definitions = serviceDefinitions();
  const tickIntervalMs = options.tickIntervalMs ?? config.GATEHOUSE_TICK_INTERVAL_MS;
  try {
    const services = await startEmbeddedServices(definitions, {
      store: gateway.store,
      clock: gateway.clock,
      policies: gateway.policies,
      logger,
      metrics,
      commands,
      commandKeys,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
      ...(tickIntervalMs === undefined ? {} : { tickIntervalMs }),
    });
    return {
      gateway,
      services,
      serviceNames: definitions.map((d) => d.name),
      close: async () => {
        await gateway.app.close();
        await services.stop();
        await gateway.close();
      },
    };
  } catch (error) {
    await gateway.close();
    throw error;
  }
}
