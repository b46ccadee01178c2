import type { EnvironmentPolicy, PostDeploymentValidation } from '@gatehouse/policy';
import { z } from 'zod';
import { iso, toMs, MS_PER_MINUTE } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, IllegalTransitionError, NotFoundError, requireReason, SeparationOfDutiesViolation, UnknownEnvironmentError, ValidationError } from '../errors.js';
import { parseOrThrow } from '../validation.js';
import {
  decidePostDeploymentValidation,
  type CheckResultStatus,
  type PostDeploymentCheckResult,
  type PostDeploymentSignOff,
  type PostDeploymentValidationDecision,
  SignOffNotAskedError,
  SignOffRoleRequiredError,
  UnknownPostDeploymentCheckError,
  SIGN_OFF_CHECK,
  ValidationNotDueError,
  validationDeadline,
} from './postDeploymentValidation.js';
import { assessRisk, CHANGE_SIZES, IMPACTS, LIKELIHOODS, mostExposed, RISK_LEVELS, type EnvironmentExposure, type RiskAssessment } from './riskScore.js';

// ---------------------------------------------------------------- payload

/** standard: pre-approved routine change; normal: full workflow; emergency: fast-track (hotfix lane). */
export const CHANGE_KINDS = ['standard', 'normal', 'emergency'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];
export const CHANGE_REQUEST_TYPES = ['enhancement', 'bug_fix', 'security', 'infrastructure'] as const;
export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;

/** Where a CI change's initiator comes from (see `ChangeRequestDraft.initiatorSource`). */
export const INITIATOR_SOURCES = ['token_claim', 'publisher_assertion'] as const;
export type InitiatorSource = (typeof INITIATOR_SOURCES)[number];

/** The seeds' ChangeRequest, as submitted (HTTP/CLI input is validated against it). */
export const ChangeRequestDraft = z.strictObject({
  title: z.string().trim().min(1, 'a change needs a title'),
  description: z.string().trim().min(1, 'describe the change'),
  type: z.enum(CHANGE_REQUEST_TYPES),
  priority: z.enum(PRIORITIES),
  impact: z.enum(IMPACTS),
  /** The author's own risk estimate; Gatehouse computes its own score beside it. */
  risk: z.enum(RISK_LEVELS),
  /** Likelihood that the change causes a problem. @defaultValue "medium" */
  likelihood: z.enum(LIKELIHOODS).default('medium'),
  /** Size of the change. @defaultValue "medium" */
  size: z.enum(CHANGE_SIZES).default('medium'),
  environments: z.array(z.string().min(1)).min(1, 'name at least one environment'),
  schedule: z.strictObject({
    planned: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' }),
    /** Minutes. */
    duration: z.number().int().positive(),
    maintenance: z.boolean().default(false),
  }),
  implementationPlan: z.string().trim().min(1, 'describe how the change is implemented'),
  rollbackPlan: z.string().trim().min(1, 'describe how the change is rolled back'),
  testingPlan: z.string().trim().min(1, 'describe how the change is tested'),
  /** Runbook documentation; production requires one (policy `requirements.runbook`). */
  runbookRef: z.string().trim().min(1).optional(),
  releaseId: z.string().min(1).optional(),
  /** The hotfix (`hotfix-<id>`) an emergency change to production ships: its lane records the change's approval and deployment. */
  hotfixId: z.string().min(1).optional(),
  includesMigration: z.boolean().default(false),
  /** A standard change names its pre-approved template from the environment policy's catalogue (`approvals.standardChangeTemplates`). */
  standardTemplateId: z.string().trim().min(1).optional(),
  author: z.string().min(1),
  /**
   * The person behind a change that a machine submitted (CI ingestion: the CloudEvent's `initiator`, signed by the
   * CI system's credentials); separation of duties applies to them as to the author. Never taken from a person's request.
   */
  initiator: z.string().min(1).optional(),
  /**
   * How the initiator is known: `token_claim` — a claim of the CI token that published the request (the identity
   * provider or the gateway's secret vouches for it); `publisher_assertion` — only the publisher's word (a CloudEvent
   * field, sent with a token that carries no such claim, or over NATS).
   */
  initiatorSource: z.enum(INITIATOR_SOURCES).optional(),
});
export type ChangeRequestDraft = z.infer<typeof ChangeRequestDraft>;

/** What a change request needs to know about each environment it touches (from its policy). */
export interface EnvironmentChangeRules {
  runbookRequired: boolean;
  standardChangesPreApproved: boolean;
  /** Ids of the pre-approved change templates the environment's policy names; a standard change must use one. */
  standardChangeTemplates: readonly string[];
  exposure: EnvironmentExposure;
}

/** Derives the change rules from an environment policy (production exposure by name, pre-production when promoted into). */
export function changeRulesFromPolicy(policy: Pick<EnvironmentPolicy, 'environment' | 'promotesFrom' | 'requirements' | 'approvals'>): EnvironmentChangeRules {
  return {
    runbookRequired: policy.requirements.runbook,
    standardChangesPreApproved: policy.approvals.standardChangesPreApproved,
    standardChangeTemplates: policy.approvals.standardChangeTemplates.map((t) => t.id),
    exposure: policy.environment === 'production' ? 'production' : policy.promotesFrom !== undefined ? 'pre_production' : 'internal',
  };
}

