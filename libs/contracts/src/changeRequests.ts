/**
 * change-requests context: releases (`release-<releaseId>`) and change requests (`changeRequest-<changeRequestId>`).
 * Command payloads are validated strictly at the handler; event schemas are loose (`z.object`) so that
 * consumers keep working when a producer adds a field.
 */
import { CHANGE_KINDS, CHANGE_REQUEST_STATUSES, CHECK_RESULT_STATUSES, ChangeRequestDraft, GATE_RESULT_STATUSES, RELEASE_STATUSES, RELEASE_TYPES, ReleaseChange, ReleaseContent } from '@gatehouse/domain';
import { z } from 'zod';

/** Command context name on the bus (`gatehouse.cmd.changeRequests.<command>`). */
export const CHANGE_REQUESTS_CONTEXT = 'changeRequests';

export const CHANGE_REQUESTS_COMMANDS = [
  'createRelease',
  'reviseRelease',
  'submitChange',
  'startReview',
  'completeReview',
  'rejectChange',
  'cancelChange',
  'closeChange',
  'recordGateResult',
  'recordMigration',
  'getChange',
  'getRelease',
  'overrideGate',
] as const;
export type ChangeRequestsCommandName = (typeof CHANGE_REQUESTS_COMMANDS)[number];

/** Ids end up in stream ids (`release-<id>`): no dots, spaces or wildcards. */
export const EntityId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be 1-128 letters, digits, "-" or "_" (a UUID works)');
/** Deterministic id of the request; sending the same commandId again changes nothing. */
export const CommandId = z.string().trim().min(1).max(200);
const Actor = z.string().trim().min(1, 'name who does this').max(200);
const Reason = z.string().trim().min(1, 'give a reason; it is recorded in the audit trail').max(2_000);
const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });

const Envelope = { commandId: CommandId, actor: Actor, correlationId: z.string().min(1).max(200).optional() };

// ---------------------------------------------------------------- commands

export const CreateReleasePayload = z.strictObject({
  ...Envelope,
  releaseId: EntityId,
  release: ReleaseContent,
  /** Currently released version of the service: the release type must match the semver bump from it. */
  previousVersion: z.string().min(1).optional(),
});
export type CreateReleasePayload = z.input<typeof CreateReleasePayload>;

export const ReviseReleasePayload = z.strictObject({
  ...Envelope,
  releaseId: EntityId,
  revision: z.strictObject({ title: z.string().trim().min(1).optional(), description: z.string().optional(), changes: z.array(ReleaseChange).optional() }),
});
export type ReviseReleasePayload = z.input<typeof ReviseReleasePayload>;

export const SubmitChangePayload = z.strictObject({
  ...Envelope,
  changeRequestId: EntityId,
  kind: z.enum(CHANGE_KINDS),
  /** The seeds' change request; `environments` names exactly one environment (one deployment per change request). */
  draft: ChangeRequestDraft,
});
export type SubmitChangePayload = z.input<typeof SubmitChangePayload>;

export const StartReviewPayload = z.strictObject({ ...Envelope, changeRequestId: EntityId });
export type StartReviewPayload = z.input<typeof StartReviewPayload>;

export const CompleteReviewPayload = z.strictObject({ ...Envelope, changeRequestId: EntityId, notes: z.string().max(10_000).default('') });
export type CompleteReviewPayload = z.input<typeof CompleteReviewPayload>;

/** The reviewer (or an approver through the approvals context) turns the change down. */
export const RejectChangePayload = z.strictObject({ ...Envelope, changeRequestId: EntityId, reason: Reason });
export type RejectChangePayload = z.input<typeof RejectChangePayload>;

export const CancelChangePayload = z.strictObject({ ...Envelope, changeRequestId: EntityId, reason: Reason });
export type CancelChangePayload = z.input<typeof CancelChangePayload>;

