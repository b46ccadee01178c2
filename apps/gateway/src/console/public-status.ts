import { type EnvironmentPolicy, interval, MS_PER_DAY, openWindows } from '@gatehouse/policy';
import type { EventStore } from '@gatehouse/eventstore';
import { BOOKING_DEFAULT_MS } from './calendar-feed.js';
import { DEGRADED_AFTER_ROLLBACK_MS } from './environment-overview.js';
import type { ActiveDeploymentView, RunningVersionView, ScheduledDeploymentView } from '@gatehouse/contracts';

/** Uptime is measured over this many days; incidents are listed this far back. */
export const UPTIME_DAYS = 30;
export const INCIDENT_HISTORY_DAYS = 90;
/** The event types the status page is folded from. */
export const STATUS_EVENT_TYPES = ['IncidentIdentified', 'HotfixDeployedToProduction', 'DeploymentStarted', 'DeploymentRolledBack'] as const;

export type ServiceStatus = 'operational' | 'maintenance' | 'degraded' | 'incident';

/**
 * What the public may see: services, their status, incidents and maintenance as times and kinds only.
 * Never actors, reasons, change or incident ids, versions or titles: the page needs no sign-in.
 */
export interface PublicStatus {
  generatedAt: string;
  environment: string;
  overall: ServiceStatus;
  services: { service: string; status: ServiceStatus; uptimePercent: number }[];
  incidents: { service: string; kind: 'hotfix' | 'rollback'; severity: string | null; startedAt: string; resolvedAt: string | null }[];
  maintenance: { service: string; start: string; end: string }[];
  uptimeDays: number;
}

interface Outage {
  service: string;
  kind: 'hotfix' | 'rollback';
  severity: string | null;
  start: number;
  end: number | null;
}

/** Hotfix lanes (identified → deployed to production) and production rollbacks (deployment start → rollback), from the log. */
export async function outagesOf(store: EventStore, environment: string): Promise<Outage[]> {
  const lanes = new Map<string, Outage>();
  const starts = new Map<string, { service: string; start: number }>();
  const outages: Outage[] = [];
  for await (const event of store.readAll({ eventTypes: STATUS_EVENT_TYPES })) {
    const data = event.data as Record<string, unknown>;
    const text = (key: string): string => (typeof data[key] === 'string' ? (data[key] as string) : '');
    switch (event.type) {
      case 'IncidentIdentified': {
        const outage: Outage = { service: text('service'), kind: 'hotfix', severity: text('severity') || null, start: Date.parse(text('identifiedAt')), end: null };
        lanes.set(text('hotfixId'), outage);
        outages.push(outage);
        break;
      }
      case 'HotfixDeployedToProduction': {
        const lane = lanes.get(text('hotfixId'));
        if (lane !== undefined) lane.end = Date.parse(text('deployedAt'));
        break;
      }
      case 'DeploymentStarted':
        if (text('environment') === environment) starts.set(text('deploymentId'), { service: text('service'), start: Date.parse(text('startedAt')) });
        break;
      case 'DeploymentRolledBack': {
        const started = starts.get(text('deploymentId'));
        if (started !== undefined) outages.push({ service: started.service, kind: 'rollback', severity: null, start: started.start, end: Date.parse(text('at')) });
        break;
      }
    }
  }
  return outages.filter((o) => Number.isFinite(o.start));
}

export interface StatusFacts {
  policy: EnvironmentPolicy;
  now: Date;
  versions: readonly RunningVersionView[];
  deployments: readonly ActiveDeploymentView[];
  bookings: readonly ScheduledDeploymentView[];
  outages: readonly Outage[];
}

const SEVERITY: Record<ServiceStatus, number> = { operational: 0, maintenance: 1, degraded: 2, incident: 3 };

export function publicStatus({ policy, now, versions, deployments, bookings, outages }: StatusFacts): PublicStatus {
  const at = now.getTime();
  const environment = policy.environment;
  const services = [...new Set([...versions.filter((v) => v.environment === environment).map((v) => v.service), ...outages.map((o) => o.service)])].filter((s) => s !== '').sort();
  const uptimeFrom = at - UPTIME_DAYS * MS_PER_DAY;
  const statusOf = (service: string): ServiceStatus => {
    const mine = outages.filter((o) => o.service === service);
    if (mine.some((o) => o.kind === 'hotfix' && o.end === null)) return 'incident';
    if (mine.some((o) => o.kind === 'rollback' && o.end !== null && at - o.end < DEGRADED_AFTER_ROLLBACK_MS)) return 'degraded';
    if (deployments.some((d) => d.environment === environment && d.service === service)) return 'maintenance';
    return 'operational';
  };
  const uptimeOf = (service: string): number => {
    // Overlapping outages count once: merge them before summing.
    const spans = outages
      .filter((o) => o.service === service)
      .map((o) => [Math.max(o.start, uptimeFrom), Math.min(o.end ?? at, at)] as const)
      .filter(([s, e]) => e > s)
      .sort((a, b) => a[0] - b[0]);
    let down = 0;
    let reach = uptimeFrom;
    for (const [s, e] of spans) {
      if (e <= reach) continue;
      down += e - Math.max(s, reach);
      reach = e;
    }
    return Math.round((1 - down / (at - uptimeFrom)) * 100_000) / 1_000;
  };
  const windows = openWindows(policy, interval(new Date(at - MS_PER_DAY), new Date(at + 366 * MS_PER_DAY)));
  const serviceViews = services.map((service) => ({ service, status: statusOf(service), uptimePercent: uptimeOf(service) }));
  return {
    generatedAt: now.toISOString(),
    environment,
    overall: serviceViews.reduce<ServiceStatus>((worst, s) => (SEVERITY[s.status] > SEVERITY[worst] ? s.status : worst), 'operational'),
    services: serviceViews,
    incidents: outages
      .filter((o) => o.start >= at - INCIDENT_HISTORY_DAYS * MS_PER_DAY && o.start <= at)
      .sort((a, b) => b.start - a.start)
      .map((o) => ({ service: o.service, kind: o.kind, severity: o.severity, startedAt: new Date(o.start).toISOString(), resolvedAt: o.end === null ? null : new Date(o.end).toISOString() })),
    maintenance: bookings
      .filter((b) => b.environment === environment && b.status !== 'started' && Date.parse(b.scheduledFor) >= at - MS_PER_DAY)
      .map((b) => {
        const start = Date.parse(b.scheduledFor);
        const window = windows.find((w) => w.start.getTime() <= start && start < w.end.getTime());
        return { service: b.service, start: new Date(start).toISOString(), end: (window?.end ?? new Date(start + BOOKING_DEFAULT_MS)).toISOString() };
      })
      .sort((a, b) => a.start.localeCompare(b.start)),
    uptimeDays: UPTIME_DAYS,
  };
}
