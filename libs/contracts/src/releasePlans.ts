/**
 * releasePlans context (served by change-requests): a release's plan, stream `releasePlan-<releaseId>`:
 * prerequisites with owner, deadline and status (seeds: `ReleasePlan.prerequisites`). Who acts is the verified
 * caller. Open prerequisites stop the release's approvals (approvals asks `getReleasePlan`) and its deployments'
 * start (scheduling folds the events into its governance read model).
 */
import { z } from 'zod';

export const RELEASE_PLANS_CONTEXT = 'releasePlans';
export const RELEASE_PLANS_COMMANDS = ['addPrerequisite', 'setPrerequisiteStatus', 'setCommunicationPlan', 'getReleasePlan'] as const;
export const NOTIFICATION_CATEGORY = 'notification';
export const RELEASE_PLAN_CATEGORY = 'releasePlan';
export const releasePlanStreamId = (releaseId: string): string => `${RELEASE_PLAN_CATEGORY}-${releaseId}`;

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be 1-128 letters, digits, "-" or "_" (a UUID works)');
const Envelope = { commandId: z.string().trim().min(1).max(200), correlationId: z.string().min(1).max(200).optional(), releaseId: Id };

/** The prerequisite is validated by the domain (`PrerequisiteInput`), which names each bad field. */
export const AddPrerequisitePayload = z.strictObject({ ...Envelope, prerequisite: z.record(z.string(), z.unknown()) });
export type AddPrerequisitePayload = z.input<typeof AddPrerequisitePayload>;
export const SetPrerequisiteStatusPayload = z.strictObject({ ...Envelope, prerequisiteId: z.string().min(1).max(64), change: z.record(z.string(), z.unknown()) });
export type SetPrerequisiteStatusPayload = z.input<typeof SetPrerequisiteStatusPayload>;
/** `notifications`: [{ milestone, audience, environments?, message }], validated by the domain. */
export const SetCommunicationPlanPayload = z.strictObject({ ...Envelope, plan: z.record(z.string(), z.unknown()) });
export type SetCommunicationPlanPayload = z.input<typeof SetCommunicationPlanPayload>;
export const GetReleasePlanPayload = z.strictObject({ releaseId: Id });
export type GetReleasePlanPayload = z.input<typeof GetReleasePlanPayload>;

export interface PrerequisiteView {
  prerequisiteId: string;
  type: 'database' | 'infrastructure' | 'third_party' | 'compliance';
  description: string;
  owner: string;
  deadline: string;
  status: 'pending' | 'completed' | 'failed';
  overdue: boolean;
}

export interface ReleasePlanView {
  releaseId: string;
  streamId: string;
  prerequisites: PrerequisiteView[];
  /** Pending or failed: these stop approval and start. */
  open: string[];
  /** Who is told what at which milestone, delivered to the notification webhook. */
  communication: Array<{ milestone: string; audience: string; environments?: string[] | undefined; message: string }>;
  events: string[];
  duplicate: boolean;
}

const Instant = z.iso.datetime({ offset: true });
const Type = z.enum(['database', 'infrastructure', 'third_party', 'compliance']);
const Status = z.enum(['pending', 'completed', 'failed']);
export const ReleasePlanEventSchemas = {
  ReleasePrerequisiteAdded: z.object({ releaseId: z.string(), prerequisiteId: z.string(), type: Type, description: z.string(), owner: z.string(), deadline: Instant, addedBy: z.string(), addedAt: Instant }),
  ReleasePrerequisiteStatusChanged: z.object({ releaseId: z.string(), prerequisiteId: z.string(), owner: z.string(), from: Status, status: Status, note: z.string().nullable(), changedBy: z.string(), changedAt: Instant }),
  ReleasePrerequisiteOverdue: z.object({ releaseId: z.string(), prerequisiteId: z.string(), owner: z.string(), deadline: Instant, detectedAt: Instant }),
  ReleaseCommunicationPlanSet: z.object({
    releaseId: z.string(),
    notifications: z.array(z.object({ milestone: z.string(), audience: z.string(), environments: z.array(z.string()).optional(), message: z.string() })),
    setBy: z.string(),
    setAt: Instant,
  }),
} as const;

const Milestone = z.enum(['scheduled', 'started', 'rolled_back', 'incident']);
export const NotificationEventSchemas = {
  ReleaseNotificationIntended: z.object({
    effectId: z.string(),
    releaseId: z.string(),
    milestone: Milestone,
    audience: z.string(),
    message: z.string(),
    environment: z.string(),
    changeRequestId: z.string(),
    service: z.string(),
    version: z.string(),
    intendedAt: Instant,
  }),
  ReleaseNotificationAttempted: z.object({ effectId: z.string(), attempt: z.number().int(), at: Instant }),
  ReleaseNotificationDelivered: z.object({ effectId: z.string(), attempts: z.number().int(), deliveredAt: Instant }),
  ReleaseNotificationFailed: z.object({ effectId: z.string(), attempts: z.number().int(), reason: z.string(), failedAt: Instant }),
} as const;
