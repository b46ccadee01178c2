/**
 * The change lifecycle workflow: how a change request and its release follow what the other contexts
 * report (approvals, scheduling, deployments, monitoring). Pure: every command's time is the time of the
 * fact that caused it (when the booking was made, when the deployment started…), never the moment this
 * workflow happens to handle it, so a late or redelivered event decides exactly what a prompt one would.
 * An input that depends on a fact not yet recorded (a deployment's start before its booking) is awaited,
 * not refused: reactions do not depend on the delivery order across streams.
 */
import type { PostDeploymentValidation, RollbackPolicy } from '@gatehouse/policy';
import { MS_PER_MINUTE } from '../clock.js';
import { assertNever } from '../decider.js';
import { type DomainError, IllegalTransitionError } from '../errors.js';
import {
  CHANGE_REQUEST_STATUSES,
  changeRequestDecider,
  type ChangeRequestCommand,
  type ChangeRequestEvent,
  type ChangeRequestState,
  type ChangeRequestStatus,
} from '../change-request/changeRequest.js';
import { type DeploymentLane, type HotfixValidationEvidence, releaseDecider, type ReleaseCommand, type ReleaseEvent, type ReleaseState } from '../release/release.js';
import { commandIdFor, type RefusalKind, type Workflow, type WorkflowOutput } from './workflow.js';
import { type DeploymentRolledBackFacts, releaseStepForRollback } from './releaseRollback.js';

/** Actor recorded on the events the workflow causes, and who closes a change after its watch. */
export const CHANGE_LIFECYCLE_ACTOR = 'change-requests';

export const changeRequestStreamId = (changeRequestId: string): string => `changeRequest-${changeRequestId}`;
export const releaseStreamId = (releaseId: string): string => `release-${releaseId}`;

// ---------------------------------------------------------------- input: the facts it reacts to

type ChangeIds = { changeRequestId: string };
type DeploymentIds = ChangeIds & { deploymentId: string };
type ApprovalSubject = { changeRequestId: string; releaseId: string | null; revision: number };

/** The other contexts' events this workflow reacts to (the fields it reads; producers may add more). */
export type ChangeLifecycleEvent =
  | { type: 'DeploymentScheduled' | 'DeploymentRescheduled'; data: ChangeIds & { scheduledFor: string; bookedAt?: string } }
  | { type: 'DeploymentStarted'; data: DeploymentIds & { startedAt: string } }
  | { type: 'DeploymentSucceeded'; data: DeploymentIds & { completedAt: string } }
  | { type: 'DeploymentFailed'; data: DeploymentIds & { reason: string; at: string } }
  | { type: 'DeploymentRolledBack'; data: DeploymentIds & DeploymentRolledBackFacts & { at: string } }
  | { type: 'DeploymentAborted'; data: DeploymentIds & { reason: string; actor: string; at: string } }
  | { type: 'PostDeploymentWatchCompleted'; data: ChangeIds & { completedAt: string } }
  | { type: 'PostDeploymentWatchEnded'; data: ChangeIds & { reason: string; endedAt: string } }
  | { type: 'ChangeFullyApproved'; data: { approvalId: string; subject: ApprovalSubject; approvedAt: string } }
  | { type: 'ApprovalRejected'; data: { approvalId: string; subject: ApprovalSubject; approver: string; reason: string; rejectedAt: string } }
  | { type: 'ApprovalRevoked'; data: { approvalId: string; role: string; approver: string; reason: string; wasFullyApproved: boolean; revokedAt: string } }
  | { type: 'ApprovalsInvalidated'; data: { approvalId: string; reason: string; wasFullyApproved?: boolean | undefined; invalidatedAt: string } };

/** What the policy says about the change's environment, as the decision needs it. */
export interface LifecyclePolicyFacts {
  policyVersion: string;
  /** The change's environment policy; undefined when the policy no longer knows the environment. */
  environment:
    | { promotesFrom: string | undefined; rollback: Pick<RollbackPolicy, 'manualWindowMinutes' | 'beyondWindow'>; postDeploymentValidation?: PostDeploymentValidation | undefined }
    | undefined;
}

export interface ChangeLifecycleInput {
  /** Id of the event: every command it causes derives its id from it. */
  eventId: string;
  event: ChangeLifecycleEvent;
  policy: LifecyclePolicyFacts;
  /** The lane a release deployment of this change takes (gathered for `DeploymentStarted`). */
  lane?: { lane: DeploymentLane; hotfixValidation?: HotfixValidationEvidence };
}

/** The change (its stream) and its release (if it names one), folded from their events. */
export interface ChangeLifecycleState {
  change: ChangeRequestState;
  release: ReleaseState;
}

