/**
 * The post-deployment watch of one change request's deployment (stream `watch-<changeRequestId>`), pure:
 * start → samples evaluated against the rules (sustained duration, cooldown: `fireWatchRules`)
 * → at most one rollback per watch, alerts as they fire → completed when the timer is due, or ended
 * when the deployment is rolled back, fails or is aborted.
 */
import { iso, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { DomainError, IllegalTransitionError, requireReason, ValidationError } from '../errors.js';
import { AnalysisDecisionForbiddenError, analysedMetrics, judgeAnalysis, type AnalysisResult } from '../rollback/analysis.js';
import { DEFAULT_MAX_SAMPLE_GAP_SECONDS, fireWatchRules, type MetricSample, type TriggerEvidence } from '../rollback/rollbackTriggers.js';
import type { AnalysisPolicy } from '@gatehouse/policy';
import { knownMetrics, type AlertSeverity, type WatchRule } from './watchRules.js';

// ---------------------------------------------------------------- commands

export type StartWatch = DomainCommand<
  'StartWatch',
  {
    changeRequestId: string;
    deploymentId: string;
    service: string;
    version: string;
    environment: string;
    enhanced: boolean;
    rules: readonly WatchRule[];
    postDeploymentHours: number;
    /** Planned length of the deployment (sum of its steps); the timer is re-armed from the actual completion. */
    expectedDurationMinutes: number;
    /** The environment's `monitoring.analysis`: the watch completes only on enough samples, else it pauses for a decision. */
    analysis?: AnalysisPolicy;
    /** The version a rollback restores (the stable one the deployment replaces); absent: a first deployment. */
    stableVersion?: string;
    /** The policy's limit of consecutive automatic rollbacks, and how many this service had before this deployment. */
    automaticRollbacks?: AutomaticRollbackLimit;
    now: Date;
  }
>;
export interface AutomaticRollbackLimit {
  max: number;
  consecutive: number;
  pageChannels: string[];
}
/** Where a batch of samples comes from: pushed over the API, or read from Prometheus by the monitoring service. */
export type SampleSource = 'pushed' | 'prometheus';
/** Why a Prometheus query gave no usable answer: each leaves the analysis Inconclusive, never passing. */
export const METRIC_QUERY_PROBLEMS = ['no_data', 'too_few_points', 'query_error', 'unreachable'] as const;
export type MetricQueryProblem = (typeof METRIC_QUERY_PROBLEMS)[number];
export type ArmWatchTimerOnCompletion = DomainCommand<'ArmWatchTimerOnCompletion', { completedAt: string }>;
export type RecordSamples = DomainCommand<
  'RecordSamples',
  { service: string; environment: string; samples: readonly MetricSample[]; source?: SampleSource; queries?: Readonly<Record<string, string>>; now: Date }
>;
/** A Prometheus query for one metric of the watch gave no usable answer. */
export type RecordMetricQueryProblem = DomainCommand<'RecordMetricQueryProblem', { metric: string; query: string; problem: MetricQueryProblem; detail: string; now: Date }>;
export type CompleteWatch = DomainCommand<'CompleteWatch', { now: Date }>;
export type EndWatch = DomainCommand<'EndWatch', { reason: 'rolled_back' | 'failed' | 'aborted'; now: Date }>;
/** A person's decision on a watch paused by an inconclusive analysis: promote (accept) or abort (roll back). */
export type DecideWatch = DomainCommand<'DecideWatch', { decision: 'promote' | 'abort'; actor: string; actorRoles: readonly string[]; reason?: string; now: Date }>;
/** The paused watch's decision time ran out: abort (the deployment is rolled back). */
export type ExpireWatchDecision = DomainCommand<'ExpireWatchDecision', { now: Date }>;
export type WatchCommand = StartWatch | ArmWatchTimerOnCompletion | RecordSamples | RecordMetricQueryProblem | CompleteWatch | EndWatch | DecideWatch | ExpireWatchDecision;

// ---------------------------------------------------------------- events

interface WatchIds {
  changeRequestId: string;
  deploymentId: string;
  environment: string;
}
export type PostDeploymentWatchStarted = DomainEvent<
  'PostDeploymentWatchStarted',
  WatchIds & {
    service: string;
    version: string;
    until: string;
    enhanced: boolean;
    postDeploymentHours: number;
    rules: WatchRule[];
    analysis?: AnalysisPolicy;
    stableVersion?: string;
    automaticRollbacks?: AutomaticRollbackLimit;
    startedAt: string;
  }
>;
export type WatchTimerArmed = DomainEvent<'WatchTimerArmed', { changeRequestId: string; dueAt: string; basis: 'expected_completion' | 'deployment_succeeded' }>;
export type MetricSamplesRecorded = DomainEvent<
  'MetricSamplesRecorded',
  WatchIds & { service: string; samples: MetricSample[]; source?: SampleSource; queries?: Record<string, string>; recordedAt: string }
>;
/** Evidence of a rollback: the rule's breach (rule, query, threshold, observed series), where it was read, and the revision a rollback restores. */
export type RollbackEvidence = TriggerEvidence & { source: SampleSource; revisionRestored: string | null };
export type RollbackTriggerFired = DomainEvent<
  'RollbackTriggerFired',
  WatchIds & { service: string; triggerId: string; action: WatchRule['action']; reason: string; evidence: RollbackEvidence; firedAt: string }
>;
/** A rollback trigger fired but the service had already been rolled back automatically `max` times in a row: no rollback, a human is paged. */
export type AutomaticRollbackLimitReached = DomainEvent<
  'AutomaticRollbackLimitReached',
  WatchIds & { service: string; triggerId: string; consecutive: number; max: number; pageChannels: string[]; reason: string; evidence: RollbackEvidence; at: string }
>;
/** A Prometheus query of the watch gave no usable answer (recorded when the problem starts or changes, not on every evaluation). */
export type MetricQueryInconclusive = DomainEvent<'MetricQueryInconclusive', WatchIds & { metric: string; query: string; problem: MetricQueryProblem; detail: string; at: string }>;
export type AlertRaised = DomainEvent<
  'AlertRaised',
  WatchIds & { service: string; rule: string; severity: AlertSeverity; channels?: string[]; reason: string; evidence: TriggerEvidence; raisedAt: string }
>;
export type PostDeploymentWatchCompleted = DomainEvent<'PostDeploymentWatchCompleted', WatchIds & { analysis?: AnalysisResult; promotedBy?: string; completedAt: string }>;
/** The watch's analysis was inconclusive: not completed; one of `decisionRoles` promotes or aborts it by `decideBy`. */
export type PostDeploymentWatchPaused = DomainEvent<'PostDeploymentWatchPaused', WatchIds & { analysis: AnalysisResult; decisionRoles: string[]; decideBy: string; pausedAt: string }>;
export type WatchAnalysisDecided = DomainEvent<'WatchAnalysisDecided', WatchIds & { decision: 'promote' | 'abort'; actor: string; actorRoles: string[]; reason: string; at: string }>;
/** The watch was aborted (a person's decision or its time ran out): the deployment's rollback owner restores the previous version. */
export type PostDeploymentWatchAborted = DomainEvent<'PostDeploymentWatchAborted', WatchIds & { reason: string; actor: string; analysis: AnalysisResult; abortedAt: string }>;
export type PostDeploymentWatchEnded = DomainEvent<'PostDeploymentWatchEnded', WatchIds & { reason: EndWatch['data']['reason']; endedAt: string }>;
export type WatchEvent =
  | PostDeploymentWatchStarted
  | WatchTimerArmed
  | MetricSamplesRecorded
  | RollbackTriggerFired
  | AutomaticRollbackLimitReached
  | MetricQueryInconclusive
  | AlertRaised
  | PostDeploymentWatchCompleted
  | PostDeploymentWatchPaused
  | WatchAnalysisDecided
  | PostDeploymentWatchAborted
  | PostDeploymentWatchEnded;

// ---------------------------------------------------------------- state

export type WatchStatus = 'watching' | 'rollback_requested' | 'paused' | 'aborted' | 'completed' | 'ended';
export type WatchState =
  | { status: 'not_started' }
  | {
      status: WatchStatus;
      changeRequestId: string;
      deploymentId: string;
      service: string;
      environment: string;
      rules: WatchRule[];
      postDeploymentHours: number;
      timerDueAt: string;
      /** The timer counts from the deployment's actual success; until then the watch cannot complete. */
      deploymentSucceeded: boolean;
      lastFiredAt: Record<string, string>;
      /** Samples young enough to matter to any rule (see `retentionMs`); older ones are only in the log. */
      recentSamples: MetricSample[];
      analysis?: AnalysisPolicy;
      /** Start of the analysed period: the deployment's success (the watch proper). */
      analysisFrom?: string;
      /** Samples per metric taken since `analysisFrom`. */
      sampleCounts: Record<string, number>;
      firedRollbackTriggers: string[];
      stableVersion?: string;
      automaticRollbacks?: AutomaticRollbackLimit;
      /** The limit was reached and a human paged: no automatic rollback from this watch. */
      rollbackSuppressed: boolean;
      /** Metrics whose latest Prometheus query gave no usable answer, and why. */
      queryProblems: Record<string, { problem: MetricQueryProblem; detail: string }>;
      paused?: { analysis: AnalysisResult; decisionRoles: string[]; decideBy: string };
    };
type OpenWatch = Exclude<WatchState, { status: 'not_started' }>;

// ---------------------------------------------------------------- errors

/** Samples arrived for a service and environment that no deployment is being watched in. */
export class NoActiveWatchError extends DomainError {
  override readonly name = 'NoActiveWatchError';
  readonly code = 'NO_ACTIVE_WATCH' as const;
  constructor(
    readonly service: string,
    readonly environment: string,
  ) {
    super(`no deployment of ${service} in ${environment} is being watched; samples are accepted from a deployment's start until its watch ends`);
  }
}

/** Samples may be at most this far ahead of the clock (scrape and clock skew). */
export const MAX_SAMPLE_CLOCK_SKEW_SECONDS = 60;

// ---------------------------------------------------------------- decide

export function decideWatch(command: WatchCommand, state: WatchState): WatchEvent[] {
  switch (command.type) {
    case 'StartWatch':
      return state.status === 'not_started' ? startWatch(command) : [];
    case 'ArmWatchTimerOnCompletion': {
      if (state.status !== 'watching' && state.status !== 'rollback_requested') return [];
      const dueAt = iso(new Date(toMs(command.data.completedAt) + state.postDeploymentHours * MS_PER_HOUR));
      if (state.deploymentSucceeded && dueAt === state.timerDueAt) return [];
      return [{ type: 'WatchTimerArmed', data: { changeRequestId: state.changeRequestId, dueAt, basis: 'deployment_succeeded' } }];
    }
    case 'RecordSamples':
      if (state.status !== 'watching' && state.status !== 'rollback_requested' && state.status !== 'paused') throw new NoActiveWatchError(command.data.service, command.data.environment);
      return recordSamples(command, state);
    case 'RecordMetricQueryProblem': {
      if (state.status !== 'watching' && state.status !== 'rollback_requested' && state.status !== 'paused') return [];
      const { metric, query, problem, detail, now } = command.data;
      if (state.queryProblems[metric]?.problem === problem) return [];
      return [{ type: 'MetricQueryInconclusive', data: { ...idsOf(state), metric, query, problem, detail, at: iso(now) } }];
    }
    case 'CompleteWatch':
      // The provisional timer (expected completion) may come due before the deployment actually succeeded.
      if (state.status !== 'watching' || !state.deploymentSucceeded || toMs(command.data.now) < toMs(state.timerDueAt)) return [];
      return completeWatch(state, command.data.now);
    case 'DecideWatch':
      return decideOnPausedWatch(command, state);
    case 'ExpireWatchDecision': {
      if (state.status !== 'paused' || state.paused === undefined || toMs(command.data.now) < toMs(state.paused.decideBy)) return [];
      const { analysis, decideBy } = state.paused;
      const reason = `no decision on the inconclusive post-deployment watch by ${decideBy}: aborted and rolled back`;
      return [{ type: 'PostDeploymentWatchAborted', data: { ...idsOf(state), reason, actor: WATCH_ACTOR, analysis, abortedAt: iso(command.data.now) } }];
    }
    case 'EndWatch':
      if (state.status !== 'watching' && state.status !== 'rollback_requested' && state.status !== 'paused' && state.status !== 'aborted') return [];
      return [{ type: 'PostDeploymentWatchEnded', data: { ...idsOf(state), reason: command.data.reason, endedAt: iso(command.data.now) } }];
    default:
      return assertNever(command);
  }
}

/** Who aborts a watch whose decision time ran out. */
const WATCH_ACTOR = 'monitoring';

/** The watch period is over: Successful completes it; Inconclusive (too few samples) pauses it for a person. */
function completeWatch(state: OpenWatch, now: Date): WatchEvent[] {
  const at = iso(now);
  if (state.analysis === undefined) return [{ type: 'PostDeploymentWatchCompleted', data: { ...idsOf(state), completedAt: at } }];
  const counted = judgeAnalysis({ triggers: state.rules, counts: state.sampleCounts, firedTriggers: state.firedRollbackTriggers, from: state.analysisFrom ?? at, until: now, policy: state.analysis });
  const analysis = withQueryProblems(counted, state);
  if (analysis.phase === 'Successful') return [{ type: 'PostDeploymentWatchCompleted', data: { ...idsOf(state), analysis, completedAt: at } }];
  const decideBy = iso(new Date(toMs(now) + state.analysis.decisionTimeoutMinutes * MS_PER_MINUTE));
  return [{ type: 'PostDeploymentWatchPaused', data: { ...idsOf(state), analysis, decisionRoles: [...state.analysis.decisionRoles], decideBy, pausedAt: at } }];
}

/** A metric whose latest Prometheus query failed makes a passing analysis Inconclusive: no answer is not a good answer. */
function withQueryProblems(analysis: AnalysisResult, state: OpenWatch): AnalysisResult {
  const problems = analysedMetrics(state.rules).flatMap((m) => {
    const p = state.queryProblems[m];
    return p === undefined ? [] : [`${m}: Prometheus ${p.problem.replace(/_/g, ' ')} (${p.detail})`];
  });
  if (problems.length === 0 || analysis.phase === 'Failed') return analysis;
  const reason = analysis.phase === 'Inconclusive' ? `${analysis.reason}; ${problems.join('; ')}` : `latest queries gave no usable answer: ${problems.join('; ')}`;
  return { ...analysis, phase: 'Inconclusive', reason };
}

function decideOnPausedWatch({ data }: DecideWatch, state: WatchState): WatchEvent[] {
  if (state.status !== 'paused' || state.paused === undefined) {
    throw new IllegalTransitionError('watch', 'DecideWatch', state.status, ['paused']);
  }
  const reason = requireReason(data.reason, `a decision on a post-deployment watch paused by an inconclusive analysis (${data.decision})`);
  if (!data.actorRoles.some((role) => state.paused!.decisionRoles.includes(role))) throw new AnalysisDecisionForbiddenError(`the watch of ${state.changeRequestId}`, data.actor, state.paused.decisionRoles);
  const at = iso(data.now);
  const decided: WatchEvent = { type: 'WatchAnalysisDecided', data: { ...idsOf(state), decision: data.decision, actor: data.actor, actorRoles: [...data.actorRoles], reason, at } };
  if (data.decision === 'promote') return [decided, { type: 'PostDeploymentWatchCompleted', data: { ...idsOf(state), analysis: state.paused.analysis, promotedBy: data.actor, completedAt: at } }];
  return [decided, { type: 'PostDeploymentWatchAborted', data: { ...idsOf(state), reason, actor: data.actor, analysis: state.paused.analysis, abortedAt: at } }];
}

function startWatch({ data }: StartWatch): WatchEvent[] {
  const startedAt = iso(data.now);
  const until = iso(new Date(toMs(data.now) + data.expectedDurationMinutes * MS_PER_MINUTE + data.postDeploymentHours * MS_PER_HOUR));
  return [
    {
      type: 'PostDeploymentWatchStarted',
      data: {
        changeRequestId: data.changeRequestId,
        deploymentId: data.deploymentId,
        environment: data.environment,
        service: data.service,
        version: data.version,
        until,
        enhanced: data.enhanced,
        postDeploymentHours: data.postDeploymentHours,
        rules: [...data.rules],
        ...(data.analysis !== undefined && { analysis: data.analysis }),
        ...(data.stableVersion !== undefined && { stableVersion: data.stableVersion }),
        ...(data.automaticRollbacks !== undefined && { automaticRollbacks: data.automaticRollbacks }),
        startedAt,
      },
    },
    { type: 'WatchTimerArmed', data: { changeRequestId: data.changeRequestId, dueAt: until, basis: 'expected_completion' } },
  ];
}

function recordSamples({ data }: RecordSamples, state: OpenWatch): WatchEvent[] {
  const known = knownMetrics(state.rules);
  const latestAllowed = toMs(data.now) + MAX_SAMPLE_CLOCK_SKEW_SECONDS * MS_PER_SECOND;
  const issues = data.samples.flatMap((s, i) => [
    ...(known.has(s.metric) ? [] : [{ field: `samples.${i}.metric`, reason: `unknown metric "${s.metric}"; this watch evaluates: ${[...known].join(', ')}` }]),
    ...(toMs(s.at) > latestAllowed ? [{ field: `samples.${i}.at`, reason: `${s.at} is in the future (now ${iso(data.now)})` }] : []),
  ]);
  if (issues.length > 0) throw new ValidationError('metric samples', issues);

  const source = data.source ?? 'pushed';
  const samples = data.samples.map((s) => ({ metric: s.metric, at: iso(s.at), value: s.value }));
  const recorded: MetricSamplesRecorded = {
    type: 'MetricSamplesRecorded',
    data: { ...idsOf(state), service: state.service, samples, ...(data.source !== undefined && { source: data.source }), ...(data.queries !== undefined && { queries: { ...data.queries } }), recordedAt: iso(data.now) },
  };
  // Samples of the same metric at an instant already recorded (overlapping query windows) are not counted twice.
  const seen = new Set(state.recentSamples.map((s) => `${s.metric}@${toMs(s.at)}`));
  const series = [...state.recentSamples, ...samples.filter((s) => !seen.has(`${s.metric}@${toMs(s.at)}`))];
  const at = iso(data.now);
  const limit = state.automaticRollbacks;
  const limitReached = limit !== undefined && limit.consecutive >= limit.max;
  const rollbackRequested = state.status === 'rollback_requested' || state.rollbackSuppressed;
  const fired = fireWatchRules(state.rules, series, { now: data.now, lastFiredAt: state.lastFiredAt, rollbackRequested }).map(({ rule, evaluation }): WatchEvent => {
    if (evaluation.action === 'alert') {
      return {
        type: 'AlertRaised',
        data: { ...idsOf(state), service: state.service, rule: rule.id, severity: rule.severity, ...(rule.channels !== undefined && { channels: [...rule.channels] }), reason: evaluation.reason, evidence: evaluation.evidence, raisedAt: at },
      };
    }
    const evidence: RollbackEvidence = { ...evaluation.evidence, source, revisionRestored: state.stableVersion ?? null };
    if (evaluation.action === 'rollback' && limitReached) {
      const reason = `${evaluation.reason}; but ${state.service} was rolled back automatically ${limit.consecutive} times in a row (limit ${limit.max} in ${state.environment}): no automatic rollback, a human is paged`;
      return {
        type: 'AutomaticRollbackLimitReached',
        data: { ...idsOf(state), service: state.service, triggerId: rule.id, consecutive: limit.consecutive, max: limit.max, pageChannels: [...limit.pageChannels], reason, evidence, at },
      };
    }
    return { type: 'RollbackTriggerFired', data: { ...idsOf(state), service: state.service, triggerId: rule.id, action: evaluation.action, reason: evaluation.reason, evidence, firedAt: at } };
  });
  return [recorded, ...fired];
}

function idsOf(state: OpenWatch): WatchIds {
  return { changeRequestId: state.changeRequestId, deploymentId: state.deploymentId, environment: state.environment };
}

// ---------------------------------------------------------------- evolve

/** Longest history any rule can need: its sustained duration plus the gap that still counts as continuous. */
export function retentionMs(rules: readonly WatchRule[]): number {
  const longest = Math.max(0, ...rules.map((r) => r.durationSeconds));
  return (longest + 2 * DEFAULT_MAX_SAMPLE_GAP_SECONDS) * MS_PER_SECOND;
}

export function evolveWatch(state: WatchState, event: WatchEvent): WatchState {
  switch (event.type) {
    case 'PostDeploymentWatchStarted': {
      const { changeRequestId, deploymentId, service, environment, rules, postDeploymentHours, until, analysis, stableVersion, automaticRollbacks } = event.data;
      return {
        status: 'watching',
        changeRequestId,
        deploymentId,
        service,
        environment,
        rules: [...rules],
        postDeploymentHours,
        timerDueAt: until,
        deploymentSucceeded: false,
        lastFiredAt: {},
        recentSamples: [],
        ...(analysis !== undefined && { analysis }),
        sampleCounts: {},
        firedRollbackTriggers: [],
        ...(stableVersion !== undefined && { stableVersion }),
        ...(automaticRollbacks !== undefined && { automaticRollbacks }),
        rollbackSuppressed: false,
        queryProblems: {},
      };
    }
    case 'WatchTimerArmed': {
      if (state.status === 'not_started') return state;
      const onSuccess = event.data.basis === 'deployment_succeeded';
      // The watch proper starts when the deployment succeeded: its analysis counts samples from then.
      const analysisFrom = onSuccess ? iso(new Date(toMs(event.data.dueAt) - state.postDeploymentHours * MS_PER_HOUR)) : state.analysisFrom;
      return { ...state, timerDueAt: event.data.dueAt, deploymentSucceeded: state.deploymentSucceeded || onSuccess, ...(analysisFrom !== undefined && { analysisFrom }) };
    }
    case 'MetricSamplesRecorded': {
      if (state.status === 'not_started') return state;
      const seen = new Set(state.recentSamples.map((s) => `${s.metric}@${toMs(s.at)}`));
      const fresh = event.data.samples.filter((s) => !seen.has(`${s.metric}@${toMs(s.at)}`));
      const merged = [...state.recentSamples, ...fresh].sort((a, b) => toMs(a.at) - toMs(b.at));
      const horizon = toMs(merged.at(-1)?.at ?? event.data.recordedAt) - retentionMs(state.rules);
      const counted = state.analysisFrom === undefined ? [] : fresh.filter((s) => toMs(s.at) >= toMs(state.analysisFrom!));
      const sampleCounts = { ...state.sampleCounts };
      for (const s of counted) sampleCounts[s.metric] = (sampleCounts[s.metric] ?? 0) + 1;
      // Samples read from Prometheus answer its queries: those metrics' problems are over.
      const answered = new Set(event.data.source === 'prometheus' ? event.data.samples.map((s) => s.metric) : []);
      const queryProblems = Object.fromEntries(Object.entries(state.queryProblems).filter(([metric]) => !answered.has(metric)));
      return { ...state, recentSamples: merged.filter((s) => toMs(s.at) >= horizon), sampleCounts, queryProblems };
    }
    case 'RollbackTriggerFired':
      if (state.status === 'not_started') return state;
      return {
        ...state,
        status: event.data.action === 'rollback' ? 'rollback_requested' : state.status,
        lastFiredAt: { ...state.lastFiredAt, [event.data.triggerId]: event.data.firedAt },
        firedRollbackTriggers: event.data.action === 'rollback' ? [...state.firedRollbackTriggers, event.data.triggerId] : state.firedRollbackTriggers,
      };
    case 'AlertRaised':
      return state.status === 'not_started' ? state : { ...state, lastFiredAt: { ...state.lastFiredAt, [event.data.rule]: event.data.raisedAt } };
    case 'AutomaticRollbackLimitReached':
      return state.status === 'not_started' ? state : { ...state, rollbackSuppressed: true, lastFiredAt: { ...state.lastFiredAt, [event.data.triggerId]: event.data.at } };
    case 'MetricQueryInconclusive':
      return state.status === 'not_started' ? state : { ...state, queryProblems: { ...state.queryProblems, [event.data.metric]: { problem: event.data.problem, detail: event.data.detail } } };
    case 'PostDeploymentWatchCompleted':
      return state.status === 'not_started' ? state : { ...state, status: 'completed' };
    case 'PostDeploymentWatchPaused':
      return state.status === 'not_started' ? state : { ...state, status: 'paused', paused: { analysis: event.data.analysis, decisionRoles: [...event.data.decisionRoles], decideBy: event.data.decideBy } };
    case 'WatchAnalysisDecided':
      return state;
    case 'PostDeploymentWatchAborted':
      return state.status === 'not_started' ? state : { ...state, status: 'aborted' };
    case 'PostDeploymentWatchEnded':
      return state.status === 'not_started' ? state : { ...state, status: 'ended' };
    default:
      return assertNever(event);
  }
}

export const watchDecider: Decider<WatchCommand, WatchEvent, WatchState> = {
  decide: decideWatch,
  evolve: evolveWatch,
  initialState: () => ({ status: 'not_started' }),
};
