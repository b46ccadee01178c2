/**
 * Projections context: `projections.query { view, filter }` → `{ asOfPosition, items }`. Callers that just
 * wrote poll until `asOfPosition` (a decimal global position) reaches the position their command returned.
 */
import { z } from 'zod';

export const PROJECTIONS_CONTEXT = 'projections';
export const MAX_QUERY_LIMIT = 1_000;

const Name = z.string().trim().min(1).max(200);
const IsoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
const Limit = z.number().int().positive().max(MAX_QUERY_LIMIT).optional();

export const ProjectionQueryPayload = z.discriminatedUnion('view', [
  z.strictObject({ view: z.literal('changeRequests'), filter: z.strictObject({ status: Name.optional(), environment: Name.optional(), service: Name.optional(), kind: Name.optional(), limit: Limit }).default({}) }),
  z.strictObject({ view: z.literal('pendingApprovals'), filter: z.strictObject({ role: Name.optional(), environment: Name.optional(), changeRequestId: Name.optional() }).default({}) }),
  z.strictObject({ view: z.literal('schedule'), filter: z.strictObject({ environment: Name.optional(), from: IsoInstant.optional(), to: IsoInstant.optional() }).default({}) }),
  z.strictObject({ view: z.literal('versions'), filter: z.strictObject({ service: Name.optional(), environment: Name.optional() }).default({}) }),
  z.strictObject({ view: z.literal('activeDeployments'), filter: z.strictObject({ service: Name.optional(), environment: Name.optional() }).default({}) }),
  z.strictObject({ view: z.literal('changeHistory'), filter: z.strictObject({ changeRequestId: Name }) }),
]);
export type ProjectionQueryPayload = z.infer<typeof ProjectionQueryPayload>;
export type ProjectionView = ProjectionQueryPayload['view'];

export interface ProjectionQueryResult<Item = unknown> {
  /** Global position of the last event the read models include (decimal string). */
  asOfPosition: string;
  items: Item[];
}

/** `projections.rebuild {}`: rebuild the read models from the whole log into fresh tables and swap them in. */
export const ProjectionRebuildPayload = z.strictObject({});
/** Who may rebuild the read models: the people who operate the system (as for dead letters). */
export const READ_MODEL_ADMIN_ROLES: readonly string[] = ['sre', 'release_engineer'];

/** The items of each view, as the projections service answers them (JSON: instants are ISO-8601 strings). */
export interface ChangeRequestView {
  changeRequestId: string;
  status: string;
  kind: string;
  title: string;
  environments: string[];
  releaseId: string | null;
  service: string | null;
  version: string | null;
  risk: { level: string; score: number };
  updatedAt: string;
}
export interface PendingApprovalView {
  changeRequestId: string;
  approvalId: string;
  environment: string;
  role: string;
  missing: number;
  onCall: boolean;
}
export interface ScheduledDeploymentView {
  changeRequestId: string;
  releaseId: string | null;
  service: string;
  version: string;
  environment: string;
  changeType: string | null;
  strategy: string | null;
  scheduledFor: string;
  windowId: string | null;
  status: 'booked' | 'due' | 'started';
}
export interface RunningVersionView {
  service: string;
  environment: string;
  version: string;
  changeRequestId: string;
  since: string;
  /** Versions that ran before, newest first; a rollback returns to the head of this list. */
  previous: string[];
}
export interface ActiveDeploymentView {
  deploymentId: string;
  changeRequestId: string;
  service: string;
  version: string;
  environment: string;
  strategy: string | null;
  totalSteps: number;
  /** 1-based number of the step in progress or last completed; 0 before the first step. */
  currentStep: number;
  currentStepName: string | null;
  trafficPercent: number;
  startedAt: string;
}
export interface HistoryEntry {
  position: string;
  streamId: string;
  type: string;
  recordedAt: string;
  actor: string | null;
  reason: string | null;
  data: unknown;
}
