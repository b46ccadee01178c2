/** Deployment strategies turned into explicit, timed steps, so "does it fit the window?" is arithmetic. */
import type { DeploymentStrategy, StrategyPolicy } from './schema.js';
import { addMinutes, type Interval } from './time.js';

export interface PlanStep {
  readonly name: string;
  /** Share of user traffic on the new version once the step has started. */
  readonly trafficPercent: number;
  readonly startOffsetMinutes: number;
  readonly durationMinutes: number;
  /** Metrics are analysed at the end of the step before going on (rollback triggers decide). */
  readonly analysis: boolean;
}

export interface DeploymentPlan extends Interval {
  readonly strategy: DeploymentStrategy;
  readonly steps: readonly PlanStep[];
  readonly totalMinutes: number;
}

export interface PlanOptions {
  readonly start: Date;
}

/** Used when an environment allows a strategy without configuring it. */
export const DEFAULT_CANARY = { steps: [5, 25, 100], totalMinutes: 120 } as const;
export const DEFAULT_BLUE_GREEN = { warmupMinutes: 15, verifyMinutes: 15 } as const;
export const DEFAULT_ROLLING_UPDATE = { batches: 4, minutesPerBatch: 10 } as const;
export const DEFAULT_BIG_BANG = { minutes: 10 } as const;
export const DEFAULT_FEATURE_FLAG = { steps: [10, 50, 100], totalMinutes: 60 } as const;

const FULL_TRAFFIC = 100;

type StepDraft = Omit<PlanStep, 'startOffsetMinutes'>;

export function planDeployment(strategyPolicy: StrategyPolicy, strategy: DeploymentStrategy, { start }: PlanOptions): DeploymentPlan {
  const drafts = stepsFor(strategyPolicy, strategy);
  let offset = 0;
  const steps = drafts.map((draft) => {
    const step = { ...draft, startOffsetMinutes: offset };
    offset += draft.durationMinutes;
    return step;
  });
  return { strategy, steps, totalMinutes: offset, start, end: addMinutes(start, offset) };
}

/** The whole plan runs inside `window` (half-open: ending exactly at the window's end fits). */
export function planFitsWindow(plan: Interval, window: Interval): boolean {
  return plan.start.getTime() >= window.start.getTime() && plan.end.getTime() <= window.end.getTime();
}

function stepsFor(policy: StrategyPolicy, strategy: DeploymentStrategy): StepDraft[] {
  switch (strategy) {
    case 'canary':
      return canarySteps(policy.canary ?? DEFAULT_CANARY);
    case 'blue-green':
      return blueGreenSteps(policy.blueGreen ?? DEFAULT_BLUE_GREEN);
    case 'rolling-update':
      return rollingUpdateSteps(policy.rollingUpdate ?? DEFAULT_ROLLING_UPDATE);
    case 'feature-flag':
      return featureFlagSteps(policy.featureFlag ?? DEFAULT_FEATURE_FLAG);
    case 'big-bang':
      return bigBangSteps(policy.bigBang ?? DEFAULT_BIG_BANG);
  }
}

/** Each traffic step holds an equal share of the total time (the last takes any remainder), analysed before the next. */
function canarySteps(config: { readonly steps: readonly number[]; readonly totalMinutes: number }): StepDraft[] {
  return evenlySplit(config.steps, config.totalMinutes).map(({ percent, minutes }) => ({
    name: percent === FULL_TRAFFIC ? 'promote canary to 100% of traffic' : `shift ${percent}% of traffic to canary`,
    trafficPercent: percent,
    durationMinutes: minutes,
    analysis: true,
  }));
}

/** Green is deployed and verified with no traffic, then traffic switches at once; blue stays as the rollback target. */
function blueGreenSteps(config: { readonly warmupMinutes: number; readonly verifyMinutes: number }): StepDraft[] {
  return [
    { name: 'deploy green and warm up', trafficPercent: 0, durationMinutes: config.warmupMinutes, analysis: false },
    { name: 'verify green (smoke tests, health checks)', trafficPercent: 0, durationMinutes: config.verifyMinutes, analysis: true },
    { name: 'switch traffic from blue to green', trafficPercent: FULL_TRAFFIC, durationMinutes: 0, analysis: true },
    { name: 'keep blue idle for rollback', trafficPercent: FULL_TRAFFIC, durationMinutes: 0, analysis: false },
  ];
}

function rollingUpdateSteps(config: { readonly batches: number; readonly minutesPerBatch: number }): StepDraft[] {
  return Array.from({ length: config.batches }, (_, i) => ({
    name: `replace batch ${i + 1} of ${config.batches}`,
    trafficPercent: Math.round(((i + 1) * FULL_TRAFFIC) / config.batches),
    durationMinutes: config.minutesPerBatch,
    analysis: true,
  }));
}

/** The code ships dark (flag off), then the flag opens step by step. */
function featureFlagSteps(config: { readonly steps: readonly number[]; readonly totalMinutes: number }): StepDraft[] {
  return [
    { name: 'deploy with the flag off', trafficPercent: 0, durationMinutes: 0, analysis: false },
    ...evenlySplit(config.steps, config.totalMinutes).map(({ percent, minutes }) => ({
      name: `enable flag for ${percent}% of users`,
      trafficPercent: percent,
      durationMinutes: minutes,
      analysis: true,
    })),
  ];
}

function bigBangSteps(config: { readonly minutes: number }): StepDraft[] {
  return [{ name: 'replace all instances at once', trafficPercent: FULL_TRAFFIC, durationMinutes: config.minutes, analysis: true }];
}

function evenlySplit(percents: readonly number[], totalMinutes: number): { percent: number; minutes: number }[] {
  const share = Math.floor(totalMinutes / percents.length);
  const remainder = totalMinutes - share * percents.length;
  return percents.map((percent, i) => ({ percent, minutes: i === percents.length - 1 ? share + remainder : share }));
}
