/**
 * releasePlans context (served by change-requests): a release's plan, stream `releasePlan-<releaseId>`:
 * prerequisites with owner, deadline and status (seeds: `ReleasePlan.prerequisites`). Who acts is the verified
 * caller. Open prerequisites stop the release's approvals (approvals asks `getReleasePlan`) and its deployments'
 * start (scheduling folds the events into its governance read model).
 */
import { z } from 'zod';

export const RELEASE_PLANS_CONTEXT = 'releasePlans';
export const RELEASE_PLANS_COMMANDS = ['addPrerequisite', 'setPrerequisiteStatus', 'getReleasePlan'] as const;
export const RELEASE_PLAN_CATEGORY = 'releasePlan';
export const releasePlanStreamId = (releaseId: string): string => `${RELEASE_PLAN_CATEGORY}-${releaseId}`;

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be 1-128 letters, digits, "-" or "_" (a UUID works)');
const Envelope = { commandId: z.string().trim().min(1).max(200), correlationId: z.string().min(1).max(200).optional(), releaseId: Id };

/** The prerequisite is validated by the domain (`PrerequisiteInput`), which names each bad field. */
export const AddPrerequisitePayload = z.strictObject({ ...Envelope, prerequisite: z.record(z.string(), z.unknown()) });
export type AddPrerequisitePayload = z.input<typeof AddPrerequisitePayload>;
export const SetPrerequisiteStatusPayload = z.strictObject({ ...Envelope, prerequisiteId: z.string().min(1).max(64), change: z.record(z.string(), z.unknown()) });
export type SetPrerequisiteStatusPayload = z.input<typeof SetPrerequisiteStatusPayload>;
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
} as const;