export type ChangeLifecycleCommand = { target: 'change'; command: ChangeRequestCommand } | { target: 'release'; command: ReleaseCommand };
export type ChangeLifecycleOutput = WorkflowOutput<'change', ChangeRequestCommand> | WorkflowOutput<'release', ReleaseCommand>;

/** The change a lifecycle event is about (approval events name the approval, whose id is the change's). */
export function changeRequestIdOf(event: ChangeLifecycleEvent): string {
  switch (event.type) {
    case 'ChangeFullyApproved':
    case 'ApprovalRejected':
      return event.data.subject.changeRequestId;
    case 'ApprovalRevoked':
    case 'ApprovalsInvalidated':
      return event.data.approvalId;
    default:
      return event.data.changeRequestId;
  }
}

// ---------------------------------------------------------------- decide

type ExistingChange = Exclude<ChangeRequestState, { status: 'not_submitted' }>;

/** Lifecycle order of the statuses on the way to closure; the end states after a failure share the last rank before `closed`. */
const RANK: Readonly<Record<ChangeRequestStatus, number>> = {
  submitted: 0,
  in_review: 1,
  awaiting_approval: 2,
  approved: 3,
  scheduled: 4,
  implementing: 5,
  validating: 6,
  validated: 7,
  validation_failed: 7,
  rolled_back: 7,
  failed: 7,
  closed: 8,
  rejected: 9,
  cancelled: 9,
};

/** The change has not reached `status` yet (and is not rejected or cancelled): the fact it needs is still on its way. */
const before = (change: ExistingChange, status: ChangeRequestStatus): boolean => RANK[change.status] < RANK[status];

