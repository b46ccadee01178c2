import { Counter, type Registry } from 'prom-client';

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
  const commands = counter(registry, `${prefix}_commands_total`, `Commands handled by the ${service} service, by command and outcome`, ['command', 'outcome']);
  const events = counter(registry, `${prefix}_events_appended_total`, `Events appended by the ${service} service, by type`, ['type']);
  return {
    commandHandled: (command, outcome) => commands.inc({ command, outcome }),
    eventsAppended: (types) => types.forEach((type) => events.inc({ type })),
  };
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}
