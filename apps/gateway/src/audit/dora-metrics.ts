/**
 * DORA metrics on `/metrics`: gauges per service and environment over the trailing
 * `DORA_WINDOW_DAYS` of governance time, computed from the log when Prometheus scrapes and kept for
 * `DORA_REFRESH_MS` so frequent scrapes do not each read the whole log.
 */
import { type Clock, doraMetrics, type DoraReport } from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { Gauge, type Registry } from 'prom-client';
import { readAuditEvents } from './reports.controller.js';

export const DORA_WINDOW_DAYS = 30;
export const DORA_REFRESH_MS = 60_000;
/** Longest a scrape waits for fresh figures before answering with the last ones. */
export const DORA_COMPUTE_TIMEOUT_MS = 5_000;
const MS_PER_DAY = 86_400_000;
const LABELS = ['service', 'environment'] as const;
type Label = (typeof LABELS)[number];

interface GaugeSpec {
  name: string;
  help: string;
  value: (line: DoraReport['lines'][number]) => number | null;
}

const GAUGES: GaugeSpec[] = [
  { name: 'gatehouse_dora_deployments_per_day', help: `Successful deployments per day over the last ${DORA_WINDOW_DAYS} days`, value: (l) => l.deploymentsPerDay },
  { name: 'gatehouse_dora_lead_time_seconds', help: `Median time from a release being planned to its deployment succeeding, last ${DORA_WINDOW_DAYS} days`, value: (l) => l.leadTime.medianSeconds },
  { name: 'gatehouse_dora_change_failure_ratio', help: `Share of finished deployments that failed, were aborted or rolled back, last ${DORA_WINDOW_DAYS} days`, value: (l) => l.changeFailureRate },
  { name: 'gatehouse_dora_time_to_restore_seconds', help: `Median time from a failure to the previous version restored (or an incident to its hotfix), last ${DORA_WINDOW_DAYS} days`, value: (l) => l.timeToRestore.medianSeconds },
  { name: 'gatehouse_approval_latency_seconds', help: `Median time from approvals requested to a change fully approved, last ${DORA_WINDOW_DAYS} days`, value: (l) => l.approvalLatency.medianSeconds },
  { name: 'gatehouse_freeze_bypass_ratio', help: `Share of deployments started through the emergency window bypass, last ${DORA_WINDOW_DAYS} days`, value: (l) => l.freezeBypassRate },
];

/** Registers the gauges on `registry`; a gateway started again on the same registry (embedded restarts) replaces them, so they read its store. */
export function registerDoraGauges(registry: Registry, store: EventStore, clock: Clock): void {
  for (const spec of GAUGES) registry.removeSingleMetric(spec.name);
  let cached: { report: DoraReport; at: number } | null = null;
  let pending: Promise<DoraReport> | null = null;
  const compute = (): Promise<DoraReport> => {
    pending ??= (async () => {
      const to = clock.now();
      const fresh = doraMetrics(await readAuditEvents(store), { from: new Date(to.getTime() - DORA_WINDOW_DAYS * MS_PER_DAY), to });
      cached = { report: fresh, at: Date.now() };
      return fresh;
    })().finally(() => {
      pending = null;
    });
    return pending;
  };
  /** Fresh figures when the store answers in time; otherwise the last ones (or none): /metrics must answer while the store is down. */
  const report = async (): Promise<DoraReport['lines']> => {
    if (cached !== null && Date.now() - cached.at < DORA_REFRESH_MS) return cached.report.lines;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), DORA_COMPUTE_TIMEOUT_MS);
    });
    try {
      return (await Promise.race([compute(), late]))?.lines ?? cached?.report.lines ?? [];
    } catch {
      return cached?.report.lines ?? [];
    } finally {
      clearTimeout(timer);
    }
  };
  for (const spec of GAUGES) {
    new Gauge<Label>({
      name: spec.name,
      help: spec.help,
      labelNames: [...LABELS],
      registers: [registry],
      async collect() {
        this.reset();
        for (const line of await report()) {
          const value = spec.value(line);
          if (value !== null) this.set({ service: line.service, environment: line.environment }, value);
        }
      },
    });
  }
}
