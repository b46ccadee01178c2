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