/** Closes a validated, rolled-back or failed change; emergency changes need their post-implementation review reference. */
export const CloseChangePayload = z.strictObject({ ...Envelope, changeRequestId: EntityId, postImplementationReviewRef: z.string().trim().min(1).max(500).optional() });
export type CloseChangePayload = z.input<typeof CloseChangePayload>;

/**
 * A testing-gate result for a release, stored on `gates-<releaseId>-<environment>`. `environment` is the
 * environment the gate guards (the policy file listing `gateId` in its `testingGates`), not where the tests ran.
 */
export const RecordGateResultPayload = z.strictObject({
  ...Envelope,
  releaseId: EntityId,
  environment: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"'),
  gateId: z.string().trim().min(1).max(100),
  status: z.enum(GATE_RESULT_STATUSES),
  startedAt: Instant,
  finishedAt: Instant.optional(),
  summary: z.string().max(2_000).optional(),
  reportUrl: z.url().optional(),
});
export type RecordGateResultPayload = z.input<typeof RecordGateResultPayload>;

/**
 * A database migration CI reports for a release (ingested `gatehouse.migration.included`). The same
 * migrationId again is already recorded; once the release deploys, a new migration is refused.
 */
export const RecordMigrationPayload = z.strictObject({
  ...Envelope,
  releaseId: EntityId,
  migrationId: z.string().trim().min(1).max(200),
  description: z.string().trim().min(1).max(2_000),
  /** Whether a down-migration exists; irreversible migrations matter for the rollback plan. */
  reversible: z.boolean(),
  database: z.string().trim().min(1).max(100).optional(),
});
export type RecordMigrationPayload = z.input<typeof RecordMigrationPayload>;

/**
 * A person accepts a failed or timed-out `warn` testing gate for a release in an environment, with a reason
 * recorded against them; `block` gates cannot be overridden. The gateway lets only the override roles send it.
 */
export const OverrideGatePayload = z.strictObject({
  ...Envelope,
  releaseId: EntityId,
  environment: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"'),
  gateId: z.string().trim().min(1).max(100),
  reason: Reason,
});
export type OverrideGatePayload = z.input<typeof OverrideGatePayload>;

/**
 * A post-deployment check's result for a change (ingested `gatehouse.validation.result`): recorded on the change's
 * stream; refused for a check its environment's `postDeploymentValidation` does not name, or a change not validating.
 */
export const RecordValidationCheckPayload = z.strictObject({
  ...Envelope,
  changeRequestId: EntityId,
  check: z.string().trim().min(1).max(100),
  status: z.enum(CHECK_RESULT_STATUSES),
  summary: z.string().max(2_000).optional(),
  reportUrl: z.url().optional(),
});
export type RecordValidationCheckPayload = z.input<typeof RecordValidationCheckPayload>;

/** The caller (the command's verified caller, never the payload) signs the change's post-deployment validation off. */
export const SignOffValidationPayload = z.strictObject({ ...Envelope, changeRequestId: EntityId });
export type SignOffValidationPayload = z.input<typeof SignOffValidationPayload>;

export const gateRecordStream = (releaseId: string, environment: string): string => `gates-${releaseId}-${environment}`;

export const GetChangePayload = z.strictObject({ changeRequestId: EntityId });
export type GetChangePayload = z.input<typeof GetChangePayload>;

export const GetReleasePayload = z.strictObject({ releaseId: EntityId });
export type GetReleasePayload = z.input<typeof GetReleasePayload>;

/** Reply of every state-changing command. */
export interface CommandReply {
  streamId: string;
  /** Types of the events the command decided (on a duplicate: those the first delivery appended). */
  events: string[];
  /** Aggregate status after the command. */
  status: string;
  /** The commandId had been handled before; nothing was written. */
  duplicate: boolean;
}

