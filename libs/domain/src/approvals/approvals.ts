import type { ApprovalMatrix, EmergencyPath, Role } from '@gatehouse/policy';
import { iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, IllegalTransitionError, NotFoundError, requireReason, SeparationOfDutiesViolation } from '../errors.js';
import type { ChangeKind, ChangeRequestStatus } from '../change-request/changeRequest.js';
import type { ReleaseApprovalsInvalidated } from '../release/release.js';
import { computeRequiredApprovals, type RequiredApproval } from './requiredApprovals.js';

/** What is being approved: a change request, optionally for a release revision, in one environment. */
export interface ApprovalSubject {
  changeRequestId: string;
  releaseId: string | null;
  environment: string;
  /** Release revision the approvals cover; content changes invalidate them. */
  revision: number;
}

export type SeparationOfDuties = ApprovalMatrix['separationOfDuties'];

/** How far the change has gone, as its owner (change-requests) reports it when a revocation is asked for. */
export interface ChangeProgress {
  status: ChangeRequestStatus;
  /** The booked deployment window, once scheduled. */
  window: { start: string; end: string } | null;
}

/** Change statuses reached only once its deployment started. */
export const DEPLOYMENT_STARTED_STATUSES: readonly ChangeRequestStatus[] = ['implementing', 'validating', 'validated', 'validation_failed', 'rolled_back', 'failed', 'closed'];

// ---------------------------------------------------------------- commands

export type RequestApprovals = DomainCommand<
  'RequestApprovals',
  {
    approvalId: string;
    subject: ApprovalSubject;
    author: string;
    /** The person behind a CI-submitted change (`draft.initiator`); kept from approving like the author. */
    initiator?: string;
    kind: ChangeKind;
    includesMigration: boolean;
    emergencyOutsideWindows: boolean;
    matrix: ApprovalMatrix;
    emergency: EmergencyPath;
    /** Content hash of the policy applied (recorded for "why was this allowed"). */
    policyVersion: string;
    now: Date;
  }
>;
export type GrantApproval = DomainCommand<
  'GrantApproval',
  { approvalId: string; approver: string; approverRoles: readonly Role[]; approverOnCall: boolean; role: Role; comment?: string; now: Date }
>;
export type RejectApproval = DomainCommand<'RejectApproval', { approvalId: string; approver: string; approverRoles: readonly Role[]; reason: string; now: Date }>;
export type RevokeApproval = DomainCommand<'RevokeApproval', { approvalId: string; approver: string; reason: string; change: ChangeProgress; now: Date }>;
export type InvalidateApprovals = DomainCommand<
  'InvalidateApprovals',
  {
    approvalId: string;
    reason: string;
    revision: number;
    /** Requirements computed again for the change as it now stands (a migration added to the release needs the DBA); absent: unchanged. */
    recomputed?: { requirements: RequiredApproval[]; policyVersion: string };
    now: Date;
  }
>;

export type ApprovalCommand = RequestApprovals | GrantApproval | RejectApproval | RevokeApproval | InvalidateApprovals;

// ---------------------------------------------------------------- events

export interface ApprovalGrant {
  role: Role;
  approver: string;
  onCall: boolean;
  grantedAt: string;
}

export type ApprovalsRequested = DomainEvent<
  'ApprovalsRequested',
  {
    approvalId: string;
    subject: ApprovalSubject;
    author: string;
    /** Absent on requests recorded before CI initiators were carried. */
    initiator?: string | null;
    kind: ChangeKind;
    requirements: RequiredApproval[];
    separationOfDuties: SeparationOfDuties;
    policyVersion: string;
    requestedAt: string;
  }
>;
export type ApprovalGranted = DomainEvent<
  'ApprovalGranted',
  { approvalId: string; role: Role; approver: string; onCall: boolean; comment: string | null; grantedAt: string }
>;
/** Every requirement is met; records who filled what under which policy — the answer to "why was this allowed". */
export type ChangeFullyApproved = DomainEvent<
  'ChangeFullyApproved',
  {
    approvalId: string;
    subject: ApprovalSubject;
    fills: Array<{ role: Role; sources: RequiredApproval['sources']; onCallRequired: boolean; approvers: string[] }>;
    basis: 'requirements_met' | 'no_approval_required';
    separationOfDuties: SeparationOfDuties;
    policyVersion: string;
    approvedAt: string;
  }
>;
export type ApprovalRejected = DomainEvent<'ApprovalRejected', { approvalId: string; subject: ApprovalSubject; approver: string; reason: string; rejectedAt: string }>;
export type ApprovalRevoked = DomainEvent<
  'ApprovalRevoked',
  { approvalId: string; role: Role; approver: string; reason: string; wasFullyApproved: boolean; revokedAt: string }
