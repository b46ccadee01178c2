import type { CommandBus, CommandHandler } from '@gatehouse/bus';
import { Counter, Histogram, type Registry } from 'prom-client';

export type CommandOutcome = 'ok' | 'duplicate' | 'refused' | 'error';

/** The two counters every command-handling service exposes. */
export interface CommandMetrics {
  commandHandled(command: string, outcome: CommandOutcome): void;
  eventsAppended(types: readonly string[]): void;
}

/**
 * `gatehouse_<service>_commands_total{command,outcome}` and `gatehouse_<service>_events_appended_total{type}`
 * on the host's registry; a second start on the same registry (embedded restarts) reuses them.
 */
export function commandMetrics(registry: Registry, service: string): CommandMetrics {
  const prefix = `gatehouse_${service.replaceAll('-', '_')}`;
  const commands = registeredCounter(registry, `${prefix}_commands_total`, `Commands handled by the ${service} service, by command and outcome`, ['command', 'outcome']);
  const events = registeredCounter(registry, `${prefix}_events_appended_total`, `Events appended by the ${service} service, by type`, ['type']);
  return {
    commandHandled: (command, outcome) => commands.inc({ command, outcome }),
    eventsAppended: (types) => types.forEach((type) => events.inc({ type })),
  };
}

/** The counter `name` on the registry, created on first use: a service started twice on one registry (embedded restarts) reuses it. */
export function registeredCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

const HANDLER_DURATION = 'gatehouse_command_handler_duration_seconds';
/** From a cached read (1 ms) to a contended append with retries (seconds). */
const HANDLER_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The bus a service registers its commands on, timing every handler:
 * `gatehouse_command_handler_duration_seconds{service,context,command,outcome=ok|error}` — the
 * service side of a command's latency (the gateway times the whole round trip).
 */
export function timedCommandBus(bus: CommandBus, registry: Registry, service: string): CommandBus {
  const existing = registry.getSingleMetric(HANDLER_DURATION);
  const histogram =
    existing instanceof Histogram
      ? (existing as Histogram<'service' | 'context' | 'command' | 'outcome'>)
      : new Histogram({ name: HANDLER_DURATION, help: 'Time a service spends handling a command, by service, command and outcome', labelNames: ['service', 'context', 'command', 'outcome'], buckets: HANDLER_BUCKETS, registers: [registry] });
  return {
    register: <Payload, Result>(context: string, command: string, handler: CommandHandler<Payload, Result>) =>
      bus.register<Payload, Result>(context, command, async (payload, meta) => {
        const end = histogram.startTimer({ service, context, command });
        try {
          const result = await handler(payload, meta);
          end({ outcome: 'ok' });
          return result;
        } catch (error) {
          end({ outcome: 'error' });
          throw error;
        }
      }),
    send: (context, command, payload, options) => bus.send(context, command, payload, options),
    close: () => bus.close(),
  };
}
