/**
 * Deadline workflows: which facts arm a timer and which disarm it. Pure and stateless — every decision
 * reads only the event — because a cancel of a timer that is not armed records nothing, and each timer's
 * id is derived from the stream its deadline belongs to, so the fact that ends a deadline can name it.
 *
 * A timer's command is its target's command without `now`: the timer runner sends it with the instant it
 * fired, as the deadline checks it replaces did (an overdue review says by how much it was found overdue).
 */
import type { PostDeploymentValidation } from '@gatehouse/policy';
import type { ChangeRequestEvent, TimeOutPostDeploymentValidation } from '../change-request/changeRequest.js';
import { validationDeadline } from '../change-request/postDeploymentValidation.js';
import { assertNever } from '../decider.js';
import type { CheckHotfixDeadlines, HotfixEvent } from '../hotfix/hotfix.js';
import { CHANGE_LIFECYCLE_ACTOR, changeRequestStreamId } from './changeLifecycle.js';
import type { MarkPrerequisiteOverdue, ReleasePlanEvent } from '../release/releasePlan.js';
import { hotfixStreamIdOf } from './hotfixLane.js';
import type { WorkflowCancel, WorkflowSchedule } from './timers.js';
import type { Workflow, WorkflowIgnore } from './workflow.js';

/** The stateless workflows' state. */
type NoState = null;
const noState = { evolve: (): NoState => null, initialState: (): NoState => null };

/** A command a timer sends: its target's command, whose `now` the timer runner supplies (the instant it fired). */
export type TimerCommandOf<C extends { type: string; data: { now: Date } }> = { type: C['type']; data: Omit<C['data'], 'now'> };

/** Deadlines whose fact holds strictly after the instant (`now > deadline`) fire one millisecond after it. */
const justAfter = (instant: string): Date => new Date(Date.parse(instant) + 1);

// ---------------------------------------------------------------- hotfix

export const HOTFIX_DEADLINE_KINDS = ['sla', 'validation-cap', 'review'] as const;
export type HotfixDeadlineKind = (typeof HOTFIX_DEADLINE_KINDS)[number];
export const hotfixTimerId = (hotfixId: string, kind: HotfixDeadlineKind): string => `${hotfixStreamIdOf(hotfixId)}:${kind}`;

export type HotfixDeadlineOutput = WorkflowSchedule<'hotfix', TimerCommandOf<CheckHotfixDeadlines>> | WorkflowCancel | WorkflowIgnore;

/**
 * The SLA runs from identification until the fix is deployed (or the breach is recorded); the staging
 * validation cap from the validation's start until it concludes; the post-incident review from the
 * deployment until the review is recorded. Each fires `CheckHotfixDeadlines`, which records the deadline's fact.
 */
export function decideHotfixDeadlines(input: { event: HotfixEvent }): HotfixDeadlineOutput[] {
  const { event } = input;
  const { hotfixId } = event.data;
  const schedule = (kind: HotfixDeadlineKind, at: Date): HotfixDeadlineOutput => ({
    kind: 'schedule',
    timerId: hotfixTimerId(hotfixId, kind),
    at,
    target: 'hotfix',
    streamId: hotfixStreamIdOf(hotfixId),
    command: { type: 'CheckHotfixDeadlines', data: { hotfixId } },
  });
  const cancel = (kind: HotfixDeadlineKind, reason: string): HotfixDeadlineOutput => ({ kind: 'cancel', timerId: hotfixTimerId(hotfixId, kind), reason });
  switch (event.type) {
    case 'IncidentIdentified':
      return event.data.slaDueAt === null ? [{ kind: 'ignore', reason: 'no SLA for this severity' }] : [schedule('sla', new Date(event.data.slaDueAt))];
    case 'StagingValidationStarted':
      return event.data.deadline === null ? [{ kind: 'ignore', reason: 'staging validation has no cap' }] : [schedule('validation-cap', justAfter(event.data.deadline))];
    case 'StagingValidationCompleted':
      return [cancel('validation-cap', 'staging validation concluded')];
    case 'StagingValidationTimeCapped':
      return [cancel('validation-cap', 'staging validation capped')];
    case 'HotfixDeployedToProduction':
      return [cancel('sla', 'the fix was deployed')];
    case 'HotfixSlaBreached':
      return [cancel('sla', 'the breach is recorded')];
    case 'PostIncidentReviewDue':
      return [schedule('review', justAfter(event.data.dueAt))];
    case 'PostIncidentReviewCompleted':
      return [cancel('review', 'the review is recorded')];
    case 'PostIncidentReviewOverdue':
      return [cancel('review', 'the review is recorded as overdue')];
    case 'HotfixBranchCreated':
    case 'HotfixApproved':
    case 'HotfixSlaMet':
      return [{ kind: 'ignore', reason: `${event.type} arms no deadline` }];
    default:
      return assertNever(event);
  }
}

export const hotfixDeadlinesWorkflow: Workflow<{ event: HotfixEvent }, NoState, HotfixDeadlineOutput, never> = { decide: decideHotfixDeadlines, ...noState };

// ---------------------------------------------------------------- release plan

export const prerequisiteTimerId = (releaseId: string, prerequisiteId: string): string => `releasePlan-${releaseId}:overdue:${prerequisiteId}`;

export type ReleasePlanDeadlineOutput = WorkflowSchedule<'releasePlan', TimerCommandOf<MarkPrerequisiteOverdue>> | WorkflowCancel | WorkflowIgnore;