>;
export type ApprovalsInvalidated = DomainEvent<
  'ApprovalsInvalidated',
  {
    approvalId: string;
    reason: string;
    previousRevision: number;
    revision: number;
    invalidatedGrants: Array<{ role: Role; approver: string }>;
    /** The change was fully approved until now (change-requests withdraws its approval). */
    wasFullyApproved: boolean;
    /** Requirements from now on, when they were computed again, and the policy they come from. */
    requirements?: RequiredApproval[];
    policyVersion?: string;
    invalidatedAt: string;
  }
>;

export type ApprovalEvent = ApprovalsRequested | ApprovalGranted | ChangeFullyApproved | ApprovalRejected | ApprovalRevoked | ApprovalsInvalidated;

// ---------------------------------------------------------------- state

export type ApprovalStatus = 'pending' | 'approved' | 'rejected';
export type ApprovalState =
  | { status: 'not_requested' }
  | {
      status: ApprovalStatus;
      approvalId: string;
      subject: ApprovalSubject;
      author: string;
      initiator: string | null;
      requirements: RequiredApproval[];
      separationOfDuties: SeparationOfDuties;
      policyVersion: string;
      grants: ApprovalGrant[];
    };
type OpenApproval = Exclude<ApprovalState, { status: 'not_requested' }>;

// ---------------------------------------------------------------- errors

export class RoleNotRequiredError extends DomainError {
  override readonly name = 'RoleNotRequiredError';
  readonly code = 'ROLE_NOT_REQUIRED' as const;
  constructor(
    readonly role: Role,
    readonly requiredRoles: readonly Role[],
  ) {
    super(`no ${role} approval is required here; required roles: ${requiredRoles.join(', ') || 'none'}`);
  }
}

export class ApproverLacksRoleError extends DomainError {
  override readonly name = 'ApproverLacksRoleError';
  readonly code = 'APPROVER_LACKS_ROLE' as const;
  constructor(
    readonly approver: string,
    readonly role: Role | readonly Role[],
  ) {
    super(`${approver} does not hold the ${Array.isArray(role) ? role.join(' / ') : role} role`);
  }
}

export class OnCallRequiredError extends DomainError {
  override readonly name = 'OnCallRequiredError';
  readonly code = 'ON_CALL_REQUIRED' as const;
  constructor(
    readonly approver: string,
    readonly role: Role,
  ) {
    super(`this ${role} approval must come from the on-call ${role}; ${approver} is not on call`);
  }
}

export class DuplicateApprovalError extends DomainError {
  override readonly name = 'DuplicateApprovalError';
  readonly code = 'DUPLICATE_APPROVAL' as const;
  constructor(
    readonly approver: string,
    readonly role: Role,
  ) {
    super(`${approver} already approved as ${role}`);
  }
}

export class RequirementAlreadyMetError extends DomainError {
  override readonly name = 'RequirementAlreadyMetError';
  readonly code = 'REQUIREMENT_ALREADY_MET' as const;
  constructor(
    readonly role: Role,
    readonly count: number,
  ) {
    super(`the ${role} requirement already has its ${count} approval(s)`);
  }
}

export class NoApprovalToRevokeError extends DomainError {
  override readonly name = 'NoApprovalToRevokeError';
  readonly code = 'NO_APPROVAL_TO_REVOKE' as const;
  constructor(readonly approver: string) {
    super(`${approver} has no standing approval to revoke`);
  }
}

/** A revocation cannot stop a deployment that started: it must be aborted or rolled back instead. */
export class DeploymentAlreadyStartedError extends DomainError {
  override readonly name = 'DeploymentAlreadyStartedError';
  readonly code = 'DEPLOYMENT_ALREADY_STARTED' as const;
  constructor(
    readonly approvalId: string,
    readonly changeStatus: ChangeRequestStatus,
    /** Start of the booked slot, when that is what shows the deployment under way. */
    readonly slotStart: string | null,
  ) {
    super(
      (slotStart === null
        ? `the deployment of change ${approvalId} has started (change status: ${changeStatus})`
        : `the deployment slot of change ${approvalId} began at ${slotStart}, so its deployment is under way`) +
        '; revoking an approval can no longer stop it: abort the deployment or roll it back',
    );
  }
}

/**
 * The change awaits approval but this service has not opened its approval request yet: the reaction
 * that opens it is behind (restarting, or catching up on the log). Nothing was written; retry.
 */
export class ApprovalsNotOpenedYetError extends DomainError {
  override readonly name = 'ApprovalsNotOpenedYetError';
  readonly code = 'APPROVALS_NOT_OPENED_YET' as const;
  constructor(
    readonly approvalId: string,
    readonly waitedMs: number,
  ) {
    super(`change ${approvalId} awaits approval, but its approval request was not opened within ${waitedMs} ms (the approvals service is catching up); nothing was changed: retry`);
  }
}

// ---------------------------------------------------------------- decide

