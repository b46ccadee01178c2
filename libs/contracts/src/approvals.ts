/**
 * approvals context: one approval request per change request, stream `approval-<changeRequestId>`
 * (the approvalId is the change request's id). The approver and their roles are not in the payload:
 * they come from the command's verified signature (the gateway signs the caller from the JWT).
 */
import { ROLES } from '@gatehouse/policy';
import { z } from 'zod';

export const APPROVALS_CONTEXT = 'approvals';
export const APPROVALS_COMMANDS = ['grant', 'reject', 'revoke', 'get', 'setOnCallRoster', 'getOnCallRoster'] as const;
export type ApprovalsCommandName = (typeof APPROVALS_COMMANDS)[number];

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be 1-128 letters, digits, "-" or "_" (a UUID works)');
const Role = z.enum(ROLES);
const Reason = z.string().trim().min(1, 'give a reason; it is recorded in the audit trail').max(2_000);
const Instant = z.iso.datetime({ offset: true });
const Envelope = { commandId: z.string().trim().min(1).max(200), changeRequestId: Id, correlationId: z.string().min(1).max(200).optional() };

// ---------------------------------------------------------------- commands

export const GrantApprovalPayload = z.strictObject({
  ...Envelope,
  /** The requirement this approval fills. */
  role: Role,
  comment: z.string().max(2_000).optional(),
});
export type GrantApprovalPayload = z.input<typeof GrantApprovalPayload>;

export const RejectApprovalPayload = z.strictObject({ ...Envelope, reason: Reason });
export type RejectApprovalPayload = z.input<typeof RejectApprovalPayload>;

/** Withdraws the approver's own standing approval. */
export const RevokeApprovalPayload = z.strictObject({ ...Envelope, reason: Reason });
export type RevokeApprovalPayload = z.input<typeof RevokeApprovalPayload>;

export const GetApprovalPayload = z.strictObject({ changeRequestId: Id });
export type GetApprovalPayload = z.input<typeof GetApprovalPayload>;

/**
 * Replaces a role's on-call roster (`onCallRoster-<role>`); `setBy` and `setterRoles` come from the caller's
 * verified token. Whether an approver is on call is read from the roster at the moment of the approval.
 */
export const SetOnCallRosterPayload = z.strictObject({
  commandId: z.string().trim().min(1).max(200),
  correlationId: z.string().min(1).max(200).optional(),
  role: Role,
  /** Validated by the domain (`OnCallShifts`): person, start, end (ISO-8601, end after start), at most 500. */
  shifts: z.array(z.unknown()).max(500),
});
export type SetOnCallRosterPayload = z.input<typeof SetOnCallRosterPayload>;

export const GetOnCallRosterPayload = z.strictObject({ role: Role });
export type GetOnCallRosterPayload = z.input<typeof GetOnCallRosterPayload>;

export const onCallRosterStream = (role: string): string => `onCallRoster-${role}`;

/** Reply of setOnCallRoster / getOnCallRoster. */
export interface OnCallRosterReply {
  role: string;
  streamId: string;
  shifts: Array<{ person: string; start: string; end: string }>;
  /** Who is on call now, by the service's clock. */
  onCallNow: string[];
  setBy: string | null;
  setAt: string | null;
  events: string[];
  duplicate: boolean;
}

/** Reply of grant / reject / revoke / get. */
export interface ApprovalReply {
  approvalId: string;
  streamId: string;
  events: string[];
  status: 'not_requested' | 'pending' | 'approved' | 'rejected';
  /** Requirements still missing approvals. */
  outstanding: Array<{ role: string; missing: number; onCall: boolean }>;
  duplicate: boolean;
}

// ---------------------------------------------------------------- published events

const Subject = z.object({ changeRequestId: z.string(), releaseId: z.string().nullable(), environment: z.string(), revision: z.number().int() });
const Requirement = z.object({ role: Role, count: z.number().int(), onCall: z.boolean(), sources: z.array(z.enum(['matrix', 'migration', 'emergency', 'window_bypass'])) });
const SeparationOfDuties = z.object({ authorCannotApprove: z.boolean(), distinctApproverPerRole: z.boolean() });

export const ApprovalEventSchemas = {
  ApprovalsRequested: z.object({
    approvalId: z.string(),
    subject: Subject,
    author: z.string(),
    /** The person behind a CI-submitted change (absent or null otherwise). */
    initiator: z.string().nullable().optional(),
    kind: z.enum(['standard', 'normal', 'emergency']),
    requirements: z.array(Requirement),
    separationOfDuties: SeparationOfDuties,
    policyVersion: z.string(),
    requestedAt: Instant,
  }),
  ApprovalGranted: z.object({ approvalId: z.string(), role: Role, approver: z.string(), onCall: z.boolean(), comment: z.string().nullable(), grantedAt: Instant }),
  ChangeFullyApproved: z.object({
    approvalId: z.string(),
    subject: Subject,
    fills: z.array(z.object({ role: Role, sources: Requirement.shape.sources, onCallRequired: z.boolean(), approvers: z.array(z.string()) })),
    basis: z.enum(['requirements_met', 'no_approval_required']),
    separationOfDuties: SeparationOfDuties,
    policyVersion: z.string(),
    approvedAt: Instant,
  }),
  ApprovalRejected: z.object({ approvalId: z.string(), subject: Subject, approver: z.string(), reason: z.string(), rejectedAt: Instant }),
  ApprovalRevoked: z.object({ approvalId: z.string(), role: Role, approver: z.string(), reason: z.string(), wasFullyApproved: z.boolean(), revokedAt: Instant }),
  OnCallRosterSet: z.object({
    role: Role,
    shifts: z.array(z.object({ person: z.string(), start: Instant, end: Instant })),
    setBy: z.string(),
    setAt: Instant,
  }),
  ApprovalsInvalidated: z.object({
    approvalId: z.string(),
    reason: z.string(),
    previousRevision: z.number().int(),
    revision: z.number().int(),
    invalidatedGrants: z.array(z.object({ role: Role, approver: z.string() })),
    /** The change was fully approved until then (absent on events recorded before the field existed). */
    wasFullyApproved: z.boolean().optional(),
    /** Requirements from then on, when they were computed again (a migration added to the release needs the DBA). */
    requirements: z.array(Requirement).optional(),
    policyVersion: z.string().optional(),
    invalidatedAt: Instant,
  }),
} as const;
