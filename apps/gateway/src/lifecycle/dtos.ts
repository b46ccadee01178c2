/** HTTP request bodies and queries of the lifecycle API (shown at /docs); unknown fields are refused. */
import { CHANGE_KINDS, CHANGE_REQUEST_STATUSES, ChangeRequestDraft, ReleaseChange, ReleaseContent } from '@gatehouse/domain';
import { ROLES } from '@gatehouse/policy';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

export const EntityId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be 1-128 letters, digits, "-" or "_" (a UUID works)');
const Reason = z.string().trim().min(1, 'give a reason; it is recorded in the audit trail').max(2_000);
const EnvironmentName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"').max(50);
const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });

export class IdParams extends createZodDto(z.strictObject({ id: EntityId })) {}
export class ChangeRequestIdParams extends createZodDto(z.strictObject({ crId: EntityId })) {}

export class CreateReleaseDto extends createZodDto(
  ReleaseContent.extend({
    /** Currently released version of the service; the release type must match the bump from it. */
    previousVersion: z.string().min(1).max(100).optional(),
  }),
) {}

export class ReviseReleaseDto extends createZodDto(
  z
    .strictObject({ title: z.string().trim().min(1).optional(), description: z.string().max(10_000).optional(), changes: z.array(ReleaseChange).max(500).optional() })
    .refine((r) => r.title !== undefined || r.description !== undefined || r.changes !== undefined, { message: 'nothing to revise: give title, description or changes' }),
) {}

/** The seeds' change request; the author is the caller (from the token). One environment per change request. */
export class SubmitChangeDto extends createZodDto(
  // The author is the caller; an initiator comes only from CI ingestion, never from a person's request.
  ChangeRequestDraft.omit({ author: true, initiator: true, initiatorSource: true }).extend({
    kind: z.enum(CHANGE_KINDS).default('normal'),
    environments: z.array(EnvironmentName).length(1, 'name exactly one environment: one deployment per change request'),
  }),
) {}

export class ReviewDto extends createZodDto(
  z
    .strictObject({
      /** start: the caller becomes the reviewer; complete: the review is done and the change awaits approvals. */
      action: z.enum(['start', 'complete']),
      notes: z.string().max(10_000).optional(),
    })
    .refine((r) => r.action === 'complete' || r.notes === undefined, { message: 'notes belong to action "complete"', path: ['notes'] }),
) {}

export class GrantApprovalDto extends createZodDto(
  z.strictObject({
    /** The requirement this approval fills; the caller's token must carry the role. */
    role: z.enum(ROLES),
    // No `onCall`: whether the caller is on call comes from the on-call roster (PUT /api/on-call/{role}).
    comment: z.string().max(2_000).optional(),
  }),
) {}

export class RejectDto extends createZodDto(
  z.strictObject({
    reason: Reason,
    /** approval (default): an approver turns it down; review: the reviewer does, during review. */
    stage: z.enum(['approval', 'review']).default('approval'),
  }),
) {}

export class GateParams extends createZodDto(z.strictObject({ id: EntityId, gateId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'must be a gate id of the environment policy, e.g. "e2e-tests"') })) {}
export class GateOverrideDto extends createZodDto(z.strictObject({ environment: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"'), reason: Reason })) {}

export class ReasonDto extends createZodDto(z.strictObject({ reason: Reason })) {}

export class RescheduleDto extends createZodDto(
  z.strictObject({
    reason: Reason,
    /** The instant wanted: booked if the policy allows it, else refused with every reason. Omitted: the next allowed slot after the current booking. */
    at: Instant.optional(),
  }),
) {}

/** `reason` is required (and recorded) when the rollout is paused on an inconclusive analysis. */
export class PromoteDto extends createZodDto(z.strictObject({ reason: Reason.optional() })) {}

export class RollbackDto extends createZodDto(
  z.strictObject({
    reason: Reason,
    /** Observations that justify it (dashboards, error rates). */
    evidence: z.record(z.string(), z.unknown()).optional(),
    /** Needed beyond the policy's manual rollback window (the incident review that authorises it). */
    incidentReviewRef: z.string().trim().min(1).max(200).optional(),
  }),
) {}

export class CloseChangeDto extends createZodDto(
  z.strictObject({
    /** Emergency changes close only with their post-implementation review. */
    postImplementationReviewRef: z.string().trim().min(1).max(500).optional(),
  }),
) {}

export class MetricSamplesDto extends createZodDto(
  z.strictObject({
    service: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case kebab-case, e.g. "campaign-api"').max(100),
    environment: EnvironmentName,
    samples: z
      .array(z.strictObject({ metric: z.string().trim().min(1).max(200), at: Instant, value: z.number().refine(Number.isFinite, 'must be a finite number') }))
      .min(1, 'send at least one sample')
      .max(500, 'at most 500 samples per call'),
  }),
) {}

export class ChangeRequestsQuery extends createZodDto(
  z.strictObject({
    status: z.enum(CHANGE_REQUEST_STATUSES).optional(),
    environment: EnvironmentName.optional(),
    service: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a service name such as "campaign-api"').max(100).optional(),
    kind: z.enum(CHANGE_KINDS).optional(),
    /** The most recently updated first; at most this many. */
    limit: z.coerce.number().int().min(1).max(1_000).optional(),
  }),
) {}
export class PendingApprovalsQuery extends createZodDto(z.strictObject({ role: z.enum(ROLES).optional() })) {}
export class ScheduleQuery extends createZodDto(z.strictObject({ environment: EnvironmentName.optional() })) {}
export class VersionsQuery extends createZodDto(z.strictObject({ service: z.string().max(100).optional(), environment: EnvironmentName.optional() })) {}