const AGGREGATE = 'approval';

function open(state: ApprovalState, command: Exclude<ApprovalCommand, RequestApprovals>, allowed: readonly ApprovalStatus[]): OpenApproval {
  if (state.status === 'not_requested') throw new NotFoundError(AGGREGATE, command.data.approvalId);
  if (!allowed.includes(state.status)) throw new IllegalTransitionError(AGGREGATE, command.type, state.status, allowed);
  return state;
}

export function decideApproval(command: ApprovalCommand, state: ApprovalState): ApprovalEvent[] {
  switch (command.type) {
    case 'RequestApprovals':
      return request(command, state);
    case 'GrantApproval':
      return grant(command, open(state, command, ['pending']));
    case 'RejectApproval': {
      const approval = open(state, command, ['pending']);
      const { approver, approverRoles, now } = command.data;
      const reason = requireReason(command.data.reason, 'a rejection');
      const requiredRoles = approval.requirements.map((r) => r.role);
      if (!requiredRoles.some((role) => approverRoles.includes(role))) throw new ApproverLacksRoleError(approver, requiredRoles);
      return [{ type: 'ApprovalRejected', data: { approvalId: approval.approvalId, subject: approval.subject, approver, reason, rejectedAt: iso(now) } }];
    }
    case 'RevokeApproval': {
      const approval = open(state, command, ['pending', 'approved']);
      const { approver, now } = command.data;
      const reason = requireReason(command.data.reason, 'a revocation');
      const standing = approval.grants.find((g) => g.approver === approver);
      if (standing === undefined) throw new NoApprovalToRevokeError(approver);
      checkDeploymentNotStarted(approval.approvalId, command.data.change, now);
      return [
        { type: 'ApprovalRevoked', data: { approvalId: approval.approvalId, role: standing.role, approver, reason, wasFullyApproved: approval.status === 'approved', revokedAt: iso(now) } },
      ];
    }
    case 'InvalidateApprovals': {
      const approval = open(state, command, ['pending', 'approved']);
      const { recomputed } = command.data;
      return [
        {
          type: 'ApprovalsInvalidated',
          data: {
            approvalId: approval.approvalId,
            reason: requireReason(command.data.reason, 'an invalidation'),
            previousRevision: approval.subject.revision,
            revision: command.data.revision,
            invalidatedGrants: approval.grants.map(({ role, approver }) => ({ role, approver })),
            wasFullyApproved: approval.status === 'approved',
            ...(recomputed === undefined ? {} : { requirements: recomputed.requirements, policyVersion: recomputed.policyVersion }),
            invalidatedAt: iso(command.data.now),
          },
        },
      ];
    }
    default:
      return assertNever(command);
  }
}

/** The timer that starts a deployment fires at its slot's start, so a scheduled change past it is already deploying. */
function checkDeploymentNotStarted(approvalId: string, change: ChangeProgress, now: Date): void {
  if (DEPLOYMENT_STARTED_STATUSES.includes(change.status)) throw new DeploymentAlreadyStartedError(approvalId, change.status, null);
  if (change.status === 'scheduled' && change.window !== null && toMs(change.window.start) <= toMs(now)) {
    throw new DeploymentAlreadyStartedError(approvalId, change.status, change.window.start);
  }
}

function request(command: RequestApprovals, state: ApprovalState): ApprovalEvent[] {
  const { approvalId, subject, author, initiator, kind, includesMigration, emergencyOutsideWindows, matrix, emergency, policyVersion, now } = command.data;
  if (state.status !== 'not_requested') throw new AlreadyExistsError(AGGREGATE, approvalId);
  const requirements = computeRequiredApprovals(subject.environment, matrix, emergency, { kind, includesMigration, emergencyOutsideWindows });
  const at = iso(now);
  const requested: ApprovalsRequested = {
    type: 'ApprovalsRequested',
    data: { approvalId, subject, author, initiator: initiator ?? null, kind, requirements, separationOfDuties: matrix.separationOfDuties, policyVersion, requestedAt: at },
  };
  if (requirements.length > 0) return [requested];
  return [
    requested,
    { type: 'ChangeFullyApproved', data: { approvalId, subject, fills: [], basis: 'no_approval_required', separationOfDuties: matrix.separationOfDuties, policyVersion, approvedAt: at } },
  ];
}