/** Reply of `getRelease`. */
export interface ReleaseView {
  releaseId: string;
  service: string;
  version: string;
  releaseType: (typeof RELEASE_TYPES)[number];
  title: string;
  description: string;
  status: (typeof RELEASE_STATUSES)[number];
  revision: number;
  approvalId: string | null;
  /** Latest deployment per environment, with when it started and ended (null while it runs). */
  deployments: Record<string, { deploymentId: string; status: 'deploying' | 'succeeded' | 'failed' | 'rolled_back'; startedAt: string; completedAt: string | null }>;
  /** Migrations CI reported, in the order recorded; a rollback does not undo an irreversible one (`reversible: false`). */
  migrations: Array<{ migrationId: string; description: string; reversible: boolean; database: string | null; recordedAt: string }>;
  /** The release's listed changes (a `migration` change needs the migration approval as a reported one does). */
  changes: Array<{ kind: string; description: string; reference?: string | undefined }>;
}

/** Reply of `getChange`: the change request and, when it names one, its release. */
export interface ChangeView {
  changeRequestId: string;
  status: (typeof CHANGE_REQUEST_STATUSES)[number];
  kind: (typeof CHANGE_KINDS)[number];
  draft: z.output<typeof ChangeRequestDraft>;
  riskLevel: string;
  approvalId: string | null;
  window: { start: string; end: string } | null;
  release: ReleaseView | null;
}

// ---------------------------------------------------------------- published events

const ChangeId = { changeRequestId: z.string() };

export const ChangeRequestEventSchemas = {
  ChangeRequestSubmitted: z.object({
    ...ChangeId,
    kind: z.enum(CHANGE_KINDS),
    draft: z.object({
      title: z.string(),
      environments: z.array(z.string()),
      author: z.string(),
      releaseId: z.string().optional(),
      hotfixId: z.string().optional(),
      includesMigration: z.boolean(),
      runbookRef: z.string().optional(),
      schedule: z.object({ planned: z.string(), duration: z.number(), maintenance: z.boolean() }),
    }),
    riskAssessment: z.object({ level: z.string(), score: z.number() }),
    submittedAt: Instant,
  }),
  ChangeRequestPreApproved: z.object({ ...ChangeId, basis: z.literal('standard_change'), approvedAt: Instant }),
  ChangeReviewStarted: z.object({ ...ChangeId, reviewer: z.string(), startedAt: Instant }),
  ChangeReviewCompleted: z.object({ ...ChangeId, reviewer: z.string(), notes: z.string(), completedAt: Instant }),
  ChangeRequestApproved: z.object({ ...ChangeId, approvalId: z.string(), approvedAt: Instant }),
  ChangeApprovalWithdrawn: z.object({
    ...ChangeId,
    approvalId: z.string(),
    cause: z.enum(['revoked', 'invalidated']),
    withdrawnBy: z.string(),
    reason: z.string(),
    stage: z.string(),
    withdrawnAt: Instant,
  }),
  ChangeRequestRejected: z.object({ ...ChangeId, rejectedBy: z.string(), reason: z.string(), stage: z.string(), rejectedAt: Instant }),
  ChangeScheduled: z.object({ ...ChangeId, windowStart: Instant, windowEnd: Instant, scheduledBy: z.string(), scheduledAt: Instant }),
  ChangeImplementationStarted: z.object({ ...ChangeId, implementer: z.string(), startedAt: Instant }),
  ChangeImplemented: z.object({ ...ChangeId, implementer: z.string(), completedAt: Instant }),
  ChangeImplementationFailed: z.object({ ...ChangeId, reason: z.string(), failedAt: Instant }),
  ChangeValidated: z.object({ ...ChangeId, validator: z.string(), outcome: z.enum(['passed', 'failed']), notes: z.string(), validatedAt: Instant }),
  ChangeRolledBack: z.object({ ...ChangeId, requestedBy: z.string(), reason: z.string(), rolledBackAt: Instant }),
  ChangeClosed: z.object({
    ...ChangeId,
    closedBy: z.string(),
    outcome: z.enum(['successful', 'rolled_back', 'failed']),
    postImplementationReviewRef: z.string().nullable(),
    closedAt: Instant,
  }),
  ChangeCancelled: z.object({ ...ChangeId, cancelledBy: z.string(), reason: z.string(), cancelledAt: Instant }),
  PostDeploymentWatchPassed: z.object({ ...ChangeId, passedAt: Instant }),
  PostDeploymentCheckRecorded: z.object({ ...ChangeId, check: z.string(), status: z.enum(CHECK_RESULT_STATUSES), reportedBy: z.string(), late: z.boolean(), recordedAt: Instant }),
  PostDeploymentValidationSignedOff: z.object({ ...ChangeId, signer: z.string(), signedAt: Instant }),
  PostDeploymentValidationTimedOut: z.object({ ...ChangeId, missing: z.array(z.string()), onTimeout: z.enum(['fail', 'warn']), timedOutAt: Instant }),
} as const;

