import { Counter, type Registry } from 'prom-client';

export type CommandOutcome = 'ok' | 'duplicate' | 'refused' | 'error';

export interface ChangeRequestsMetrics {
  commandHandled(command: string, outcome: CommandOutcome): void;
  eventsAppended(types: readonly string[]): void;
}

/** Counters on the host's registry; a second start on the same registry reuses them instead of throwing. */
export function changeRequestsMetrics(registry: Registry): ChangeRequestsMetrics {
  const commands = counter(registry, 'gatehouse_change_requests_commands_total', 'Commands handled by the change-requests service, by command and outcome', ['command', 'outcome']);
  const events = counter(registry, 'gatehouse_change_requests_events_appended_total', 'Events appended by the change-requests service, by type', ['type']);
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
