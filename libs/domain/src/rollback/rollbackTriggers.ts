import type { RollbackTrigger } from '@gatehouse/policy';
import { iso, MS_PER_MINUTE, MS_PER_SECOND, toMs } from '../clock.js';
import { assertNever } from '../decider.js';

/** One observation of a metric (pushed, or read from Prometheus by the monitoring service). */
export interface MetricSample {
  metric: string;
  at: string;
  value: number;
}

/**
 * Largest gap between two consecutive samples that still counts as continuous observation.
 * A longer gap breaks the run: missing data is never assumed to have breached (nor to have recovered),
 * so a trigger fires only on an unbroken run of breaching samples. 60 s = two missed 30 s scrapes.
 */
export const DEFAULT_MAX_SAMPLE_GAP_SECONDS = 60;

export interface TriggerEvidence {
  triggerId: string;
  metric: string;
  operator: RollbackTrigger['operator'];
  threshold: number;
  durationSeconds: number;
  /** First and last sample of the unbroken breaching run. */
  windowStart: string;
  windowEnd: string;
  heldSeconds: number;
  observed: Array<{ at: string; value: number }>;
  /** The PromQL the observed series was read with (Prometheus source). */
  query?: string;
}

export type TriggerEvaluation =
  | { triggerId: string; status: 'fired'; action: RollbackTrigger['action']; evidence: TriggerEvidence; reason: string }
  | { triggerId: string; status: 'no_data' | 'stale' | 'not_breaching' | 'not_sustained' | 'cooling_down'; reason: string; heldSeconds?: number; cooldownEndsAt?: string };

export interface TriggerEvaluationOptions {
  now: Date;
  /** When this trigger last fired for the deployment (cooldown). */
  lastFiredAt?: string;
  /** @defaultValue DEFAULT_MAX_SAMPLE_GAP_SECONDS */
  maxSampleGapSeconds?: number;
}

export function conditionHolds(operator: RollbackTrigger['operator'], value: number, threshold: number): boolean {
  switch (operator) {
    case '>':
      return value > threshold;
    case '<':
      return value < threshold;
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
    default:
      return assertNever(operator);
  }
}

/**
 * Fires when the condition held on every sample of an unbroken run ending at the latest sample, the
 * run spans at least `durationSeconds` (first to last breaching sample), the latest sample is no older
 * than the max gap, and the trigger is not cooling down from its last firing.
 */
export function evaluateRollbackTrigger(trigger: RollbackTrigger, samples: readonly MetricSample[], options: TriggerEvaluationOptions): TriggerEvaluation {
  const { now, lastFiredAt, maxSampleGapSeconds = DEFAULT_MAX_SAMPLE_GAP_SECONDS } = options;
  const maxGapMs = maxSampleGapSeconds * MS_PER_SECOND;
  const nowMs = toMs(now);
  const series = samples.filter((s) => s.metric === trigger.metric && toMs(s.at) <= nowMs).sort((a, b) => toMs(a.at) - toMs(b.at));
  const triggerId = trigger.id;
  const condition = `${trigger.metric} ${trigger.operator} ${trigger.threshold}`;
  const latest = series.at(-1);
  if (latest === undefined) return { triggerId, status: 'no_data', reason: `no ${trigger.metric} samples` };
  if (nowMs - toMs(latest.at) > maxGapMs) return { triggerId, status: 'stale', reason: `latest ${trigger.metric} sample (${latest.at}) is older than ${maxSampleGapSeconds} s` };
  if (!conditionHolds(trigger.operator, latest.value, trigger.threshold)) return { triggerId, status: 'not_breaching', reason: `${condition} does not hold (latest ${latest.value})` };

  let start = series.length - 1;
  while (start > 0) {
    const previous = series[start - 1]!;
    const current = series[start]!;
    if (toMs(current.at) - toMs(previous.at) > maxGapMs || !conditionHolds(trigger.operator, previous.value, trigger.threshold)) break;
    start -= 1;
  }
  const run = series.slice(start);
  const first = run[0]!;
  const heldMs = toMs(latest.at) - toMs(first.at);
  const heldSeconds = Math.floor(heldMs / MS_PER_SECOND);
  if (heldMs < trigger.durationSeconds * MS_PER_SECOND) {
    return { triggerId, status: 'not_sustained', heldSeconds, reason: `${condition} held ${heldSeconds} s of the ${trigger.durationSeconds} s required` };
  }
  if (lastFiredAt !== undefined) {
    const cooldownEnds = toMs(lastFiredAt) + trigger.cooldownMinutes * MS_PER_MINUTE;
    if (nowMs < cooldownEnds) {
      return { triggerId, status: 'cooling_down', heldSeconds, cooldownEndsAt: iso(new Date(cooldownEnds)), reason: `${condition} holds but the trigger fired at ${iso(lastFiredAt)} and cools down for ${trigger.cooldownMinutes} min` };
    }
  }
  return {
    triggerId,
    status: 'fired',
    action: trigger.action,
    reason: `${condition} held for ${heldSeconds} s (≥ ${trigger.durationSeconds} s): ${trigger.action}`,
    evidence: {
      triggerId,
      metric: trigger.metric,
      operator: trigger.operator,
      threshold: trigger.threshold,
      durationSeconds: trigger.durationSeconds,
      windowStart: iso(first.at),
      windowEnd: iso(latest.at),
      heldSeconds,
      observed: run.map((s) => ({ at: iso(s.at), value: s.value })),
      ...(trigger.query !== undefined && { query: trigger.query }),
    },
  };
}

// ---------------------------------------------------------------- the rules of one watch, evaluated together

export type FiredEvaluation = Extract<TriggerEvaluation, { status: 'fired' }>;

export interface WatchRulesEvaluationOptions {
  now: Date;
  /** When each rule last fired for this deployment (cooldowns), by rule id. */
  lastFiredAt: Readonly<Record<string, string>>;
  /** A rollback was already requested for this deployment: rollback rules have nothing left to do. */
  rollbackRequested: boolean;
  /** @defaultValue DEFAULT_MAX_SAMPLE_GAP_SECONDS */
  maxSampleGapSeconds?: number;
}

/**
 * The one place rollback triggers and alert rules are evaluated against a deployment's samples: each rule
 * by `evaluateRollbackTrigger` (sustained run, staleness, cooldown), and at most one rollback per deployment.
 */
export function fireWatchRules<Rule extends RollbackTrigger>(rules: readonly Rule[], samples: readonly MetricSample[], options: WatchRulesEvaluationOptions): Array<{ rule: Rule; evaluation: FiredEvaluation }> {
  const { now, lastFiredAt, maxSampleGapSeconds } = options;
  let rollbackRequested = options.rollbackRequested;
  return rules.flatMap((rule) => {
    if (rule.action === 'rollback' && rollbackRequested) return [];
    const last = lastFiredAt[rule.id];
    const evaluation = evaluateRollbackTrigger(rule, samples, { now, ...(last !== undefined && { lastFiredAt: last }), ...(maxSampleGapSeconds !== undefined && { maxSampleGapSeconds }) });
    if (evaluation.status !== 'fired') return [];
    if (evaluation.action === 'rollback') rollbackRequested = true;
    return [{ rule, evaluation }];
  });
}