const ReleaseId = { releaseId: z.string() };

export const ReleaseEventSchemas = {
  ReleasePlanned: z.object({
    ...ReleaseId,
    service: z.string(),
    version: z.string(),
    releaseType: z.enum(RELEASE_TYPES),
    title: z.string(),
    description: z.string(),
    changes: z.array(z.object({ kind: z.string(), description: z.string(), reference: z.string().optional() })),
    previousVersion: z.string().nullable(),
    plannedBy: z.string(),
    plannedAt: Instant,
  }),
  ReleaseRevised: z.object({
    ...ReleaseId,
    revision: z.number().int(),
    title: z.string(),
    description: z.string(),
    changes: z.array(z.object({ kind: z.string(), description: z.string(), reference: z.string().optional() })).optional(),
    revisedBy: z.string(),
    revisedAt: Instant,
  }),
  ReleaseMigrationRecorded: z.object({
    ...ReleaseId,
    migrationId: z.string(),
    description: z.string(),
    reversible: z.boolean(),
    database: z.string().nullable(),
    revision: z.number().int(),
    recordedBy: z.string(),
    recordedAt: Instant,
  }),
  ReleaseApprovalsInvalidated: z.object({
    ...ReleaseId,
    approvalId: z.string().nullable(),
    previousRevision: z.number().int(),
    revision: z.number().int(),
    reason: z.string(),
    invalidatedAt: Instant,
  }),
  ReleaseApproved: z.object({ ...ReleaseId, approvalId: z.string(), revision: z.number().int(), approvedAt: Instant }),
  ReleaseDeploymentStarted: z.object({
    ...ReleaseId,
    deploymentId: z.string(),
    service: z.string(),
    version: z.string(),
    environment: z.string(),
    lane: z.enum(['normal', 'hotfix']),
    startedBy: z.string(),
    startedAt: Instant,
  }),
  ReleaseDeploymentSucceeded: z.object({ ...ReleaseId, deploymentId: z.string(), environment: z.string(), version: z.string(), completedAt: Instant }),
  ReleaseDeploymentFailed: z.object({ ...ReleaseId, deploymentId: z.string(), environment: z.string(), reason: z.string(), failedAt: Instant }),
  ReleaseRolledBack: z.object({
    ...ReleaseId,
    deploymentId: z.string(),
    environment: z.string(),
    initiator: z.enum(['automatic', 'manual']),
    requestedBy: z.string(),
    reason: z.string(),
    rolledBackAt: Instant,
  }),
} as const;

export const GateEventSchemas = {
  GateResultRecorded: z.object({
    releaseId: z.string(),
    environment: z.string(),
    result: z.object({ gateId: z.string(), status: z.enum(GATE_RESULT_STATUSES), startedAt: Instant, finishedAt: Instant.optional() }),
  }),
  WarnGateOverridden: z.object({
    releaseId: z.string(),
    environment: z.string(),
    override: z.object({ gateId: z.string(), actor: z.string(), reason: z.string(), at: Instant }),
  }),
} as const;
