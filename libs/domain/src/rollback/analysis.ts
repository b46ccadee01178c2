import type { AnalysisPolicy, RollbackTrigger } from '@gatehouse/policy';
import { iso, toMs } from '../clock.js';
import { DomainError } from '../errors.js';
import type { MetricSample } from './rollbackTriggers.js';

/**
 * One analysis (a canary step, or the post-deployment watch), as Argo Rollouts counts it: Successful when
 * every rollback trigger's metric was observed often enough and none fired; Failed when a rollback trigger
 * fired; Inconclusive when a metric has too few samples (no data is not good news). Inconclusive never counts
 * as a pass: the rollout pauses for a person's decision.
 */
export type AnalysisPhase = 'Successful' | 'Failed' | 'Inconclusive';

export interface AnalysisResult {
  phase: AnalysisPhase;
  reason: string;
  /** Samples seen per analysed metric within the window. */
  samples: Record<string, number>;
  from: string;
  until: string;
}

export interface AnalysisInput {
  /** The environment's rollback triggers: their metrics are what is analysed. */
  triggers: readonly Pick<RollbackTrigger, 'id' | 'metric' | 'action'>[];
  samples: readonly MetricSample[];
  /** Ids of rollback triggers that fired within the window. */
  firedTriggers: readonly string[];
  from: string | Date;
  until: string | Date;
  policy: Pick<AnalysisPolicy, 'minSamplesPerMetric'>;
}

export function analyse({ triggers, samples, firedTriggers, from, until, policy }: AnalysisInput): AnalysisResult {
  const metrics = analysedMetrics(triggers);
  const inWindow = samples.filter((s) => toMs(s.at) >= toMs(from) && toMs(s.at) <= toMs(until));
  const counts = Object.fromEntries(metrics.map((m) => [m, inWindow.filter((s) => s.metric === m).length]));
  return judgeAnalysis({ triggers, counts, firedTriggers, from, until, policy });
}

/** What a step's analysis reads of its deployment's watch stream (`watch-<changeRequestId>`). */
export type WatchFact = Readonly<{ type: string; data: unknown }>;

/**
 * A canary step's analysis from its watch's events: the samples recorded, and the rollback triggers that fired
 * since the step started.
 */
export function analyseStep({ watch, triggers, from, until, policy }: Omit<AnalysisInput, 'samples' | 'firedTriggers'> & { watch: readonly WatchFact[] }): AnalysisResult {
  const samples = watch.flatMap((e) => (e.type === 'MetricSamplesRecorded' ? (e.data as { samples: MetricSample[] }).samples : []));
  const firedTriggers = watch.flatMap((e) => {
    if (e.type !== 'RollbackTriggerFired') return [];
    const { triggerId, firedAt } = e.data as { triggerId: string; firedAt: string };
    return toMs(firedAt) >= toMs(from) ? [triggerId] : [];
  });
  return analyse({ triggers, samples, firedTriggers, from, until, policy });
}

/** The metrics an analysis looks at: those of the rollback triggers. */
export function analysedMetrics(triggers: AnalysisInput['triggers']): string[] {
  return [...new Set(triggers.filter((t) => t.action === 'rollback').map((t) => t.metric))];
}

/** The verdict from sample counts per metric (for a watch that counts as samples arrive). */
export function judgeAnalysis({ triggers, counts, firedTriggers, from, until, policy }: Omit<AnalysisInput, 'samples'> & { counts: Readonly<Record<string, number>> }): AnalysisResult {
  const window = { from: iso(from), until: iso(until) };
  const metrics = analysedMetrics(triggers);
  const samples = Object.fromEntries(metrics.map((m) => [m, counts[m] ?? 0]));
  const fired = triggers.filter((t) => t.action === 'rollback' && firedTriggers.includes(t.id)).map((t) => t.id);
  if (fired.length > 0) return { phase: 'Failed', reason: `rollback trigger ${fired.join(', ')} fired between ${window.from} and ${window.until}`, samples, ...window };
  if (metrics.length === 0) return { phase: 'Inconclusive', reason: 'the policy analyses samples but names no rollback trigger metric to analyse', samples, ...window };
  const short = metrics.filter((m) => samples[m]! < policy.minSamplesPerMetric);
  if (short.length > 0) {
    const detail = short.map((m) => (samples[m] === 0 ? `no ${m} samples` : `${samples[m]} ${m} samples of the ${policy.minSamplesPerMetric} required`)).join('; ');
    return { phase: 'Inconclusive', reason: `${detail} between ${window.from} and ${window.until}`, samples, ...window };
  }
  return { phase: 'Successful', reason: `${metrics.join(', ')} observed (≥ ${policy.minSamplesPerMetric} samples each) and no rollback trigger fired`, samples, ...window };
}

/** Only the policy's decision roles may promote or abort a rollout (or a watch) paused by an inconclusive analysis. */
export class AnalysisDecisionForbiddenError extends DomainError {
  override readonly name = 'AnalysisDecisionForbiddenError';
  readonly code = 'ANALYSIS_DECISION_FORBIDDEN' as const;
  constructor(
    /** What is paused, e.g. "deployment dep-1" or "the watch of cr-1". */
    readonly subject: string,
    readonly actor: string,
    readonly allowedRoles: readonly string[],
  ) {
    super(`${subject} is paused on an inconclusive analysis; only ${allowedRoles.join(' or ')} may promote or abort it, and ${actor} has none of these roles`);
  }
}
