/**
 * DORA's four keys from the log, per service and environment, plus two governance measures:
 * - deployment frequency: deployments that succeeded in the period, per day;
 * - lead time for changes: from the release being planned (the first fact Gatehouse has of the
 *   code) to its deployment succeeding in the environment;
 * - change failure rate: of the deployments that finished in the period, the share that failed,
 *   were aborted or were rolled back (during the rollout or its post-deployment watch);
 * - time to restore: from the failure being detected (a rollback trigger fired, a rollback asked
 *   for, a deployment failed) to the previous version restored; and for incidents, from the
 *   incident being identified to its hotfix reaching production;
 * - approval latency: from approvals being requested to the change being fully approved;
 * - freeze-bypass rate: the share of deployments started that went out through the emergency
 *   path's window bypass (outside windows, in a blackout or a freeze).
 * Durations are in seconds, summarised as count, median, mean and 90th percentile.
 */
import { type AuditEvent, inPeriod, type Period } from './auditEvent.js';
import { type DeploymentFact, foldGovernanceHistory } from './history.js';

const MS_PER_SECOND = 1_000;
const MS_PER_DAY = 86_400_000;
const WINDOW_BYPASS_SOURCE = 'window_bypass';

export interface DurationSummary {
  count: number;
  medianSeconds: number | null;
  meanSeconds: number | null;
  p90Seconds: number | null;
}

export interface DoraLine {
  service: string;
  environment: string;
  deployments: number;
  deploymentsPerDay: number;
  leadTime: DurationSummary;
  /** Deployments that finished in the period, and how many of them failed. */
  finishedDeployments: number;
  failedDeployments: number;
  changeFailureRate: number | null;
  timeToRestore: DurationSummary;
  approvalLatency: DurationSummary;
  deploymentsStarted: number;
  freezeBypasses: number;
  freezeBypassRate: number | null;
}