// ---------------------------------------------------------------- commands

export type SubmitChangeRequest = DomainCommand<
  'SubmitChangeRequest',
  {
    changeRequestId: string;
    kind: ChangeKind;
    /** Unvalidated payload; see `ChangeRequestDraft`. */
    draft: unknown;
    /** Rules of every known environment, by name. */
    environmentRules: Readonly<Record<string, EnvironmentChangeRules>>;
    /** The planned time falls outside the environment's windows (policy evaluation). */
    outsideWindows: boolean;
    now: Date;
  }
>;
export type StartChangeReview = DomainCommand<'StartChangeReview', { changeRequestId: string; reviewer: string; now: Date }>;
export type CompleteChangeReview = DomainCommand<'CompleteChangeReview', { changeRequestId: string; reviewer: string; notes: string; now: Date }>;
/** Sent by the approvals process manager on `ChangeFullyApproved`. */
export type RecordChangeApproval = DomainCommand<'RecordChangeApproval', { changeRequestId: string; approvalId: string; now: Date }>;
/**
 * Sent by the approvals process manager when the change's full approval no longer holds (a grant was
 * revoked, or a release change invalidated the approvals); the change waits for approval again.
 */
export type WithdrawChangeApproval = DomainCommand<
  'WithdrawChangeApproval',
  { changeRequestId: string; approvalId: string; cause: ApprovalWithdrawalCause; withdrawnBy: string; reason: string; now: Date }
>;
export type RejectChangeRequest = DomainCommand<'RejectChangeRequest', { changeRequestId: string; rejectedBy: string; reason: string; now: Date }>;
/**
 * Records the booking scheduling made. `bookedAt` is when scheduling decided it: the window is checked against
 * that instant, not against `now` (when this change hears of it), so a slot booked "now" in a continuous
 * environment stays valid however late the booking is recorded here.
 */
export type ScheduleChange = DomainCommand<
  'ScheduleChange',
  { changeRequestId: string; window: { start: string; end: string }; scheduledBy: string; bookedAt: Date; now: Date }
>;
export type StartChangeImplementation = DomainCommand<'StartChangeImplementation', { changeRequestId: string; implementer: string; now: Date }>;
export type CompleteChangeImplementation = DomainCommand<'CompleteChangeImplementation', { changeRequestId: string; implementer: string; now: Date }>;
export type FailChangeImplementation = DomainCommand<'FailChangeImplementation', { changeRequestId: string; reason: string; now: Date }>;
export type RollBackChange = DomainCommand<'RollBackChange', { changeRequestId: string; requestedBy: string; reason: string; now: Date }>;
export type CloseChange = DomainCommand<'CloseChange', { changeRequestId: string; closedBy: string; postImplementationReviewRef?: string; now: Date }>;
/**
 * The post-incident review of the hotfix an emergency change shipped was completed: recorded on the change, which
 * closes at once when it can (validated, rolled back, failed) and otherwise when its post-deployment watch ends.
 */
export type RecordPostImplementationReview = DomainCommand<'RecordPostImplementationReview', { changeRequestId: string; reviewRef: string; recordedBy: string; now: Date }>;
export type CancelChange = DomainCommand<'CancelChange', { changeRequestId: string; cancelledBy: string; reason: string; now: Date }>;
/** What the post-deployment validation commands carry of the change's environment policy (undefined: none asked). */
interface ValidationPolicyFacts {
  environment: string;
  validation: PostDeploymentValidation | undefined;
}
/** The post-deployment watch passed (lifecycle workflow): the change is validated if its checks allow it, and closes. */
export type CompletePostDeploymentWatch = DomainCommand<'CompletePostDeploymentWatch', ValidationPolicyFacts & { changeRequestId: string; closedBy: string; now: Date }>;
/** A post-deployment check's result (CI, smoke tests). After a timeout it is recorded, late, and decides nothing. */
export type RecordPostDeploymentCheck = DomainCommand<
  'RecordPostDeploymentCheck',
  ValidationPolicyFacts & { changeRequestId: string; check: string; status: CheckResultStatus; reportedBy: string; closedBy: string; now: Date }
>;
/** A person signs the post-deployment validation off; never the change's author or CI initiator. */
export type SignOffPostDeploymentValidation = DomainCommand<
  'SignOffPostDeploymentValidation',
  ValidationPolicyFacts & { changeRequestId: string; signer: string; signerRoles: readonly string[]; closedBy: string; now: Date }
>;
/** The validation's timeout passed (its timer, armed when the change began validating, fired on the injectable clock). */
export type TimeOutPostDeploymentValidation = DomainCommand<'TimeOutPostDeploymentValidation', ValidationPolicyFacts & { changeRequestId: string; closedBy: string; now: Date }>;

