import type { DeploymentStrategy, RollbackPolicy } from '@gatehouse/policy';
import { addMinutes, iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, IllegalTransitionError, NotFoundError, requireReason } from '../errors.js';
import { AnalysisDecisionForbiddenError, type AnalysisResult } from '../rollback/analysis.js';
import { decideManualRollback, type ManualRollbackBasis } from '../rollback/manualRollback.js';
import type { DeploymentEffect, EffectProtocol, OpenIntent } from '../workflows/effects.js';

/**
 * One deployment per change request on `deployment-<changeRequestId>`: the plan's steps are started
 * and completed one at a time, in order, each exactly once; abort, failure and rollback end it.
 */
export interface DeploymentStep {
  index: number;
  name: string;
  trafficPercent: number;
  durationMinutes: number;
  /** Metrics are analysed until the step's duration has passed before the next step (unless promoted). */
  analysis: boolean;
}

export interface DeploymentIds {
  deploymentId: string;
  changeRequestId: string;
  releaseId: string;
  service: string;
  version: string;
  environment: string;
}

export type RollbackInitiator = 'automatic' | 'manual';

export type StartDeployment = DomainCommand<'StartDeployment', DeploymentIds & { strategy: DeploymentStrategy; steps: readonly DeploymentStep[]; previousVersion?: string; now: Date }>;
export type StartDeploymentStep = DomainCommand<'StartDeploymentStep', { changeRequestId: string; index: number; now: Date }>;
/** Who may decide on an inconclusive analysis, and how long they have (the environment's `monitoring.analysis`). */
export interface AnalysisDecisionRules {
  decisionRoles: readonly string[];
  decisionTimeoutMinutes: number;
}
/**
 * Completes the step in progress when its analysis time is over (or early when `promotedBy` names who promoted
 * it). With `analysis`, its result decides: Successful completes, Inconclusive pauses for `decision`, Failed refuses.
 */
export type CompleteDeploymentStep = DomainCommand<
  'CompleteDeploymentStep',
  { changeRequestId: string; index: number; promotedBy?: string; analysis?: AnalysisResult; decision?: AnalysisDecisionRules; now: Date }
>;
/** Ends the running step's analysis early; on a paused rollout, the decision to go on (an allowed role, with a reason). */
export type PromoteDeployment = DomainCommand<'PromoteDeployment', { changeRequestId: string; actor: string; actorRoles?: readonly string[]; reason?: string; now: Date }>;
/** The paused rollout's decision time ran out: abort and restore the previous version. */
export type ExpireAnalysisDecision = DomainCommand<'ExpireAnalysisDecision', { changeRequestId: string; now: Date }>;
export type SucceedDeployment = DomainCommand<'SucceedDeployment', { changeRequestId: string; now: Date }>;
export type FailDeployment = DomainCommand<'FailDeployment', { changeRequestId: string; reason: string; now: Date }>;
export type AbortDeployment = DomainCommand<'AbortDeployment', { changeRequestId: string; reason: string; actor: string; actorRoles?: readonly string[]; now: Date }>;
export type RollBackDeployment = DomainCommand<
  'RollBackDeployment',
  {
    changeRequestId: string;
    reason: string;
    initiator: RollbackInitiator;
    actor: string;
    evidence?: Readonly<Record<string, unknown>>;
    /** Authorises a manual rollback beyond the environment's manual window. */
    incidentReviewRef?: string;
    /** The environment's manual-rollback rules (automatic rollbacks are not bound by them). */
    policy: Pick<RollbackPolicy, 'manualWindowMinutes' | 'beyondWindow'>;
    now: Date;
  }
