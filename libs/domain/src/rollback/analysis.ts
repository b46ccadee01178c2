import type { AnalysisPolicy, RollbackTrigger } from '@gatehouse/policy';
import { iso, toMs } from '../clock.js';
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
  const window = { from: iso(from), until: iso(until) };
  const rollbackTriggers = triggers.filter((t) => t.action === 'rollback');
  const metrics = [...new Set(rollbackTriggers.map((t) => t.metric))];
  const inWindow = samples.filter((s) => toMs(s.at) >= toMs(from) && toMs(s.at) <= toMs(until));
  const counts = Object.fromEntries(metrics.map((m) => [m, inWindow.filter((s) => s.metric === m).length]));
  const fired = rollbackTriggers.filter((t) => firedTriggers.includes(t.id)).map((t) => t.id);
  if (fired.length > 0) return { phase: 'Failed', reason: `rollback trigger ${fired.join(', ')} fired between ${window.from} and ${window.until}`, samples: counts, ...window };
  if (metrics.length === 0) return { phase: 'Inconclusive', reason: 'the policy analyses samples but names no rollback trigger metric to analyse', samples: counts, ...window };
  const short = metrics.filter((m) => (counts[m] ?? 0) < policy.minSamplesPerMetric);
  if (short.length > 0) {
    const detail = short.map((m) => (counts[m] === 0 ? `no ${m} samples` : `${counts[m]} ${m} samples of the ${policy.minSamplesPerMetric} required`)).join('; ');
    return { phase: 'Inconclusive', reason: `${detail} between ${window.from} and ${window.until}`, samples: counts, ...window };
  }
  return { phase: 'Successful', reason: `${metrics.join(', ')} observed (≥ ${policy.minSamplesPerMetric} samples each) and no rollback trigger fired`, samples: counts, ...window };
}