export type ChangeRequestCommand =
  | SubmitChangeRequest
  | StartChangeReview
  | CompleteChangeReview
  | RecordChangeApproval
  | WithdrawChangeApproval
  | RejectChangeRequest
  | ScheduleChange
  | StartChangeImplementation
  | CompleteChangeImplementation
  | FailChangeImplementation
  | RollBackChange
  | CloseChange
  | RecordPostImplementationReview
  | CancelChange
  | CompletePostDeploymentWatch
  | RecordPostDeploymentCheck
  | SignOffPostDeploymentValidation
  | TimeOutPostDeploymentValidation;

// ---------------------------------------------------------------- events

export type ChangeRequestSubmitted = DomainEvent<
  'ChangeRequestSubmitted',
  { changeRequestId: string; kind: ChangeKind; draft: ChangeRequestDraft; riskAssessment: RiskAssessment; submittedAt: string }
>;
export type ChangeRequestPreApproved = DomainEvent<'ChangeRequestPreApproved', { changeRequestId: string; basis: 'standard_change'; approvedAt: string }>;
export type ChangeReviewStarted = DomainEvent<'ChangeReviewStarted', { changeRequestId: string; reviewer: string; startedAt: string }>;
export type ChangeReviewCompleted = DomainEvent<'ChangeReviewCompleted', { changeRequestId: string; reviewer: string; notes: string; completedAt: string }>;
export type ChangeRequestApproved = DomainEvent<'ChangeRequestApproved', { changeRequestId: string; approvalId: string; approvedAt: string }>;
/** revoked: an approver took a grant back; invalidated: the release's content changed under the approval. */
export type ApprovalWithdrawalCause = 'revoked' | 'invalidated';
export type ChangeApprovalWithdrawn = DomainEvent<
  'ChangeApprovalWithdrawn',
  { changeRequestId: string; approvalId: string; cause: ApprovalWithdrawalCause; withdrawnBy: string; reason: string; stage: ChangeRequestStatus; withdrawnAt: string }
>;
export type ChangeRequestRejected = DomainEvent<'ChangeRequestRejected', { changeRequestId: string; rejectedBy: string; reason: string; stage: ChangeRequestStatus; rejectedAt: string }>;
export type ChangeScheduled = DomainEvent<'ChangeScheduled', { changeRequestId: string; windowStart: string; windowEnd: string; scheduledBy: string; scheduledAt: string }>;
export type ChangeImplementationStarted = DomainEvent<'ChangeImplementationStarted', { changeRequestId: string; implementer: string; startedAt: string }>;
export type ChangeImplemented = DomainEvent<'ChangeImplemented', { changeRequestId: string; implementer: string; completedAt: string }>;
export type ChangeImplementationFailed = DomainEvent<'ChangeImplementationFailed', { changeRequestId: string; reason: string; failedAt: string }>;
export type ChangeValidated = DomainEvent<'ChangeValidated', { changeRequestId: string; validator: string; outcome: 'passed' | 'failed'; notes: string; validatedAt: string }>;
export type ChangeRolledBack = DomainEvent<'ChangeRolledBack', { changeRequestId: string; requestedBy: string; reason: string; rolledBackAt: string }>;
export type ChangeClosed = DomainEvent<
  'ChangeClosed',
  { changeRequestId: string; closedBy: string; outcome: 'successful' | 'rolled_back' | 'failed'; postImplementationReviewRef: string | null; closedAt: string }
>;
export type ChangeCancelled = DomainEvent<'ChangeCancelled', { changeRequestId: string; cancelledBy: string; reason: string; cancelledAt: string }>;
export type PostDeploymentWatchPassed = DomainEvent<'PostDeploymentWatchPassed', { changeRequestId: string; passedAt: string }>;
export type PostDeploymentCheckRecorded = DomainEvent<
  'PostDeploymentCheckRecorded',
  { changeRequestId: string; check: string; status: CheckResultStatus; reportedBy: string; late: boolean; recordedAt: string }
>;
export type PostDeploymentValidationSignedOff = DomainEvent<'PostDeploymentValidationSignedOff', { changeRequestId: string; signer: string; signedAt: string }>;
export type PostDeploymentValidationTimedOut = DomainEvent<
  'PostDeploymentValidationTimedOut',
  { changeRequestId: string; missing: string[]; onTimeout: 'fail' | 'warn'; timedOutAt: string }
>;
export type PostImplementationReviewRecorded = DomainEvent<'PostImplementationReviewRecorded', { changeRequestId: string; reviewRef: string; recordedBy: string; recordedAt: string }>;

export type ChangeRequestEvent =
  | ChangeRequestSubmitted
  | ChangeRequestPreApproved
  | ChangeReviewStarted
  | ChangeReviewCompleted
  | ChangeRequestApproved
  | ChangeApprovalWithdrawn
  | ChangeRequestRejected
  | ChangeScheduled
  | ChangeImplementationStarted
  | ChangeImplemented
  | ChangeImplementationFailed
  | ChangeValidated
  | ChangeRolledBack
  | ChangeClosed
  | PostImplementationReviewRecorded
  | ChangeCancelled
  | PostDeploymentWatchPassed
  | PostDeploymentCheckRecorded
  | PostDeploymentValidationSignedOff
  | PostDeploymentValidationTimedOut;