>;
/** Outcome of the ApplyDeploymentStep effect: the cluster accepted the step. */
export type RecordStepApplied = DomainCommand<'RecordStepApplied', { changeRequestId: string; index: number; now: Date }>;
/** Outcome of the RollBackWorkload effect: the version is restored; ends the deployment as its intent said. */
export type CompleteRollback = DomainCommand<'CompleteRollback', { changeRequestId: string; effectId: string; now: Date }>;
/** Failure outcome of an effect the outside world refused for good (not retried): the deployment fails. */
export type RecordEffectFailed = DomainCommand<'RecordEffectFailed', { changeRequestId: string; effectId: string; reason: string; now: Date }>;
/** Another attempt at an intent left without outcome (its performer stopped); `attempt` is the one claimed. */
export type ClaimEffectAttempt = DomainCommand<'ClaimEffectAttempt', { changeRequestId: string; effectId: string; attempt: number; now: Date }>;
export type DeploymentCommand =
  | StartDeployment
  | StartDeploymentStep
  | CompleteDeploymentStep
  | PromoteDeployment
  | SucceedDeployment
  | FailDeployment
  | AbortDeployment
  | RollBackDeployment
  | RecordStepApplied
  | CompleteRollback
  | RecordEffectFailed
  | ClaimEffectAttempt
  | ExpireAnalysisDecision;

type StepFact = { deploymentId: string; changeRequestId: string; index: number; name: string; trafficPercent: number; at: string };
export type DeploymentStarted = DomainEvent<'DeploymentStarted', DeploymentIds & { strategy: DeploymentStrategy; steps: DeploymentStep[]; previousVersion?: string; startedAt: string }>;
/** The step is claimed and its ApplyDeploymentStep effect intended (`effectId`); applied once its outcome is recorded. */
export type DeploymentStepStarted = DomainEvent<'DeploymentStepStarted', StepFact & { analysisUntil: string; effectId: string }>;
export type DeploymentStepApplied = DomainEvent<'DeploymentStepApplied', { deploymentId: string; changeRequestId: string; index: number; effectId: string; at: string }>;
export type DeploymentStepCompleted = DomainEvent<'DeploymentStepCompleted', StepFact & { promotedBy?: string; analysis?: AnalysisResult }>;
/** A step's analysis was inconclusive: the rollout waits for one of `decisionRoles` until `decideBy`, then aborts. */
export type DeploymentPaused = DomainEvent<'DeploymentPaused', StepFact & { analysis: AnalysisResult; decisionRoles: string[]; decideBy: string }>;
/** A person decided on a paused rollout: promote (go on) or abort (restore the previous version). */
export type InconclusiveAnalysisDecided = DomainEvent<
  'InconclusiveAnalysisDecided',
  { deploymentId: string; changeRequestId: string; index: number; decision: 'promote' | 'abort'; actor: string; actorRoles: string[]; reason: string; at: string }
>;
export type DeploymentSucceeded = DomainEvent<'DeploymentSucceeded', DeploymentIds & { completedAt: string }>;
export type DeploymentFailed = DomainEvent<'DeploymentFailed', DeploymentIds & { reason: string; at: string }>;
export type DeploymentAborted = DomainEvent<'DeploymentAborted', DeploymentIds & { reason: string; actor: string; at: string }>;
export type DeploymentRolledBack = DomainEvent<
  'DeploymentRolledBack',
  DeploymentIds & {
    reason: string;
    initiator: RollbackInitiator;
    actor: string;
    evidence?: Record<string, unknown>;
    previousVersion?: string;
    /** Why a manual rollback was allowed (domain `decideManualRollback`); absent for automatic ones. */
    basis?: ManualRollbackBasis;
    incidentReviewRef?: string;
    at: string;
  }
>;
/** How a deployment ends once its workload is restored to the previous version. */
export type DeploymentEnding = 'rolled_back' | 'failed' | 'aborted';
/**
 * Intent of the RollBackWorkload effect, recorded before the cluster is touched: the ending event
 * (DeploymentRolledBack / DeploymentFailed / DeploymentAborted) is its outcome, recorded after the restore.
 */
export type DeploymentRollbackRequested = DomainEvent<
  'DeploymentRollbackRequested',
  DeploymentIds & {
    effectId: string;
    ending: DeploymentEnding;
    /** The version restored for all traffic (null: there was none before this deployment). */
    toVersion: string | null;
    reason: string;
    actor: string;
    initiator?: RollbackInitiator;
    evidence?: Record<string, unknown>;
    basis?: ManualRollbackBasis;
    incidentReviewRef?: string;
    requestedAt: string;
  }