export interface ReleasePlanDeadlineInput {
  event: ReleasePlanEvent;
  /** The prerequisite's deadline (gathered from its stream: a status change does not repeat it); null for other events. */
  deadline: string | null;
}

/** A prerequisite is due by its deadline while it is pending: added or set back to pending arms it, any other status disarms it. */
export function decideReleasePlanDeadlines(input: ReleasePlanDeadlineInput): ReleasePlanDeadlineOutput[] {
  const { event, deadline } = input;
  switch (event.type) {
    case 'ReleasePrerequisiteAdded':
      return [overdueTimer(event.data.releaseId, event.data.prerequisiteId, event.data.deadline)];
    case 'ReleasePrerequisiteStatusChanged': {
      const { releaseId, prerequisiteId, status } = event.data;
      if (status !== 'pending') return [{ kind: 'cancel', timerId: prerequisiteTimerId(releaseId, prerequisiteId), reason: `prerequisite is ${status}` }];
      return deadline === null ? [{ kind: 'ignore', reason: 'prerequisite not found' }] : [overdueTimer(releaseId, prerequisiteId, deadline)];
    }
    case 'ReleasePrerequisiteOverdue':
      return [{ kind: 'cancel', timerId: prerequisiteTimerId(event.data.releaseId, event.data.prerequisiteId), reason: 'recorded as overdue' }];
    case 'ReleaseCommunicationPlanSet':
      return [{ kind: 'ignore', reason: 'no deadline' }];
    default:
      return assertNever(event);
  }
}

function overdueTimer(releaseId: string, prerequisiteId: string, deadline: string): ReleasePlanDeadlineOutput {
  const at = new Date(deadline);
  return { kind: 'schedule', timerId: prerequisiteTimerId(releaseId, prerequisiteId), at, target: 'releasePlan', streamId: `releasePlan-${releaseId}`, command: { type: 'MarkPrerequisiteOverdue', data: { releaseId, prerequisiteId } } };
}

export const releasePlanDeadlinesWorkflow: Workflow<ReleasePlanDeadlineInput, NoState, ReleasePlanDeadlineOutput, never> = { decide: decideReleasePlanDeadlines, ...noState };

// ---------------------------------------------------------------- post-deployment validation

export const validationTimeoutTimerId = (changeRequestId: string): string => `${changeRequestStreamId(changeRequestId)}:validation-timeout`;

/** The change request facts that start and end a post-deployment validation. */
export const VALIDATION_TIMEOUT_EVENT_TYPES = ['ChangeImplemented', 'ChangeValidated', 'ChangeRolledBack', 'ChangeClosed', 'PostDeploymentValidationTimedOut'] as const;
export type ValidationTimeoutEvent = Extract<ChangeRequestEvent, { type: (typeof VALIDATION_TIMEOUT_EVENT_TYPES)[number] }>;

export type ValidationTimeoutOutput = WorkflowSchedule<'changeRequest', TimerCommandOf<TimeOutPostDeploymentValidation>> | WorkflowCancel | WorkflowIgnore;

export interface ValidationTimeoutInput {
  event: ValidationTimeoutEvent;
  /**
   * For `ChangeImplemented`: the change's environment and its `postDeploymentValidation` in the policy in force
   * (undefined: none asked). The timer carries them, so it fires the validation the change began under. Null otherwise.
   */
  policy: { environment: string; validation: PostDeploymentValidation | undefined } | null;
}

/**
 * A change whose environment asks for post-deployment checks begins validating when its deployment succeeds
 * (`ChangeImplemented`): that arms its timeout, at `timeoutMinutes` after the success, firing
 * `TimeOutPostDeploymentValidation` (which fails the validation, or warns, if a check or sign-off is still
 * missing then). Validated or failed (`ChangeValidated`), rolled back, closed or timed out disarms it.
 */
export function decideValidationTimeout(input: ValidationTimeoutInput): ValidationTimeoutOutput[] {
  const { event, policy } = input;
  const { changeRequestId } = event.data;
  const cancel = (reason: string): ValidationTimeoutOutput[] => [{ kind: 'cancel', timerId: validationTimeoutTimerId(changeRequestId), reason }];
  switch (event.type) {
    case 'ChangeImplemented': {
      if (policy === null) return [{ kind: 'ignore', reason: 'change not found' }];
      const { environment, validation } = policy;
      if (validation === undefined) return [{ kind: 'ignore', reason: `${environment} asks for no post-deployment checks` }];
      return [
        {
          kind: 'schedule',
          timerId: validationTimeoutTimerId(changeRequestId),
          at: new Date(validationDeadline(validation, event.data.completedAt)),
          target: 'changeRequest',
          streamId: changeRequestStreamId(changeRequestId),
          command: { type: 'TimeOutPostDeploymentValidation', data: { changeRequestId, environment, validation, closedBy: CHANGE_LIFECYCLE_ACTOR } },
        },
      ];
    }
    case 'ChangeValidated':
      return cancel(`validation ${event.data.outcome}`);
    case 'ChangeRolledBack':
      return cancel('the change was rolled back');
    case 'ChangeClosed':
      return cancel('the change was closed');
    case 'PostDeploymentValidationTimedOut':
      return cancel('the timeout is recorded');
    default:
      return assertNever(event);
  }
}

export const validationTimeoutWorkflow: Workflow<ValidationTimeoutInput, NoState, ValidationTimeoutOutput, never> = { decide: decideValidationTimeout, ...noState };