// ---------------------------------------------------------------- state

export const CHANGE_REQUEST_STATUSES = [
  'submitted',
  'in_review',
  'awaiting_approval',
  'approved',
  'scheduled',
  'implementing',
  'validating',
  'validated',
  'validation_failed',
  'closed',
  'rejected',
  'cancelled',
  'rolled_back',
  'failed',
] as const;
export type ChangeRequestStatus = (typeof CHANGE_REQUEST_STATUSES)[number];

export type ChangeRequestState =
  | { status: 'not_submitted' }
  | {
      status: ChangeRequestStatus;
      changeRequestId: string;
      kind: ChangeKind;
      draft: ChangeRequestDraft;
      riskAssessment: RiskAssessment;
      approvalId: string | null;
      window: { start: string; end: string } | null;
      /** Closure outcome so far. */
      outcome: 'successful' | 'rolled_back' | 'failed' | null;
      /** Post-implementation review recorded before the change could close (emergency changes). */
      reviewRef?: string | null;
      /** Facts of the post-deployment validation, from the deployment's success on. */
      validation?: ValidationState;
    };
interface ValidationState {
  deployedAt: string;
  watchPassed: boolean;
  results: PostDeploymentCheckResult[];
  signOffs: PostDeploymentSignOff[];
  timedOut: boolean;
}
type ExistingChange = Exclude<ChangeRequestState, { status: 'not_submitted' }>;

/** The workflow: which statuses each command may start from. */
export const CHANGE_REQUEST_WORKFLOW: Readonly<Record<Exclude<ChangeRequestCommand['type'], 'SubmitChangeRequest'>, readonly ChangeRequestStatus[]>> = {
  StartChangeReview: ['submitted'],
  CompleteChangeReview: ['in_review'],
  RecordChangeApproval: ['awaiting_approval'],
  // Only before the deployment starts: from then on the approval is spent (approvals refuses the revocation).
  WithdrawChangeApproval: ['approved', 'scheduled'],
  RejectChangeRequest: ['in_review', 'awaiting_approval'],
  ScheduleChange: ['approved', 'scheduled'],
  StartChangeImplementation: ['scheduled'],
  CompleteChangeImplementation: ['implementing'],
  FailChangeImplementation: ['implementing'],
  RollBackChange: ['implementing', 'validating', 'validation_failed'],
  CloseChange: ['validated', 'rolled_back', 'failed'],
  RecordPostImplementationReview: ['implementing', 'validating', 'validated', 'validation_failed', 'rolled_back', 'failed'],
  CancelChange: ['submitted', 'in_review', 'awaiting_approval', 'approved', 'scheduled'],
  CompletePostDeploymentWatch: ['validating'],
  // Only while validating; a result after a timeout is recorded late (checked in the decision).
  RecordPostDeploymentCheck: ['validating', 'validated', 'validation_failed', 'rolled_back', 'closed'],
  SignOffPostDeploymentValidation: ['validating'],
  TimeOutPostDeploymentValidation: ['validating'],
};

// ---------------------------------------------------------------- errors

export class RunbookRequiredError extends DomainError {
  override readonly name = 'RunbookRequiredError';
  readonly code = 'RUNBOOK_REQUIRED' as const;
  constructor(readonly environment: string) {
    super(`changes to ${environment} must reference runbook documentation (runbookRef)`);
  }
}

export class StandardChangeNotEligibleError extends DomainError {
  override readonly name = 'StandardChangeNotEligibleError';
  readonly code = 'STANDARD_CHANGE_NOT_ELIGIBLE' as const;
  constructor(
    readonly riskLevel: string,
    readonly score: number,
  ) {
    super(`a standard (pre-approved) change must be low or medium risk; this one scores ${score} (${riskLevel}): submit it as a normal change`);
  }
}

export class ScheduleOutsideWindowError extends DomainError {
  override readonly name = 'ScheduleOutsideWindowError';
  readonly code = 'SCHEDULE_OUTSIDE_WINDOW' as const;
  constructor(
    readonly problem: 'window_in_past' | 'window_too_short' | 'not_in_window',
    readonly window: { start: string; end: string },
    readonly detail: string,
  ) {
    super(detail);
  }
}

export class PostImplementationReviewRequiredError extends DomainError {
  override readonly name = 'PostImplementationReviewRequiredError';
  readonly code = 'POST_IMPLEMENTATION_REVIEW_REQUIRED' as const;
  constructor(readonly changeRequestId: string) {
    super(`emergency change ${changeRequestId} can only close with a post-implementation review reference (postImplementationReviewRef)`);
  }
}