function grant(command: GrantApproval, approval: OpenApproval): ApprovalEvent[] {
  const { approver, approverRoles, approverOnCall, role, comment, now } = command.data;
  const requirement = approval.requirements.find((r) => r.role === role);
  if (requirement === undefined) throw new RoleNotRequiredError(role, approval.requirements.map((r) => r.role));
  if (!approverRoles.includes(role)) throw new ApproverLacksRoleError(approver, role);
  const sod = approval.separationOfDuties;
  if (sod.authorCannotApprove && approver === approval.author) {
    throw new SeparationOfDutiesViolation(approver, 'author_cannot_approve', `${approver} authored the change and cannot approve it`);
  }
  if (sod.authorCannotApprove && approver === approval.initiator) {
    throw new SeparationOfDutiesViolation(approver, 'author_cannot_approve', `${approver} initiated the change through CI and cannot approve it`);
  }
  const own = approval.grants.filter((g) => g.approver === approver);
  if (own.some((g) => g.role === role)) throw new DuplicateApprovalError(approver, role);
  const otherRole = own.find((g) => g.role !== role);
  if (sod.distinctApproverPerRole && otherRole !== undefined) {
    throw new SeparationOfDutiesViolation(approver, 'one_person_one_role', `${approver} already approved as ${otherRole.role} and cannot also fill ${role}`);
  }
  if (approval.grants.filter((g) => g.role === role).length >= requirement.count) throw new RequirementAlreadyMetError(role, requirement.count);
  if (requirement.onCall && !approverOnCall) throw new OnCallRequiredError(approver, role);

  const at = iso(now);
  const granted: ApprovalGranted = { type: 'ApprovalGranted', data: { approvalId: approval.approvalId, role, approver, onCall: approverOnCall, comment: comment ?? null, grantedAt: at } };
  const grants = [...approval.grants, { role, approver, onCall: approverOnCall, grantedAt: at }];
  if (!allRequirementsMet(approval.requirements, grants)) return [granted];
  return [
    granted,
    {
      type: 'ChangeFullyApproved',
      data: {
        approvalId: approval.approvalId,
        subject: approval.subject,
        fills: approval.requirements.map((r) => ({
          role: r.role,
          sources: r.sources,
          onCallRequired: r.onCall,
          approvers: grants.filter((g) => g.role === r.role).map((g) => g.approver),
        })),
        basis: 'requirements_met',
        separationOfDuties: sod,
        policyVersion: approval.policyVersion,
        approvedAt: at,
      },
    },
  ];
}

export function allRequirementsMet(requirements: readonly RequiredApproval[], grants: readonly ApprovalGrant[]): boolean {
  return requirements.every((r) => grants.filter((g) => g.role === r.role).length >= r.count);
}

/** Requirements still missing approvals, with how many each still needs. */
export function outstandingApprovals(state: ApprovalState): Array<{ role: Role; missing: number; onCall: boolean }> {
  if (state.status === 'not_requested') return [];
  return state.requirements
    .map((r) => ({ role: r.role, missing: r.count - state.grants.filter((g) => g.role === r.role).length, onCall: r.onCall }))
    .filter((r) => r.missing > 0);
}

/** Process-manager mapping: a release content change invalidates the approvals collected for it. */
export function invalidationFor(event: ReleaseApprovalsInvalidated, now: Date, recomputed?: InvalidateApprovals['data']['recomputed']): InvalidateApprovals | null {
  if (event.data.approvalId === null) return null;
  return {
    type: 'InvalidateApprovals',
    data: { approvalId: event.data.approvalId, reason: event.data.reason, revision: event.data.revision, ...(recomputed === undefined ? {} : { recomputed }), now },
  };
}

// ---------------------------------------------------------------- evolve

export function evolveApproval(state: ApprovalState, event: ApprovalEvent): ApprovalState {
  if (event.type === 'ApprovalsRequested') {
    const { approvalId, subject, author, requirements, separationOfDuties, policyVersion } = event.data;
    return { status: 'pending', approvalId, subject, author, initiator: event.data.initiator ?? null, requirements, separationOfDuties, policyVersion, grants: [] };
  }
  if (state.status === 'not_requested') return state;
  switch (event.type) {
    case 'ApprovalGranted': {
      const { role, approver, onCall, grantedAt } = event.data;
      return { ...state, grants: [...state.grants, { role, approver, onCall, grantedAt }] };
    }
    case 'ChangeFullyApproved':
      return { ...state, status: 'approved' };
    case 'ApprovalRejected':
      return { ...state, status: 'rejected' };
    case 'ApprovalRevoked':
      return { ...state, status: 'pending', grants: state.grants.filter((g) => g.approver !== event.data.approver) };
    case 'ApprovalsInvalidated':
      return {
        ...state,
        status: 'pending',
        grants: [],
        subject: { ...state.subject, revision: event.data.revision },
        requirements: event.data.requirements ?? state.requirements,
        policyVersion: event.data.policyVersion ?? state.policyVersion,
      };
    default:
      return assertNever(event);
  }
}

export const initialApprovalState = (): ApprovalState => ({ status: 'not_requested' });

export const approvalDecider: Decider<ApprovalCommand, ApprovalEvent, ApprovalState> = {
  decide: decideApproval,
  evolve: evolveApproval,
  initialState: initialApprovalState,
};