export interface DoraReport {
  period: { from: string; to: string; days: number };
  basis: { eventsRead: number; lastPosition: string };
  lines: DoraLine[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarise(durationsMs: readonly number[]): DurationSummary {
  if (durationsMs.length === 0) return { count: 0, medianSeconds: null, meanSeconds: null, p90Seconds: null };
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  const mean = sorted.reduce((sum, d) => sum + d, 0) / sorted.length;
  return { count: sorted.length, medianSeconds: median / MS_PER_SECOND, meanSeconds: mean / MS_PER_SECOND, p90Seconds: percentile(sorted, 90) / MS_PER_SECOND };
}

interface Bucket {
  service: string;
  environment: string;
  succeeded: number;
  leadTimes: number[];
  finished: number;
  failed: number;
  restores: number[];
  approvalLatencies: number[];
  started: number;
  bypasses: number;
}

/** When a deployment ended, and whether it failed: rolled back, failed or aborted; null while it runs. */
function ending(d: DeploymentFact): { at: number; failed: boolean } | null {
  if (d.rollback !== null) return { at: d.rollback.at, failed: true };
  if (d.failedAt !== null) return { at: d.failedAt, failed: true };
  if (d.abortedAt !== null) return { at: d.abortedAt, failed: true };
  if (d.succeededAt !== null) return { at: d.succeededAt, failed: false };
  return null;
}

export function doraMetrics(events: Iterable<AuditEvent>, period: Period): DoraReport {
  const history = foldGovernanceHistory(events, { at: new Date(period.to.getTime() - 1) });
  const buckets = new Map<string, Bucket>();
  const bucket = (service: string, environment: string): Bucket => {
    const key = `${service}|${environment}`;
    let found = buckets.get(key);
    if (found === undefined) {
      found = { service, environment, succeeded: 0, leadTimes: [], finished: 0, failed: 0, restores: [], approvalLatencies: [], started: 0, bypasses: 0 };
      buckets.set(key, found);
    }
    return found;
  };
  for (const change of history.changes.values()) {
    const release = change.releaseId === null ? undefined : history.releases.get(change.releaseId);
    const approval = change.approval;
    const service = change.deployments[0]?.service ?? release?.service ?? null;
    if (approval !== null && approval.fullyApprovedAt !== null && service !== null && inPeriod(approval.fullyApprovedAt, period)) {
      bucket(service, approval.environment).approvalLatencies.push(approval.fullyApprovedAt - approval.requestedAt);
    }
    const bypass = approval?.requirements.some((r) => r.sources.includes(WINDOW_BYPASS_SOURCE)) === true;
    for (const d of change.deployments) {
      const b = bucket(d.service ?? service ?? 'unknown', d.environment);
      if (inPeriod(d.startedAt, period)) {
        b.started += 1;
        if (bypass) b.bypasses += 1;
      }
      if (d.succeededAt !== null && inPeriod(d.succeededAt, period)) {
        b.succeeded += 1;
        if (release !== undefined) b.leadTimes.push(d.succeededAt - release.plannedAt);
      }
      const end = ending(d);
      if (end !== null && inPeriod(end.at, period)) {
        b.finished += 1;
        if (end.failed) b.failed += 1;
      }
      if (d.rollback !== null && inPeriod(d.rollback.at, period)) b.restores.push(d.rollback.at - (d.failureDetectedAt ?? d.rollback.at));
    }
  }
  for (const hotfix of history.hotfixes.values()) {
    if (hotfix.service === null || hotfix.identifiedAt === null || hotfix.deployedAt === null || !inPeriod(hotfix.deployedAt, period)) continue;
    bucket(hotfix.service, 'production').restores.push(hotfix.deployedAt - hotfix.identifiedAt);
  }
  const days = (period.to.getTime() - period.from.getTime()) / MS_PER_DAY;
  const lines = [...buckets.values()]
    .map((b): DoraLine => ({
      service: b.service,
      environment: b.environment,
      deployments: b.succeeded,
      deploymentsPerDay: days > 0 ? b.succeeded / days : 0,
      leadTime: summarise(b.leadTimes),
      finishedDeployments: b.finished,
      failedDeployments: b.failed,
      changeFailureRate: b.finished === 0 ? null : b.failed / b.finished,
      timeToRestore: summarise(b.restores),
      approvalLatency: summarise(b.approvalLatencies),
      deploymentsStarted: b.started,
      freezeBypasses: b.bypasses,
      freezeBypassRate: b.started === 0 ? null : b.bypasses / b.started,
    }))
    .filter((line) => line.deploymentsStarted + line.finishedDeployments + line.approvalLatency.count + line.timeToRestore.count > 0)
    .sort((a, b) => a.service.localeCompare(b.service) || a.environment.localeCompare(b.environment));
  return {
    period: { from: period.from.toISOString(), to: period.to.toISOString(), days },
    basis: { eventsRead: history.eventsRead, lastPosition: history.lastPosition.toString() },
    lines,
  };
}

const seconds = (s: number | null): string => {
  if (s === null) return '-';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7_200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172_800) return `${(s / 3_600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
};
const percent = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);

export function doraMarkdown(report: DoraReport): string {
  return [
    `# DORA metrics ${report.period.from} to ${report.period.to} (${report.period.days.toFixed(1)} days)`,
    '',
    `Based on ${report.basis.eventsRead} events up to position ${report.basis.lastPosition}. Durations are medians (count in brackets).`,
    '',
    '| service | environment | deployments (per day) | lead time | change failure rate | time to restore | approval latency | freeze bypasses |',
    '|---|---|---|---|---|---|---|---|',
    ...report.lines.map(
      (l) =>
        `| ${l.service} | ${l.environment} | ${l.deployments} (${l.deploymentsPerDay.toFixed(2)}) | ${seconds(l.leadTime.medianSeconds)} (${l.leadTime.count}) | ${percent(l.changeFailureRate)} (${l.failedDeployments}/${l.finishedDeployments}) | ${seconds(l.timeToRestore.medianSeconds)} (${l.timeToRestore.count}) | ${seconds(l.approvalLatency.medianSeconds)} (${l.approvalLatency.count}) | ${percent(l.freezeBypassRate)} (${l.freezeBypasses}/${l.deploymentsStarted}) |`,
    ),
    '',
  ].join('\n');
}