export class StandardChangeTemplateRequiredError extends DomainError {
  override readonly name = 'StandardChangeTemplateRequiredError';
  readonly code = 'STANDARD_CHANGE_TEMPLATE_REQUIRED' as const;
  constructor(
    readonly environment: string,
    readonly templateId: string | null,
    readonly catalogue: readonly string[],
  ) {
    super(
      (templateId === null
        ? `a standard (pre-approved) change must name its template (standardTemplateId) from ${environment}'s catalogue of pre-approved changes`
        : `"${templateId}" is not a pre-approved change template of ${environment}`) +
        (catalogue.length === 0
          ? `; ${environment}'s policy pre-approves no change templates: submit a normal change`
          : `; the policy's catalogue (approvals.standardChangeTemplates): ${catalogue.join(', ')}`),
    );
  }
}

/** Who the rules of separation of duties keep away from a change's review, approval and validation: its author and, for CI submissions, the person who pushed. */
export function changeOwners(draft: Pick<ChangeRequestDraft, 'author' | 'initiator'>): string[] {
  return draft.initiator === undefined || draft.initiator === draft.author ? [draft.author] : [draft.author, draft.initiator];
}

function refuseOwner(draft: ChangeRequestDraft, person: string, rule: 'author_cannot_review' | 'author_cannot_validate' | 'author_cannot_review_incident', action: string): void {
  if (!changeOwners(draft).includes(person)) return;
  const role = person === draft.author ? 'wrote' : 'initiated (through CI)';
  throw new SeparationOfDutiesViolation(person, rule, `${person} ${role} the change and cannot ${action}`);
}

// ---------------------------------------------------------------- decide

const AGGREGATE = 'change request';

function existing(state: ChangeRequestState, command: Exclude<ChangeRequestCommand, SubmitChangeRequest>): ExistingChange {
  if (state.status === 'not_submitted') throw new NotFoundError(AGGREGATE, command.data.changeRequestId);
  const allowedFrom = CHANGE_REQUEST_WORKFLOW[command.type];
  if (!allowedFrom.includes(state.status)) throw new IllegalTransitionError(AGGREGATE, command.type, state.status, allowedFrom);
  return state;
}

export function decideChangeRequest(command: ChangeRequestCommand, state: ChangeRequestState): ChangeRequestEvent[] {
  if (command.type === 'SubmitChangeRequest') return submit(command, state);
  const change = existing(state, command);
  const id = change.changeRequestId;
  const at = iso(command.data.now);
  switch (command.type) {
    case 'StartChangeReview':
      refuseOwner(change.draft, command.data.reviewer, 'author_cannot_review', 'review it');
      return [{ type: 'ChangeReviewStarted', data: { changeRequestId: id, reviewer: command.data.reviewer, startedAt: at } }];
    case 'CompleteChangeReview':
      // Whoever started the review, the author cannot be the one who completes it.
      refuseOwner(change.draft, command.data.reviewer, 'author_cannot_review', 'complete its review');
      return [{ type: 'ChangeReviewCompleted', data: { changeRequestId: id, reviewer: command.data.reviewer, notes: command.data.notes, completedAt: at } }];
    case 'RecordChangeApproval':
      return [{ type: 'ChangeRequestApproved', data: { changeRequestId: id, approvalId: command.data.approvalId, approvedAt: at } }];
    case 'WithdrawChangeApproval': {
      const { approvalId, cause, withdrawnBy } = command.data;
      const reason = requireReason(command.data.reason, 'withdrawing an approval');
      return [{ type: 'ChangeApprovalWithdrawn', data: { changeRequestId: id, approvalId, cause, withdrawnBy, reason, stage: change.status, withdrawnAt: at } }];
    }
    case 'RejectChangeRequest':
      return [
        {
          type: 'ChangeRequestRejected',
          data: { changeRequestId: id, rejectedBy: command.data.rejectedBy, reason: requireReason(command.data.reason, 'a rejection'), stage: change.status, rejectedAt: at },
        },
      ];
    case 'ScheduleChange':
      return schedule(command, change);
    case 'StartChangeImplementation': {
      const window = change.window;
      const now = toMs(command.data.now);
      if (window !== null && (now < toMs(window.start) || now >= toMs(window.end))) {
        throw new ScheduleOutsideWindowError('not_in_window', window, `implementation may start only inside the scheduled window ${window.start} – ${window.end}; now is ${at}`);
      }
      return [{ type: 'ChangeImplementationStarted', data: { changeRequestId: id, implementer: command.data.implementer, startedAt: at } }];
    }
    case 'CompleteChangeImplementation':
      return [{ type: 'ChangeImplemented', data: { changeRequestId: id, implementer: command.data.implementer, completedAt: at } }];
    case 'FailChangeImplementation':
      return [{ type: 'ChangeImplementationFailed', data: { changeRequestId: id, reason: requireReason(command.data.reason, 'a failed implementation'), failedAt: at } }];
    case 'RollBackChange':
      return [{ type: 'ChangeRolledBack', data: { changeRequestId: id, requestedBy: command.data.requestedBy, reason: requireReason(command.data.reason, 'a rollback'), rolledBackAt: at } }];
    case 'CloseChange': {
      const given = command.data.postImplementationReviewRef?.trim() || null;
      // An emergency change's review is the post-incident review, which its author cannot be the one to give.
      if (change.kind === 'emergency' && given !== null) refuseOwner(change.draft, command.data.closedBy, 'author_cannot_review_incident', 'record its post-implementation review');
      const reviewRef = given ?? change.reviewRef ?? null;
      if (change.kind === 'emergency' && reviewRef === null) throw new PostImplementationReviewRequiredError(id);
      return [{ type: 'ChangeClosed', data: { changeRequestId: id, closedBy: command.data.closedBy, outcome: change.outcome ?? 'successful', postImplementationReviewRef: reviewRef, closedAt: at } }];
    }
    case 'RecordPostImplementationReview':
      return recordReview(command, change);
    case 'CompletePostDeploymentWatch': {
      const passed: ChangeRequestEvent = { type: 'PostDeploymentWatchPassed', data: { changeRequestId: id, passedAt: at } };
      // Without post-deployment checks the watch alone decides: validated and closed at once, as the stream always read.
      if (command.data.validation === undefined) return concludeValidation(change, command.data, [passed]).filter((e) => e.type !== 'PostDeploymentWatchPassed');
      return concludeValidation(change, command.data, [passed]);
    }
    case 'RecordPostDeploymentCheck':
      return recordCheck(command, change);
    case 'SignOffPostDeploymentValidation':
      return signOff(command, change);
    case 'TimeOutPostDeploymentValidation':
      return timeOut(command, change);
    case 'CancelChange':
      return [{ type: 'ChangeCancelled', data: { changeRequestId: id, cancelledBy: command.data.cancelledBy, reason: requireReason(command.data.reason, 'a cancellation'), cancelledAt: at } }];
    default:
      return assertNever(command);
  }
}

