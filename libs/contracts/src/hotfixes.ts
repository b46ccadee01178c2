/**
 * hotfixes context: the emergency hotfix lane (seeds: "Emergency Hotfix Procedure"), one stream per
 * hotfix, `hotfix-<hotfixId>`, served by the change-requests service. The lane ships to production under
 * that environment's `emergency` path; an emergency change request names its hotfix (`draft.hotfixId`).
 * Command payloads are strict; event schemas are loose so consumers survive added fields.
 */
import { INCIDENT_SEVERITIES, type HotfixStatus, type IncidentSeverity } from '@gatehouse/domain';
import { z } from 'zod';
import { CommandId, EntityId } from './changeRequests.js';

/** Command context name on the bus (`gatehouse.cmd.hotfixes.<command>`). */
export const HOTFIXES_CONTEXT = 'hotfixes';
export const HOTFIX_CATEGORY = 'hotfix';
export const hotfixStreamId = (hotfixId: string): string => `${HOTFIX_CATEGORY}-${hotfixId}`;
/** The environment the lane deploys to: its policy's emergency path sets the SLA, the caps and the approvals. */
export const HOTFIX_ENVIRONMENT = 'production';

export const HOTFIXES_COMMANDS = ['identifyIncident', 'createHotfixBranch', 'startStagingValidation', 'completeStagingValidation', 'completePostIncidentReview', 'getHotfix'] as const;
export type HotfixesCommandName = (typeof HOTFIXES_COMMANDS)[number];

const Actor = z.string().trim().min(1, 'name who does this').max(200);
const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-11-27T15:00:00Z"' });
const Envelope = { commandId: CommandId, actor: Actor, correlationId: z.string().min(1).max(200).optional(), hotfixId: EntityId };

// ---------------------------------------------------------------- commands

/** Opens the lane for an incident; the caller (actor) is recorded as its reporter. */
export const IdentifyIncidentPayload = z.strictObject({
  ...Envelope,
  /** The incident tracker's id, e.g. "INC-2041". */
  incidentId: z.string().trim().min(1).max(128),
  /** The affected service, as releases name it (e.g. "checkout-api"). */
  service: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case kebab-case, e.g. "checkout-api"').max(100),
  severity: z.enum(INCIDENT_SEVERITIES),
  /** When the issue was identified; the SLA runs from here. @defaultValue now */
  identifiedAt: Instant.optional(),
});
export type IdentifyIncidentPayload = z.input<typeof IdentifyIncidentPayload>;

/** The production tags are what production runs for the incident's service (from the release streams), not what the caller says. */
export const CreateHotfixBranchPayload = z.strictObject({
  ...Envelope,
  branch: z.string().trim().min(1).max(200),
  /** The production tag the branch starts from: a deployed version, with or without a leading "v". */
  fromTag: z.string().trim().min(1).max(100),
});
export type CreateHotfixBranchPayload = z.input<typeof CreateHotfixBranchPayload>;

/** Starts the capped staging validation of the hotfix release, which must be of type hotfix and already running in staging. */
export const StartStagingValidationPayload = z.strictObject({ ...Envelope, releaseId: EntityId });
export type StartStagingValidationPayload = z.input<typeof StartStagingValidationPayload>;

export const CompleteStagingValidationPayload = z.strictObject({ ...Envelope, outcome: z.enum(['passed', 'failed']), notes: z.string().max(10_000).default('') });
export type CompleteStagingValidationPayload = z.input<typeof CompleteStagingValidationPayload>;

export const CompletePostIncidentReviewPayload = z.strictObject({ ...Envelope, reviewRef: z.string().trim().min(1, 'reference the review document').max(500) });
export type CompletePostIncidentReviewPayload = z.input<typeof CompletePostIncidentReviewPayload>;

export const GetHotfixPayload = z.strictObject({ hotfixId: EntityId });
export type GetHotfixPayload = z.input<typeof GetHotfixPayload>;

/** Reply of `getHotfix`: the lane as its events tell it. */
export interface HotfixView {
  hotfixId: string;
  status: HotfixStatus;
  incident: { incidentId: string; service: string; severity: IncidentSeverity; identifiedAt: string; reportedBy: string };
  sla: { minutes: number; dueAt: string; outcome: 'met' | 'breached' | null; measuredMinutes: number | null } | null;
  branch: { name: string; fromTag: string } | null;
  validation: {
    releaseId: string;
    version: string;
    startedAt: string;
    deadline: string | null;
    outcome: 'passed' | 'failed' | 'time_capped' | null;
    concludedAt: string | null;
  } | null;
  approvalId: string | null;
  deployment: { deploymentId: string; deployedAt: string; enhancedMonitoring: boolean } | null;
  review: { dueAt: string; overdue: boolean; completedAt: string | null; reviewRef: string | null; late: boolean | null } | null;
}

// ---------------------------------------------------------------- published events

const HotfixId = { hotfixId: z.string() };

export const HotfixEventSchemas = {
  IncidentIdentified: z.object({
    ...HotfixId,
    incidentId: z.string(),
    service: z.string(),
    severity: z.enum(INCIDENT_SEVERITIES),
    identifiedAt: Instant,
    reportedBy: z.string(),
    slaDueAt: Instant.nullable(),
    slaMinutes: z.number().nullable(),
    stagingValidationMaxMinutes: z.number().nullable(),
    postIncidentReviewWithinHours: z.number().nullable(),
    enhancedMonitoring: z.boolean(),
    branchFromProductionTag: z.boolean(),
  }),
  HotfixBranchCreated: z.object({ ...HotfixId, branch: z.string(), fromTag: z.string(), createdAt: Instant }),
  StagingValidationStarted: z.object({ ...HotfixId, releaseId: z.string(), version: z.string(), startedAt: Instant, deadline: Instant.nullable() }),
  StagingValidationCompleted: z.object({ ...HotfixId, outcome: z.enum(['passed', 'failed']), notes: z.string(), durationMinutes: z.number(), completedAt: Instant, completedBy: z.string().optional() }),
  StagingValidationTimeCapped: z.object({ ...HotfixId, startedAt: Instant, cappedAt: Instant, capMinutes: z.number(), lateResult: z.literal('passed').nullable() }),
  HotfixApproved: z.object({ ...HotfixId, approvalId: z.string(), approvedAt: Instant }),
  HotfixDeployedToProduction: z.object({ ...HotfixId, deploymentId: z.string(), deployedAt: Instant, minutesSinceIdentification: z.number(), enhancedMonitoring: z.boolean() }),
  HotfixSlaMet: z.object({ ...HotfixId, measuredMinutes: z.number(), slaMinutes: z.number() }),
  HotfixSlaBreached: z.object({ ...HotfixId, measuredMinutes: z.number(), slaMinutes: z.number(), fixDeployed: z.boolean() }),
  PostIncidentReviewDue: z.object({ ...HotfixId, incidentId: z.string(), dueAt: Instant }),
  PostIncidentReviewOverdue: z.object({ ...HotfixId, incidentId: z.string(), dueAt: Instant, overdueByMinutes: z.number() }),
  PostIncidentReviewCompleted: z.object({ ...HotfixId, reviewRef: z.string(), completedBy: z.string(), completedAt: Instant, late: z.boolean() }),
} as const;
