import { type EnvironmentPolicy, environmentCalendar, interval, MS_PER_DAY, type PolicySet } from '@gatehouse/policy';
import type { ActiveDeploymentView, ChangeRequestView, RunningVersionView } from '@gatehouse/contracts';

/** How far ahead the next window and the next allowed start are looked for. */
export const LOOKAHEAD_DAYS = 60;
/** A rollback this recent leaves the environment marked degraded. */
export const DEGRADED_AFTER_ROLLBACK_MS = 24 * 60 * 60 * 1000;

export type EnvironmentHealth = 'healthy' | 'deploying' | 'degraded';

export interface EnvironmentOverview {
  environment: string;
  purpose: string;
  frequency: string;
  regions: string[];
  clusters: { name: string; region: string | null }[];
  /** What runs where: every service's version, deployed to every cluster of the environment. */
  services: { service: string; version: string; since: string; changeRequestId: string; previous: string | null }[];
  deployments: ActiveDeploymentView[];
  health: EnvironmentHealth;
  healthReason: string;
  currentWindow: { name: string; start: string; end: string } | null;
  nextWindow: { name: string; start: string; end: string } | null;
  /** A blackout or freeze in force now, with its reason and end. */
  activeBlock: { name: string; kind: string; reason: string | null; end: string } | null;
  /** Earliest instant a normal change may start (now when allowed now); null: none within the look-ahead. */
  nextAllowedAt: string | null;
}

interface Facts {
  versions: readonly RunningVersionView[];
  deployments: readonly ActiveDeploymentView[];
  changes: readonly ChangeRequestView[];
}

/** One environment as its policy and the read models describe it at `now`. */
export function environmentOverview(policy: EnvironmentPolicy, now: Date, facts: Facts): EnvironmentOverview {
  const calendar = environmentCalendar(policy, interval(now, new Date(now.getTime() + LOOKAHEAD_DAYS * MS_PER_DAY)));
  // Windows and blocks that began before now still show: look back a day for their full extent.
  const around = environmentCalendar(policy, interval(new Date(now.getTime() - MS_PER_DAY), new Date(now.getTime() + 1)));
  const at = now.getTime();
  const current = around.windows.find((w) => w.start.getTime() <= at && at < w.end.getTime());
  const next = calendar.windows.find((w) => w.start.getTime() > at);
  const block = around.blocked.filter((b) => b.start.getTime() <= at && at < b.end.getTime()).sort((a, b) => b.end.getTime() - a.end.getTime())[0];
  const firstAllowed = calendar.allowed[0];
  const deployments = facts.deployments.filter((d) => d.environment === policy.environment);
  const recentRollback = facts.changes.find(
    (c) => c.environments.includes(policy.environment) && c.status === 'rolled_back' && at - Date.parse(c.updatedAt) < DEGRADED_AFTER_ROLLBACK_MS,
  );
  const [health, healthReason]: [EnvironmentHealth, string] =
    recentRollback !== undefined
      ? ['degraded', `${recentRollback.service ?? 'a service'} was rolled back at ${recentRollback.updatedAt}`]
      : deployments.length > 0
        ? ['deploying', `${deployments.length} deployment(s) in progress`]
        : ['healthy', 'no rollback in the last 24 hours and nothing deploying'];
  return {
    environment: policy.environment,
    purpose: policy.purpose,
    frequency: policy.frequency.description,
    regions: [...policy.regions],
    clusters: policy.clusters.map((c) => ({ name: c.name, region: c.region ?? null })),
    services: facts.versions
      .filter((v) => v.environment === policy.environment)
      .map((v) => ({ service: v.service, version: v.version, since: v.since, changeRequestId: v.changeRequestId, previous: v.previous[0] ?? null }))
      .sort((a, b) => a.service.localeCompare(b.service)),
    deployments,
    health,
    healthReason,
    currentWindow: current ? { name: current.name, start: current.start.toISOString(), end: current.end.toISOString() } : null,
    nextWindow: next ? { name: next.name, start: next.start.toISOString(), end: next.end.toISOString() } : null,
    activeBlock: block ? { name: block.name, kind: block.kind, reason: blockReason(policy, block.ruleId), end: block.end.toISOString() } : null,
    nextAllowedAt: firstAllowed ? firstAllowed.start.toISOString() : null,
  };
}

export function environmentsOverview(policies: PolicySet, now: Date, facts: Facts): EnvironmentOverview[] {
  const order = policies.promotionOrder;
  return Object.values(policies.environments)
    .sort((a, b) => rank(order, a.environment) - rank(order, b.environment))
    .map((policy) => environmentOverview(policy, now, facts));
}

function rank(order: readonly string[], environment: string): number {
  const index = order.indexOf(environment);
  return index === -1 ? order.length : index;
}

/** The policy's own words for a blackout or freeze (its `reason`, else `description`), when it has some. */
export function blockReason(policy: EnvironmentPolicy, ruleId: string): string | null {
  const rule: object | undefined = [...policy.blackouts, ...policy.freezes].find((r) => r.id === ruleId);
  if (rule === undefined) return null;
  const words = 'reason' in rule ? rule.reason : 'description' in rule ? rule.description : undefined;
  return typeof words === 'string' ? words : null;
}