function submit(command: SubmitChangeRequest, state: ChangeRequestState): ChangeRequestEvent[] {
  const { changeRequestId, kind, environmentRules, outsideWindows, now } = command.data;
  if (state.status !== 'not_submitted') throw new AlreadyExistsError(AGGREGATE, changeRequestId);
  const draft = parseOrThrow(ChangeRequestDraft, command.data.draft, 'change request');
  const rules = draft.environments.map((environment) => {
    const rule = environmentRules[environment];
    if (rule === undefined) throw new UnknownEnvironmentError(environment, Object.keys(environmentRules));
    if (rule.runbookRequired && draft.runbookRef === undefined) throw new RunbookRequiredError(environment);
    // Standard changes exist only as the policy's catalogue of pre-approved templates: none listed, none allowed.
    if (kind === 'standard' && (draft.standardTemplateId === undefined || !rule.standardChangeTemplates.includes(draft.standardTemplateId))) {
      throw new StandardChangeTemplateRequiredError(environment, draft.standardTemplateId ?? null, rule.standardChangeTemplates);
    }
    return rule;
  });
  const riskAssessment = assessRisk({
    impact: draft.impact,
    likelihood: draft.likelihood,
    includesMigration: draft.includesMigration,
    exposure: mostExposed(rules.map((r) => r.exposure)),
    size: draft.size,
    offWindowOrEmergency: kind === 'emergency' || outsideWindows,
    security: draft.type === 'security',
  });
  const at = iso(now);
  const submitted: ChangeRequestSubmitted = { type: 'ChangeRequestSubmitted', data: { changeRequestId, kind, draft, riskAssessment, submittedAt: at } };
  if (kind !== 'standard') return [submitted];
  if (riskAssessment.level === 'high' || riskAssessment.level === 'critical') throw new StandardChangeNotEligibleError(riskAssessment.level, riskAssessment.score);
  // Pre-approval holds only if every environment's matrix pre-approves standard changes.
  if (!rules.every((r) => r.standardChangesPreApproved)) return [submitted];
  return [submitted, { type: 'ChangeRequestPreApproved', data: { changeRequestId, basis: 'standard_change', approvedAt: at } }];
}

function recordReview(command: RecordPostImplementationReview, change: ExistingChange): ChangeRequestEvent[] {
  const { reviewRef, recordedBy, now } = command.data;
  if (reviewRef.trim() === '') throw new ValidationError('post-implementation review', [{ field: 'reviewRef', reason: 'reference the review document' }]);
  refuseOwner(change.draft, recordedBy, 'author_cannot_review_incident', 'complete its post-incident review');
  const at = iso(now);
  const recorded: ChangeRequestEvent = { type: 'PostImplementationReviewRecorded', data: { changeRequestId: change.changeRequestId, reviewRef: reviewRef.trim(), recordedBy, recordedAt: at } };
  if (!CHANGE_REQUEST_WORKFLOW.CloseChange.includes(change.status)) return [recorded];
  return [
    recorded,
    { type: 'ChangeClosed', data: { changeRequestId: change.changeRequestId, closedBy: recordedBy, outcome: change.outcome ?? 'successful', postImplementationReviewRef: reviewRef.trim(), closedAt: at } },
  ];
}

// ---------------------------------------------------------------- post-deployment validation

const noValidationYet = (change: ExistingChange): ValidationState => ({ deployedAt: iso(new Date(0)), watchPassed: false, results: [], signOffs: [], timedOut: false, ...change.validation });