export function decideChangeLifecycle(input: ChangeLifecycleInput, state: ChangeLifecycleState): ChangeLifecycleOutput[] {
  const { event, eventId } = input;
  const changeRequestId = changeRequestIdOf(event);
  const change = state.change;
  if (change.status === 'not_submitted') return [{ kind: 'ignore', reason: `change request ${changeRequestId} is unknown` }];
  const cause = { eventId };
  const onChange = (command: ChangeRequestCommand): ChangeLifecycleOutput => ({
    kind: 'send',
    target: 'change',
    streamId: changeRequestStreamId(changeRequestId),
    commandId: commandIdFor(cause, command.type),
    command,
  });
  const releaseId = change.draft.releaseId;
  const onRelease = (command: ReleaseCommand, policyVersion?: string): ChangeLifecycleOutput[] =>
    releaseId === undefined
      ? []
      : [{ kind: 'send', target: 'release', streamId: releaseStreamId(releaseId), commandId: commandIdFor(cause, command.type), command, ...(policyVersion === undefined ? {} : { policyVersion }) }];
  const waitUntil = (status: ChangeRequestStatus, fact: string): ChangeLifecycleOutput[] | null =>
    before(change, status) ? [{ kind: 'await', reason: `change ${changeRequestId} is ${change.status}: waiting until ${fact} is recorded before handling ${event.type}` }] : null;

  switch (event.type) {
    case 'DeploymentScheduled':
    case 'DeploymentRescheduled': {
      const awaiting = waitUntil('approved', 'its approval');
      if (awaiting) return awaiting;
      const { scheduledFor } = event.data;
      // Events recorded before bookings carried their time: the slot itself is the latest the booking can have been made.
      const bookedAt = new Date(event.data.bookedAt ?? scheduledFor);
      const end = new Date(Date.parse(scheduledFor) + change.draft.schedule.duration * MS_PER_MINUTE);
      return [onChange({ type: 'ScheduleChange', data: { changeRequestId, window: { start: new Date(scheduledFor).toISOString(), end: end.toISOString() }, scheduledBy: 'scheduling', bookedAt, now: bookedAt } })];
    }
    case 'DeploymentStarted': {
      const awaiting = waitUntil('scheduled', 'its booking');
      if (awaiting) return awaiting;
      const now = new Date(event.data.startedAt);
      const lane = input.lane ?? { lane: 'normal' as const };
      return [
        onChange({ type: 'StartChangeImplementation', data: { changeRequestId, implementer: 'deployments', now } }),
        // A hotfix lane change takes the hotfix lane with its staging-validation evidence; every other change the normal lane.
        ...onRelease(
          { type: 'StartReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId: event.data.deploymentId, environment: change.draft.environments[0] ?? '', promotesFrom: input.policy.environment?.promotesFrom, ...lane, startedBy: 'deployments', now } },
          input.policy.policyVersion,
        ),
      ];
    }
    case 'DeploymentSucceeded': {
      const awaiting = waitUntil('implementing', 'the start of its deployment');
      if (awaiting) return awaiting;
      const now = new Date(event.data.completedAt);
      return [
        onChange({ type: 'CompleteChangeImplementation', data: { changeRequestId, implementer: 'deployments', now } }),
        ...onRelease({ type: 'CompleteReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId: event.data.deploymentId, now } }),
      ];
    }
    case 'DeploymentFailed': {
      const awaiting = waitUntil('implementing', 'the start of its deployment');
      if (awaiting) return awaiting;
      const { reason, deploymentId } = event.data;
      const now = new Date(event.data.at);
      return [
        onChange({ type: 'FailChangeImplementation', data: { changeRequestId, reason, now } }),
        ...onRelease({ type: 'FailReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId, reason, now } }),
      ];
    }
    case 'DeploymentRolledBack': {
      const awaiting = waitUntil('implementing', 'the start of its deployment');
      if (awaiting) return awaiting;
      const { reason, initiator, deploymentId } = event.data;
      const now = new Date(event.data.at);
      const requestedBy = initiator === 'automatic' ? 'monitoring' : 'deployments';
      const outputs = [onChange({ type: 'RollBackChange', data: { changeRequestId, requestedBy, reason, now } })];
      if (releaseId === undefined) return outputs;
      // Any rollback deployments performed (automatic or manual, in any window) reaches the release record.
      const releaseStep = releaseStepForRollback(event.data, state.release, change.draft.environments[0] ?? '', now);
      return releaseStep === null ? outputs : [...outputs, ...onRelease(releaseStep, input.policy.policyVersion)];
    }
    case 'DeploymentAborted': {
      const { deploymentId, actor } = event.data;
      const reason = `aborted by ${actor}: ${event.data.reason}`;
      const now = new Date(event.data.at);
      // Aborted before it started implementing: the change is cancelled; during implementation: it failed.
      if (change.status !== 'implementing') return [onChange({ type: 'CancelChange', data: { changeRequestId, cancelledBy: actor, reason, now } })];
      return [
        onChange({ type: 'FailChangeImplementation', data: { changeRequestId, reason, now } }),
        ...onRelease({ type: 'FailReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId, reason, now } }),
      ];
    }
    case 'PostDeploymentWatchEnded': {
      // The watch stopped early (rolled back, failed, aborted): the change closes with the outcome recorded by then.
      const awaiting = waitUntil('validated', `the ${event.data.reason.replace('_', ' ')} outcome of its deployment`);
      if (awaiting) return awaiting;
      return [onChange({ type: 'CloseChange', data: { changeRequestId, closedBy: CHANGE_LIFECYCLE_ACTOR, now: new Date(event.data.endedAt) } })];
    }
    case 'PostDeploymentWatchCompleted': {
      const awaiting = waitUntil('validating', 'the success of its deployment');
      if (awaiting) return awaiting;
      const now = new Date(event.data.completedAt);
      // The watch is one fact of the validation: the change decides, with its post-deployment checks, whether it is validated and closes.
      if (change.status === 'validating') {
        const environment = change.draft.environments[0] ?? '';
        const validation = input.policy.environment?.postDeploymentValidation;
        return [onChange({ type: 'CompletePostDeploymentWatch', data: { changeRequestId, environment, validation, closedBy: CHANGE_LIFECYCLE_ACTOR, now } })];
      }
      if (change.status === 'validated') return [onChange({ type: 'CloseChange', data: { changeRequestId, closedBy: CHANGE_LIFECYCLE_ACTOR, now } })];
      return [{ kind: 'ignore', reason: `change ${changeRequestId} is ${change.status}: its post-deployment validation already decided` }];
    }
    case 'ChangeFullyApproved': {
      const awaiting = waitUntil('awaiting_approval', 'the completion of its review');
      if (awaiting) return awaiting;
      const { approvalId, subject } = event.data;
      const now = new Date(event.data.approvedAt);
      const outputs = [onChange({ type: 'RecordChangeApproval', data: { changeRequestId, approvalId, now } })];
      // The release is approved once, by the first change that is; later changes deploy an approved or deployed release.
      if (subject.releaseId === null || state.release.status !== 'planned') return outputs;
      return [
        ...outputs,
        { kind: 'send', target: 'release', streamId: releaseStreamId(subject.releaseId), commandId: commandIdFor(cause, 'ApproveRelease'), command: { type: 'ApproveRelease', data: { releaseId: subject.releaseId, approvalId, revision: subject.revision, now } } },
      ];
    }
    case 'ApprovalRejected':
      return [onChange({ type: 'RejectChangeRequest', data: { changeRequestId, rejectedBy: event.data.approver, reason: event.data.reason, now: new Date(event.data.rejectedAt) } })];
    // A full approval that no longer holds sends the change back to wait for approval (scheduling then cancels its booking);
    // a grant taken back while approvals were still being collected changes nothing for the change.
    case 'ApprovalRevoked': {
      const { approvalId, approver, role, reason, wasFullyApproved } = event.data;
      if (!wasFullyApproved) return [{ kind: 'ignore', reason: `the ${role} grant was revoked before the change was fully approved` }];
      const awaiting = waitUntil('approved', 'its approval');
      if (awaiting) return awaiting;
      return [
        onChange({
          type: 'WithdrawChangeApproval',
          data: { changeRequestId, approvalId, cause: 'revoked', withdrawnBy: approver, reason: `${approver} revoked the ${role} approval: ${reason}`, now: new Date(event.data.revokedAt) },
        }),
      ];
    }
    case 'ApprovalsInvalidated': {
      const { approvalId, reason, wasFullyApproved } = event.data;
      if (wasFullyApproved !== true) return [{ kind: 'ignore', reason: 'the approvals were invalidated before the change was fully approved' }];
      const awaiting = waitUntil('approved', 'its approval');
      if (awaiting) return awaiting;
      return [onChange({ type: 'WithdrawChangeApproval', data: { changeRequestId, approvalId, cause: 'invalidated', withdrawnBy: 'approvals', reason, now: new Date(event.data.invalidatedAt) } })];
    }
    default:
      return assertNever(event);
  }
}

// ---------------------------------------------------------------- evolve

export function evolveChangeLifecycle(state: ChangeLifecycleState, event: ChangeRequestEvent | ReleaseEvent): ChangeLifecycleState {
  if (isChangeRequestEvent(event)) return { ...state, change: changeRequestDecider.evolve(state.change, event) };
  return { ...state, release: releaseDecider.evolve(state.release, event) };
}

// A record over the union, so a change event added to the decider without being listed here does not compile
// (an unlisted one was folded as a release event and stalled the workflow).
const CHANGE_EVENT_TYPE_FLAGS: Readonly<Record<ChangeRequestEvent['type'], true>> = {
  ChangeRequestSubmitted: true,
  ChangeRequestPreApproved: true,
  ChangeReviewStarted: true,
  ChangeReviewCompleted: true,
  ChangeRequestApproved: true,
  ChangeApprovalWithdrawn: true,
  ChangeRequestRejected: true,
  ChangeScheduled: true,
  ChangeImplementationStarted: true,
  ChangeImplemented: true,
  ChangeImplementationFailed: true,
  ChangeValidated: true,
  ChangeRolledBack: true,
  ChangeClosed: true,
  PostImplementationReviewRecorded: true,
  ChangeCancelled: true,
  PostDeploymentWatchPassed: true,
  PostDeploymentCheckRecorded: true,
  PostDeploymentValidationSignedOff: true,
  PostDeploymentValidationTimedOut: true,
};
const CHANGE_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(CHANGE_EVENT_TYPE_FLAGS));

function isChangeRequestEvent(event: ChangeRequestEvent | ReleaseEvent): event is ChangeRequestEvent {
  return CHANGE_EVENT_TYPES.has(event.type);
}

export const initialChangeLifecycleState = (): ChangeLifecycleState => ({ change: changeRequestDecider.initialState(), release: releaseDecider.initialState() });

/**
 * A refusal of one of this workflow's change commands is caused by delivery order when the change has not
 * reached any status the command is allowed from yet (e.g. "StartChangeImplementation is not allowed while
 * approved": its booking is still on the way): it is retried. Any other refusal is final.
 */
export function classifyChangeLifecycleRefusal(error: DomainError): RefusalKind {
  if (!(error instanceof IllegalTransitionError) || error.aggregate !== 'change request') return 'final';
  const current = error.status as ChangeRequestStatus;
  if (!CHANGE_REQUEST_STATUSES.includes(current)) return 'final';
  const allowed = error.allowedFrom.filter((s): s is ChangeRequestStatus => (CHANGE_REQUEST_STATUSES as readonly string[]).includes(s));
  return allowed.length > 0 && allowed.every((status) => RANK[current] < RANK[status]) ? 'order' : 'final';
}

export const changeLifecycleWorkflow: Workflow<ChangeLifecycleInput, ChangeLifecycleState, ChangeLifecycleOutput, ChangeRequestEvent | ReleaseEvent> = {
  decide: decideChangeLifecycle,
  evolve: evolveChangeLifecycle,
  initialState: initialChangeLifecycleState,
};
