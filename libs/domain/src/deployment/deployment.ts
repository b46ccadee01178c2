import type { DeploymentStrategy, RollbackPolicy } from '@gatehouse/policy';
import { addMinutes, iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, IllegalTransitionError, NotFoundError, requireReason } from '../errors.js';
import { decideManualRollback, type ManualRollbackBasis } from '../rollback/manualRollback.js';

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
/** Completes the step in progress: when its analysis time is over, or early when `promotedBy` names who promoted it. */
export type CompleteDeploymentStep = DomainCommand<'CompleteDeploymentStep', { changeRequestId: string; index: number; promotedBy?: string; now: Date }>;
export type PromoteDeployment = DomainCommand<'PromoteDeployment', { changeRequestId: string; actor: string; now: Date }>;
export type SucceedDeployment = DomainCommand<'SucceedDeployment', { changeRequestId: string; now: Date }>;
export type FailDeployment = DomainCommand<'FailDeployment', { changeRequestId: string; reason: string; now: Date }>;
export type AbortDeployment = DomainCommand<'AbortDeployment', { changeRequestId: string; reason: string; actor: string; now: Date }>;
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
export type DeploymentCommand =
  | StartDeployment
  | StartDeploymentStep
  | CompleteDeploymentStep
  | PromoteDeployment
  | SucceedDeployment
  | FailDeployment
  | AbortDeployment
  | RollBackDeployment;

type StepFact = { deploymentId: string; changeRequestId: string; index: number; name: string; trafficPercent: number; at: string };
export type DeploymentStarted = DomainEvent<'DeploymentStarted', DeploymentIds & { strategy: DeploymentStrategy; steps: DeploymentStep[]; previousVersion?: string; startedAt: string }>;
export type DeploymentStepStarted = DomainEvent<'DeploymentStepStarted', StepFact & { analysisUntil: string }>;
export type DeploymentStepCompleted = DomainEvent<'DeploymentStepCompleted', StepFact & { promotedBy?: string }>;
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
export type DeploymentEvent =
  | DeploymentStarted
  | DeploymentStepStarted
  | DeploymentStepCompleted
  | DeploymentSucceeded
  | DeploymentFailed
  | DeploymentAborted
  | DeploymentRolledBack;

export const DEPLOYMENT_STATUSES = ['running', 'succeeded', 'failed', 'aborted', 'rolled_back'] as const;
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
  /** The step started and not yet completed. */
  current?: { index: number; startedAt: string; analysisUntil: string };
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

const AGGREGATE = 'deployment';

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
      return [{ type: 'DeploymentStepStarted', data: { ...stepFact(state, step, at), analysisUntil: addMinutes(at, step.durationMinutes) } }];
    }
    case 'CompleteDeploymentStep': {
      const { index, promotedBy } = command.data;
      if (index < state.completedSteps) return [];
      running(state, command.type);
      if (state.current?.index !== index) throw new StepOutOfOrderError(state.deploymentId, index, state.current?.index ?? null);
      if (promotedBy === undefined && toMs(command.data.now) < toMs(state.current.analysisUntil)) {
        throw new StepAnalysisInProgressError(state.deploymentId, index, state.current.analysisUntil);
      }
      return [{ type: 'DeploymentStepCompleted', data: { ...stepFact(state, stepAt(state, index), at), ...(promotedBy !== undefined ? { promotedBy } : {}) } }];
    }
    case 'PromoteDeployment': {
      running(state, command.type);
      if (state.current === undefined) throw new NothingToPromoteError(state.deploymentId);
      return [{ type: 'DeploymentStepCompleted', data: { ...stepFact(state, stepAt(state, state.current.index), at), promotedBy: command.data.actor } }];
    }
    case 'SucceedDeployment':
      if (state.status === 'succeeded') return [];
      running(state, command.type);
      if (state.completedSteps < state.steps.length) throw new PlanNotFinishedError(state.deploymentId, state.completedSteps, state.steps.length);
      return [{ type: 'DeploymentSucceeded', data: { ...ids, completedAt: at } }];
    case 'FailDeployment':
      if (state.status === 'failed') return [];
      running(state, command.type);
      return [{ type: 'DeploymentFailed', data: { ...ids, reason: requireReason(command.data.reason, 'a failed deployment'), at } }];
    case 'AbortDeployment':
      if (state.status === 'aborted') return [];
      running(state, command.type);
      return [{ type: 'DeploymentAborted', data: { ...ids, reason: requireReason(command.data.reason, 'an abort'), actor: command.data.actor, at } }];
    case 'RollBackDeployment':
      return rollBack(command, state);
    default:
      return assertNever(command);
  }
}

function rollBack(command: RollBackDeployment, state: DeploymentProgress): DeploymentEvent[] {
  if (state.status === 'rolled_back') return [];
  const allowedFrom: DeploymentStatus[] = ['running', 'succeeded', 'failed'];
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
    {
      type: 'DeploymentRolledBack',
      data: {
        ...idsOf(state),
        reason: requireReason(reason, 'a rollback'),
        initiator,
        actor,
        ...(evidence !== undefined ? { evidence: { ...evidence } } : {}),
        ...(state.previousVersion !== undefined ? { previousVersion: state.previousVersion } : {}),
        ...(manual ? { basis: manual.basis } : {}),
        ...(manual?.incidentReviewRef ? { incidentReviewRef: manual.incidentReviewRef } : {}),
        at: iso(now),
      },
    },
  ];
}

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
    case 'DeploymentStepStarted':
      return { ...state, current: { index: event.data.index, startedAt: event.data.at, analysisUntil: event.data.analysisUntil } };
    case 'DeploymentStepCompleted': {
      const { current: _done, ...rest } = state;
      return { ...rest, completedSteps: event.data.index + 1 };
    }
    case 'DeploymentSucceeded':
      return { ...state, status: 'succeeded', completedAt: event.data.completedAt };
    case 'DeploymentFailed':
      return { ...state, status: 'failed' };
    case 'DeploymentAborted':
      return { ...state, status: 'aborted' };
    case 'DeploymentRolledBack':
      return { ...state, status: 'rolled_back' };
    default:
      return assertNever(event);
  }
}

export const deploymentDecider: Decider<DeploymentCommand, DeploymentEvent, DeploymentState> = {
  decide: decideDeployment,
  evolve: evolveDeployment,
  initialState: () => ({ status: 'not_started' }),
};