>;
/** Another attempt claimed at an intent whose performer stopped before its outcome. */
export type DeploymentEffectClaimed = DomainEvent<'DeploymentEffectClaimed', { deploymentId: string; changeRequestId: string; effectId: string; attempt: number; at: string }>;
/**
 * Failure outcome of an intent: the outside world refused the effect for good at its `attempt`, so it is closed and
 * never retried. Recorded with what follows from it: a step's failure fails the deployment (the previous version is
 * restored); a restore's failure ends it failed, left to a person.
 */
export type DeploymentEffectFailed = DomainEvent<
  'DeploymentEffectFailed',
  { deploymentId: string; changeRequestId: string; effectId: string; effect: DeploymentEffect['kind']; index?: number; reason: string; attempt: number; at: string }
>;
export type DeploymentEvent =
  | DeploymentStarted
  | DeploymentStepStarted
  | DeploymentStepApplied
  | DeploymentPaused
  | InconclusiveAnalysisDecided
  | DeploymentRollbackRequested
  | DeploymentEffectClaimed
  | DeploymentEffectFailed
  | DeploymentStepCompleted
  | DeploymentSucceeded
  | DeploymentFailed
  | DeploymentAborted
  | DeploymentRolledBack;

/** `paused`: a step's analysis was inconclusive and waits for a person's decision; `restoring`: a rollback is intended and the previous version not yet confirmed restored. */
export const DEPLOYMENT_STATUSES = ['running', 'paused', 'restoring', 'succeeded', 'failed', 'aborted', 'rolled_back'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export interface DeploymentProgress extends DeploymentIds {
  status: DeploymentStatus;
  strategy: DeploymentStrategy;
  steps: DeploymentStep[];
  previousVersion?: string;
  startedAt: string;
  completedAt?: string;
  /** Steps completed so far (the next step to start has this index). */
  completedSteps: number;
  /**
   * The step started and not yet completed; `applied` once the cluster accepted it; `attempt` counts claims on its apply;
   * `refused` says why its apply was refused for good (its intent is closed).
   */
  current?: { index: number; startedAt: string; analysisUntil: string; effectId: string; applied: boolean; attempt: number; refused?: string };
  /** Why the rollout is paused (status `paused`) and until when a decision is awaited. */
  paused?: { index: number; decisionRoles: string[]; decideBy: string };
  /** The rollback intended and not yet confirmed (status `restoring`); `attempt` counts claims on it; `refused` as for `current`. */
  restoring?: { intent: DeploymentRollbackRequested['data']; attempt: number; refused?: string };
}
export type DeploymentState = { status: 'not_started' } | DeploymentProgress;

export const DEPLOYMENT_CATEGORY = 'deployment';
export const deploymentStreamId = (changeRequestId: string): string => `${DEPLOYMENT_CATEGORY}-${changeRequestId}`;

export class StepOutOfOrderError extends DomainError {
  override readonly name = 'StepOutOfOrderError';
  readonly code = 'STEP_OUT_OF_ORDER' as const;
  constructor(
    readonly deploymentId: string,
    readonly requested: number,
    readonly expected: number | null,
  ) {
    super(expected === null ? `deployment ${deploymentId} has no step in progress to act on (step ${requested} requested)` : `deployment ${deploymentId} is at step ${expected}; step ${requested} cannot be acted on now`);
  }
}

export class StepAnalysisInProgressError extends DomainError {
  override readonly name = 'StepAnalysisInProgressError';
  readonly code = 'STEP_ANALYSIS_IN_PROGRESS' as const;
  constructor(
    readonly deploymentId: string,
    readonly index: number,
    readonly analysisUntil: string,
  ) {
    super(`step ${index} of deployment ${deploymentId} is analysed until ${analysisUntil}; wait, or promote it explicitly`);
  }
}

export class NothingToPromoteError extends DomainError {
  override readonly name = 'NothingToPromoteError';
  readonly code = 'NOTHING_TO_PROMOTE' as const;
  constructor(readonly deploymentId: string) {
    super(`deployment ${deploymentId} has no step in progress to promote; the next step starts on its own`);
  }
}

export class PlanNotFinishedError extends DomainError {
  override readonly name = 'PlanNotFinishedError';
  readonly code = 'PLAN_NOT_FINISHED' as const;
  constructor(
    readonly deploymentId: string,
    readonly completedSteps: number,
    readonly totalSteps: number,
  ) {
    super(`deployment ${deploymentId} completed ${completedSteps} of ${totalSteps} steps; it succeeds only after the last`);
  }
}

export class StepAnalysisFailedError extends DomainError {
  override readonly name = 'StepAnalysisFailedError';
  readonly code = 'STEP_ANALYSIS_FAILED' as const;
  constructor(
    readonly deploymentId: string,
    readonly index: number,
    readonly reason: string,
  ) {
    super(`step ${index} of deployment ${deploymentId} failed its analysis (${reason}); it is rolled back, not completed`);
  }
}

const AGGREGATE = 'deployment';
/** Who fails a deployment whose step failed on the cluster: the runner itself. */
const RUNNER_ACTOR = 'deployments';

export function decideDeployment(command: DeploymentCommand, state: DeploymentState): DeploymentEvent[] {
  const at = iso(command.data.now);
  if (command.type === 'StartDeployment') {
    if (state.status !== 'not_started') {
      if (state.deploymentId === command.data.deploymentId) return [];
      throw new AlreadyExistsError(AGGREGATE, state.deploymentId);
    }
    const { now: _now, steps, previousVersion, ...rest } = command.data;
    if (steps.length === 0) throw new IllegalTransitionError(AGGREGATE, command.type, 'an empty plan', ['a plan with steps']);
    return [{ type: 'DeploymentStarted', data: { ...rest, steps: steps.map((s) => ({ ...s })), ...(previousVersion !== undefined ? { previousVersion } : {}), startedAt: at } }];
  }
  if (state.status === 'not_started') throw new NotFoundError(AGGREGATE, command.data.changeRequestId);
  const ids = idsOf(state);
  switch (command.type) {
    case 'StartDeploymentStep': {
      const { index } = command.data;
      if (state.current?.index === index || index < state.completedSteps) return [];
      running(state, command.type);
      if (state.current !== undefined || index !== state.completedSteps || index >= state.steps.length) {
        throw new StepOutOfOrderError(state.deploymentId, index, state.current?.index ?? state.completedSteps);
      }
      const step = stepAt(state, index);
      return [{ type: 'DeploymentStepStarted', data: { ...stepFact(state, step, at), analysisUntil: addMinutes(at, step.durationMinutes), effectId: stepEffectId(state.deploymentId, index) } }];
    }
    case 'CompleteDeploymentStep': {
      const { index, promotedBy } = command.data;
      if (index < state.completedSteps) return [];
      running(state, command.type);
      if (state.current?.index !== index) throw new StepOutOfOrderError(state.deploymentId, index, state.current?.index ?? null);
      if (promotedBy === undefined && toMs(command.data.now) < toMs(state.current.analysisUntil)) {
        throw new StepAnalysisInProgressError(state.deploymentId, index, state.current.analysisUntil);
      }
      const { analysis, decision } = command.data;
      const fact = stepFact(state, stepAt(state, index), at);
      if (analysis?.phase === 'Failed') throw new StepAnalysisFailedError(state.deploymentId, index, analysis.reason);
      if (analysis?.phase === 'Inconclusive') {
        if (decision === undefined) throw new IllegalTransitionError(AGGREGATE, command.type, 'an inconclusive analysis without decision rules', ['the environment\'s monitoring.analysis']);
        return [{ type: 'DeploymentPaused', data: { ...fact, analysis, decisionRoles: [...decision.decisionRoles], decideBy: addMinutes(at, decision.decisionTimeoutMinutes) } }];
      }
      return [{ type: 'DeploymentStepCompleted', data: { ...fact, ...(promotedBy !== undefined ? { promotedBy } : {}), ...(analysis !== undefined ? { analysis } : {}) } }];
    }
    case 'PromoteDeployment': {
      if (state.status === 'paused') {
        const decided = decideOnPause(state, 'promote', command.data.actor, command.data.actorRoles, command.data.reason, at);
        return [decided, { type: 'DeploymentStepCompleted', data: { ...stepFact(state, stepAt(state, decided.data.index), at), promotedBy: command.data.actor } }];
      }
      running(state, command.type);
      if (state.current === undefined) throw new NothingToPromoteError(state.deploymentId);
      return [{ type: 'DeploymentStepCompleted', data: { ...stepFact(state, stepAt(state, state.current.index), at), promotedBy: command.data.actor } }];
    }
    case 'ExpireAnalysisDecision': {
      if (state.status !== 'paused' || state.paused === undefined || toMs(command.data.now) < toMs(state.paused.decideBy)) return [];
      const { index, decideBy } = state.paused;
      return [rollbackRequested(state, { ending: 'aborted', reason: `no decision on the inconclusive analysis of step ${index} by ${decideBy}: aborted and rolled back`, actor: RUNNER_ACTOR, at })];
    }
    case 'SucceedDeployment':
      if (state.status === 'succeeded') return [];
      running(state, command.type);
      if (state.completedSteps < state.steps.length) throw new PlanNotFinishedError(state.deploymentId, state.completedSteps, state.steps.length);
      return [{ type: 'DeploymentSucceeded', data: { ...ids, completedAt: at } }];
    case 'FailDeployment':
      if (state.status === 'failed' || state.restoring?.intent.ending === 'failed') return [];
      running(state, command.type);
      return [rollbackRequested(state, { ending: 'failed', reason: requireReason(command.data.reason, 'a failed deployment'), actor: RUNNER_ACTOR, at })];
    case 'AbortDeployment': {
      if (state.status === 'aborted' || state.restoring?.intent.ending === 'aborted') return [];
      const reason = requireReason(command.data.reason, 'an abort');
      const intent = () => rollbackRequested(state, { ending: 'aborted', reason, actor: command.data.actor, at });
      if (state.status === 'paused') return [decideOnPause(state, 'abort', command.data.actor, command.data.actorRoles, reason, at), intent()];
      running(state, command.type);
      return [intent()];
    }
    case 'RollBackDeployment':
      return rollBack(command, state);
    case 'RecordStepApplied': {
      const { current } = state;
      if (state.status !== 'running' || current === undefined || current.index !== command.data.index || current.applied) return [];
      return [{ type: 'DeploymentStepApplied', data: { deploymentId: state.deploymentId, changeRequestId: state.changeRequestId, index: current.index, effectId: current.effectId, at } }];
    }
    case 'CompleteRollback': {
      const intent = state.restoring?.intent;
      if (state.status !== 'restoring' || intent === undefined || intent.effectId !== command.data.effectId) return [];
      return [endingOf(intent, at)];
    }
    case 'RecordEffectFailed':
      return effectFailed(command, state);
    case 'ClaimEffectAttempt': {
      const open = openDeploymentIntents(state).find((i) => i.effect.effectId === command.data.effectId);
      if (open === undefined || command.data.attempt !== open.attempt + 1) return [];
      return [{ type: 'DeploymentEffectClaimed', data: { deploymentId: state.deploymentId, changeRequestId: state.changeRequestId, effectId: command.data.effectId, attempt: command.data.attempt, at } }];
    }
    default:
      return assertNever(command);
  }
}

function rollBack(command: RollBackDeployment, state: DeploymentProgress): DeploymentEvent[] {
  if (state.status === 'rolled_back' || state.restoring?.intent.ending === 'rolled_back') return [];
  const allowedFrom: DeploymentStatus[] = ['running', 'paused', 'succeeded', 'failed'];
  if (!allowedFrom.includes(state.status)) throw new IllegalTransitionError(AGGREGATE, command.type, state.status, allowedFrom);
  const { reason, initiator, actor, evidence, incidentReviewRef, policy, now } = command.data;
  let manual: { basis: ManualRollbackBasis; incidentReviewRef: string | null } | undefined;
  if (initiator === 'manual') {
    // The manual window runs from when the deployment completed; while it still runs, from its start.
    const [authorized] = decideManualRollback({
      type: 'RequestManualRollback',
      data: {
        deploymentId: state.deploymentId,
        environment: state.environment,
        deployedAt: state.completedAt ?? state.startedAt,
        requestedBy: actor,
        reason,
        ...(incidentReviewRef !== undefined ? { incidentReviewRef } : {}),
        policy,
        now,
      },
    });
    manual = { basis: authorized.data.basis, incidentReviewRef: authorized.data.incidentReviewRef };
  }
  return [
    rollbackRequested(state, {
      ending: 'rolled_back',
      reason: requireReason(reason, 'a rollback'),
      actor,
      initiator,
      ...(evidence !== undefined ? { evidence: { ...evidence } } : {}),
      ...(manual ? { basis: manual.basis } : {}),
      ...(manual?.incidentReviewRef ? { incidentReviewRef: manual.incidentReviewRef } : {}),
      at: iso(now),
    }),
  ];
}

/** The failure outcome of an open intent, and what follows from it. */
function effectFailed(command: RecordEffectFailed, state: DeploymentProgress): DeploymentEvent[] {
  const open = openDeploymentIntents(state).find((i) => i.effect.effectId === command.data.effectId);
  if (open === undefined) return [];
  const at = iso(command.data.now);
  const cause = requireReason(command.data.reason, 'a failed effect');
  const { effect, attempt } = open;
  const fact = { deploymentId: state.deploymentId, changeRequestId: state.changeRequestId, effectId: effect.effectId, effect: effect.kind, reason: cause, attempt, at };
  if (effect.kind === 'ApplyDeploymentStep') {
    const { index, name } = effect.step;
    // As a step failed on the cluster: the deployment fails and the version it replaced is restored.
    const reason = `step ${index} (${name}) failed: ${effect.kind} was refused: ${cause}`;
    return [{ type: 'DeploymentEffectFailed', data: { ...fact, index } }, rollbackRequested(state, { ending: 'failed', reason, actor: RUNNER_ACTOR, at })];
  }
  // The restore itself was refused: nothing is left to try here, so the deployment ends failed and says what a person must do.
  const intent = state.restoring!.intent;
  const reason = `${intent.reason}; then ${effect.kind} to ${intent.toVersion ?? 'no version'} was refused: ${cause}; restore the workload by hand`;
  return [{ type: 'DeploymentEffectFailed', data: fact }, { type: 'DeploymentFailed', data: { ...idsOf(state), reason, at } }];
}

/** A person's decision on a paused rollout: one of the policy's decision roles, with a reason. */
function decideOnPause(state: DeploymentProgress, decision: 'promote' | 'abort', actor: string, actorRoles: readonly string[] = [], reason: string | undefined, at: string): InconclusiveAnalysisDecided {
  const paused = state.paused!;
  const why = requireReason(reason, `a decision on a rollout paused by an inconclusive analysis (${decision})`);
  if (!actorRoles.some((role) => paused.decisionRoles.includes(role))) throw new AnalysisDecisionForbiddenError(`deployment ${state.deploymentId}`, actor, paused.decisionRoles);
  return { type: 'InconclusiveAnalysisDecided', data: { deploymentId: state.deploymentId, changeRequestId: state.changeRequestId, index: paused.index, decision, actor, actorRoles: [...actorRoles], reason: why, at } };
}

type RollbackFacts = Pick<DeploymentRollbackRequested['data'], 'ending' | 'reason' | 'actor' | 'initiator' | 'evidence' | 'basis' | 'incidentReviewRef'> & { at: string };

/** The intent to restore the version this deployment replaced, before the cluster is touched. */
function rollbackRequested(state: DeploymentProgress, { at, ...facts }: RollbackFacts): DeploymentRollbackRequested {
  return { type: 'DeploymentRollbackRequested', data: { ...idsOf(state), effectId: rollbackEffectId(state.deploymentId, facts.ending), toVersion: state.previousVersion ?? null, ...facts, requestedAt: at } };
}

/** The outcome of a restore: the ending its intent named, with the intent's facts. */
function endingOf(intent: DeploymentRollbackRequested['data'], at: string): DeploymentEvent {
  const { deploymentId, changeRequestId, releaseId, service, version, environment, reason, actor } = intent;
  const ids = { deploymentId, changeRequestId, releaseId, service, version, environment };
  switch (intent.ending) {
    case 'failed':
      return { type: 'DeploymentFailed', data: { ...ids, reason, at } };
    case 'aborted':
      return { type: 'DeploymentAborted', data: { ...ids, reason, actor, at } };
    case 'rolled_back':
      return {
        type: 'DeploymentRolledBack',
        data: {
          ...ids,
          reason,
          initiator: intent.initiator ?? 'manual',
          actor,
          ...(intent.evidence !== undefined ? { evidence: intent.evidence } : {}),
          ...(intent.toVersion !== null ? { previousVersion: intent.toVersion } : {}),
          ...(intent.basis !== undefined ? { basis: intent.basis } : {}),
          ...(intent.incidentReviewRef !== undefined ? { incidentReviewRef: intent.incidentReviewRef } : {}),
          at,
        },
      };
    default:
      return assertNever(intent.ending);
  }
}

export const stepEffectId = (deploymentId: string, index: number): string => `${deploymentId}:step-${index}:apply`;
export const rollbackEffectId = (deploymentId: string, ending: DeploymentEnding): string => `${deploymentId}:restore:${ending}`;

/** Intents recorded and not yet followed by their outcome: what the effect runner still has to perform. */
export function openDeploymentIntents(state: DeploymentState): OpenIntent<DeploymentEffect>[] {
  if (state.status === 'running' && state.current !== undefined && !state.current.applied && state.current.refused === undefined) {
    const step = stepAt(state, state.current.index);
    return [
      {
        effect: {
          kind: 'ApplyDeploymentStep',
          effectId: state.current.effectId,
          changeRequestId: state.changeRequestId,
          step: { deploymentId: state.deploymentId, service: state.service, environment: state.environment, version: state.version, strategy: state.strategy, index: step.index, name: step.name, trafficPercent: step.trafficPercent },
        },
        attempt: state.current.attempt,
      },
    ];
  }
  if (state.status === 'restoring' && state.restoring !== undefined && state.restoring.refused === undefined) {
    const { intent, attempt } = state.restoring;
    return [
      {
        effect: { kind: 'RollBackWorkload', effectId: intent.effectId, changeRequestId: state.changeRequestId, to: { deploymentId: state.deploymentId, service: state.service, environment: state.environment, version: intent.toVersion } },
        attempt,
      },
    ];
  }
  return [];
}

/** The deployment's effects as the runner sees them (libs/service-kit `effect-runner.ts`). */
export const deploymentEffects: EffectProtocol<DeploymentCommand, DeploymentState, DeploymentEffect> = {
  openIntents: openDeploymentIntents,
  recordOutcome: (effect, now) =>
    effect.kind === 'ApplyDeploymentStep'
      ? { type: 'RecordStepApplied', data: { changeRequestId: effect.changeRequestId, index: effect.step.index, now } }
      : { type: 'CompleteRollback', data: { changeRequestId: effect.changeRequestId, effectId: effect.effectId, now } },
  recordFailure: ({ effect }, reason, now) => ({ type: 'RecordEffectFailed', data: { changeRequestId: effect.changeRequestId, effectId: effect.effectId, reason, now } }),
  claimAttempt: ({ effect, attempt }, now) => ({ type: 'ClaimEffectAttempt', data: { changeRequestId: effect.changeRequestId, effectId: effect.effectId, attempt: attempt + 1, now } }),
};

function running(state: DeploymentProgress, command: DeploymentCommand['type']): void {
  if (state.status !== 'running') throw new IllegalTransitionError(AGGREGATE, command, state.status, ['running']);
}

function stepAt(state: DeploymentProgress, index: number): DeploymentStep {
  const step = state.steps[index];
  if (step === undefined) throw new StepOutOfOrderError(state.deploymentId, index, state.completedSteps);
  return step;
}

function stepFact(state: DeploymentProgress, step: DeploymentStep, at: string): StepFact {
  return { deploymentId: state.deploymentId, changeRequestId: state.changeRequestId, index: step.index, name: step.name, trafficPercent: step.trafficPercent, at };
}

export function idsOf(state: DeploymentProgress): DeploymentIds {
  const { deploymentId, changeRequestId, releaseId, service, version, environment } = state;
  return { deploymentId, changeRequestId, releaseId, service, version, environment };
}

export function evolveDeployment(state: DeploymentState, event: DeploymentEvent): DeploymentState {
  if (event.type === 'DeploymentStarted') {
    const { startedAt, steps, ...rest } = event.data;
    return { ...rest, status: 'running', steps, startedAt, completedSteps: 0 };
  }
  if (state.status === 'not_started') return state;
  switch (event.type) {
    case 'DeploymentStepStarted': {
      const { index, at, analysisUntil } = event.data;
      // Steps recorded before intents carried an effect id get the one they would have had.
      const effectId = (event.data as { effectId?: string }).effectId ?? stepEffectId(state.deploymentId, index);
      return { ...state, current: { index, startedAt: at, analysisUntil, effectId, applied: false, attempt: 1 } };
    }
    case 'DeploymentStepApplied':
      return state.current?.index === event.data.index ? { ...state, current: { ...state.current, applied: true } } : state;
    case 'DeploymentStepCompleted': {
      const { current: _done, paused: _decided, ...rest } = state;
      return { ...rest, status: state.status === 'paused' ? 'running' : state.status, completedSteps: event.data.index + 1 };
    }
    case 'DeploymentPaused':
      return { ...state, status: 'paused', paused: { index: event.data.index, decisionRoles: [...event.data.decisionRoles], decideBy: event.data.decideBy } };
    case 'InconclusiveAnalysisDecided':
      return state;
    case 'DeploymentRollbackRequested':
      return { ...state, status: 'restoring', restoring: { intent: event.data, attempt: 1 } };
    case 'DeploymentEffectClaimed':
      if (state.restoring?.intent.effectId === event.data.effectId) return { ...state, restoring: { ...state.restoring, attempt: event.data.attempt } };
      if (state.current?.effectId === event.data.effectId) return { ...state, current: { ...state.current, attempt: event.data.attempt } };
      return state;
    case 'DeploymentEffectFailed':
      if (state.restoring?.intent.effectId === event.data.effectId) return { ...state, restoring: { ...state.restoring, refused: event.data.reason } };
      if (state.current?.effectId === event.data.effectId) return { ...state, current: { ...state.current, refused: event.data.reason } };
      return state;
    case 'DeploymentSucceeded':
      return { ...state, status: 'succeeded', completedAt: event.data.completedAt };
    case 'DeploymentFailed':
      return withoutRestore({ ...state, status: 'failed' });
    case 'DeploymentAborted':
      return withoutRestore({ ...state, status: 'aborted' });
    case 'DeploymentRolledBack':
      return withoutRestore({ ...state, status: 'rolled_back' });
    default:
      return assertNever(event);
  }
}

function withoutRestore({ restoring: _done, ...state }: DeploymentProgress): DeploymentProgress {
  return state;
}

export const deploymentDecider: Decider<DeploymentCommand, DeploymentEvent, DeploymentState> = {
  decide: decideDeployment,
  evolve: evolveDeployment,
  initialState: () => ({ status: 'not_started' }),
};