function recordCheck(command: RecordPostDeploymentCheck, change: ExistingChange): ChangeRequestEvent[] {
  const { check, status, reportedBy, environment, validation, now } = command.data;
  const known = validation?.checks.map((c) => c.name) ?? [];
  if (!known.includes(check)) throw new UnknownPostDeploymentCheckError(environment, check, known);
  const state = noValidationYet(change);
  // Only a result after the validation timed out is taken outside `validating`: recorded, deciding nothing.
  const late = state.timedOut;
  if (change.status !== 'validating' && !late) throw new IllegalTransitionError(AGGREGATE, command.type, change.status, ['validating']);
  const recorded: ChangeRequestEvent = { type: 'PostDeploymentCheckRecorded', data: { changeRequestId: change.changeRequestId, check, status, reportedBy, late, recordedAt: iso(now) } };
  if (late || change.status !== 'validating') return [recorded];
  return concludeValidation(change, command.data, [recorded]);
}

function signOff(command: SignOffPostDeploymentValidation, change: ExistingChange): ChangeRequestEvent[] {
  const { signer, signerRoles, environment, validation, now } = command.data;
  const asked = validation?.signOff;
  if (asked === undefined) throw new SignOffNotAskedError(environment);
  refuseOwner(change.draft, signer, 'author_cannot_validate', 'sign off its post-deployment validation');
  if (!asked.roles.some((role) => signerRoles.includes(role))) throw new SignOffRoleRequiredError(signer, asked.roles);
  return concludeValidation(change, command.data, [{ type: 'PostDeploymentValidationSignedOff', data: { changeRequestId: change.changeRequestId, signer, signedAt: iso(now) } }]);
}

function timeOut(command: TimeOutPostDeploymentValidation, change: ExistingChange): ChangeRequestEvent[] {
  const { validation, now } = command.data;
  if (validation === undefined) throw new ValidationNotDueError(null);
  const deadline = validationDeadline(validation, noValidationYet(change).deployedAt);
  const missing = missingOf(validation, change);
  // Nothing is missing (only the watch is awaited) or the deadline is still ahead: no timeout to record.
  if (toMs(now) < toMs(deadline) || missing.length === 0) throw new ValidationNotDueError(missing.length === 0 ? null : deadline);
  const timedOut: ChangeRequestEvent = { type: 'PostDeploymentValidationTimedOut', data: { changeRequestId: change.changeRequestId, missing, onTimeout: validation.onTimeout, timedOutAt: iso(now) } };
  return concludeValidation(change, command.data, [timedOut]);
}

function missingOf(validation: PostDeploymentValidation, change: ExistingChange): string[] {
  const state = noValidationYet(change);
  const passed = new Set(state.results.filter((r) => r.status === 'passed').map((r) => r.check));
  const checks = validation.checks.filter((c) => c.required && !passed.has(c.name)).map((c) => c.name);
  return validation.signOff !== undefined && !validation.signOff.optional && state.signOffs.length === 0 ? [...checks, SIGN_OFF_CHECK] : checks;
}

/** Folds the new facts into the validation state and asks the decision. */
function verdictAfter(change: ExistingChange, data: ValidationPolicyFacts & { now: Date }, facts: readonly ChangeRequestEvent[]): PostDeploymentValidationDecision {
  const state = facts.reduce<ExistingChange>((c, e) => evolveChangeRequest(c, e) as ExistingChange, change);
  const validation = noValidationYet(state);
  return decidePostDeploymentValidation({
    policy: data.validation,
    deployedAt: validation.deployedAt,
    watchPassed: validation.watchPassed,
    results: validation.results,
    signOffs: validation.signOffs,
    now: data.now,
  });
}

/** The new facts, then what they decide: validated (and closed when it may), failed naming the check, or still pending. */
function concludeValidation(change: ExistingChange, data: ValidationPolicyFacts & { changeRequestId: string; closedBy: string; now: Date }, facts: ChangeRequestEvent[]): ChangeRequestEvent[] {
  const verdict = verdictAfter(change, data, facts);
  const id = change.changeRequestId;
  const at = iso(data.now);
  const validator = data.validation === undefined ? 'monitoring' : 'post-deployment validation';
  switch (verdict.decision) {
    case 'pending':
      return facts;
    case 'failed':
      return [...facts, { type: 'ChangeValidated', data: { changeRequestId: id, validator, outcome: 'failed', notes: verdict.reasons.join('; '), validatedAt: at } }];
    case 'validated': {
      const notes = [...verdict.reasons, ...verdict.warnings.map((w) => `warning: ${w}`)].join('; ');
      const validated: ChangeRequestEvent = { type: 'ChangeValidated', data: { changeRequestId: id, validator, outcome: 'passed', notes, validatedAt: at } };
      // An emergency change closes only with its post-implementation review (recorded then, or later).
      const reviewRef = change.reviewRef ?? null;
      if (change.kind === 'emergency' && reviewRef === null) return [...facts, validated];
      return [...facts, validated, { type: 'ChangeClosed', data: { changeRequestId: id, closedBy: data.closedBy, outcome: 'successful', postImplementationReviewRef: reviewRef, closedAt: at } }];
    }
    default:
      return assertNever(verdict);
  }
}

function schedule(command: ScheduleChange, change: ExistingChange): ChangeRequestEvent[] {
  const { window, scheduledBy, bookedAt, now } = command.data;
  const start = toMs(window.start);
  const end = toMs(window.end);
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) {
    throw new ScheduleOutsideWindowError('window_too_short', window, `the window ${window.start} – ${window.end} is not a valid period`);
  }
  // Emergencies may be scheduled to start immediately; everything else must be booked for a window that had not begun when it was booked.
  if (start < toMs(bookedAt) && change.kind !== 'emergency') {
    throw new ScheduleOutsideWindowError('window_in_past', window, `the window starts ${window.start}, before it was booked (${iso(bookedAt)}); pick a future window`);
  }
  const windowMinutes = (end - start) / MS_PER_MINUTE;
  if (windowMinutes < change.draft.schedule.duration) {
    throw new ScheduleOutsideWindowError(
      'window_too_short',
      window,
      `the change needs ${change.draft.schedule.duration} min but the window ${window.start} – ${window.end} has ${windowMinutes} min`,
    );
  }
  return [{ type: 'ChangeScheduled', data: { changeRequestId: change.changeRequestId, windowStart: iso(window.start), windowEnd: iso(window.end), scheduledBy, scheduledAt: iso(now) } }];
}

// ---------------------------------------------------------------- evolve

export function evolveChangeRequest(state: ChangeRequestState, event: ChangeRequestEvent): ChangeRequestState {
  if (event.type === 'ChangeRequestSubmitted') {
    const { changeRequestId, kind, draft, riskAssessment } = event.data;
    // Emergency changes are fast-tracked: no separate review stage before approval.
    return { status: kind === 'emergency' ? 'awaiting_approval' : 'submitted', changeRequestId, kind, draft, riskAssessment, approvalId: null, window: null, outcome: null };
  }
  if (state.status === 'not_submitted') return state;
  switch (event.type) {
    case 'ChangeRequestPreApproved':
      return { ...state, status: 'approved' };
    case 'ChangeReviewStarted':
      return { ...state, status: 'in_review' };
    case 'ChangeReviewCompleted':
      return { ...state, status: 'awaiting_approval' };
    case 'ChangeRequestApproved':
      return { ...state, status: 'approved', approvalId: event.data.approvalId };
    case 'ChangeApprovalWithdrawn':
      // The booked window goes with the approval: scheduling cancels the booking and books again on the next approval.
      return { ...state, status: 'awaiting_approval', approvalId: null, window: null };
    case 'ChangeRequestRejected':
      return { ...state, status: 'rejected' };
    case 'ChangeScheduled':
      return { ...state, status: 'scheduled', window: { start: event.data.windowStart, end: event.data.windowEnd } };
    case 'ChangeImplementationStarted':
      return { ...state, status: 'implementing' };
    case 'ChangeImplemented':
      return { ...state, status: 'validating', validation: { deployedAt: event.data.completedAt, watchPassed: false, results: [], signOffs: [], timedOut: false } };
    case 'PostDeploymentWatchPassed':
      return { ...state, validation: { ...noValidationYet(state), watchPassed: true } };
    case 'PostDeploymentCheckRecorded': {
      const { check, status, reportedBy, recordedAt, late } = event.data;
      const validation = noValidationYet(state);
      return late ? state : { ...state, validation: { ...validation, results: [...validation.results, { check, status, reportedBy, at: recordedAt }] } };
    }
    case 'PostDeploymentValidationSignedOff': {
      const validation = noValidationYet(state);
      return { ...state, validation: { ...validation, signOffs: [...validation.signOffs, { signer: event.data.signer, at: event.data.signedAt }] } };
    }
    case 'PostDeploymentValidationTimedOut':
      return { ...state, validation: { ...noValidationYet(state), timedOut: true } };
    case 'ChangeImplementationFailed':
      return { ...state, status: 'failed', outcome: 'failed' };
    case 'ChangeValidated':
      return event.data.outcome === 'passed' ? { ...state, status: 'validated', outcome: 'successful' } : { ...state, status: 'validation_failed' };
    case 'ChangeRolledBack':
      return { ...state, status: 'rolled_back', outcome: 'rolled_back' };
    case 'ChangeClosed':
      return { ...state, status: 'closed' };
    case 'ChangeCancelled':
      return { ...state, status: 'cancelled' };
    case 'PostImplementationReviewRecorded':
      return { ...state, reviewRef: event.data.reviewRef };
    default:
      return assertNever(event);
  }
}

export const initialChangeRequestState = (): ChangeRequestState => ({ status: 'not_submitted' });

export const changeRequestDecider: Decider<ChangeRequestCommand, ChangeRequestEvent, ChangeRequestState> = {
  decide: decideChangeRequest,
  evolve: evolveChangeRequest,
  initialState: initialChangeRequestState,
};
