/**
 * Deployments context: the commands it serves and the events it publishes on `deployment-<changeRequestId>`
 * (one deployment per change request). It starts on scheduling's `DeploymentDue`, runs the plan step by step
 * through a pluggable target, and ends succeeded, failed, aborted or rolled back.
 */
import { z } from 'zod';

export const DEPLOYMENTS_CONTEXT = 'deployments';
export const DEPLOYMENT_CATEGORY = 'deployment';
export const deploymentStreamId = (changeRequestId: string): string => `${DEPLOYMENT_CATEGORY}-${changeRequestId}`;

const IsoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
const Name = z.string().trim().min(1).max(200);
const Reason = z.string().trim().min(1, 'give a reason; it is recorded in the audit trail').max(2_000);

/** The caller's roles (the gateway's verified token): deciding on a rollout paused by an inconclusive analysis needs one the policy names. */

/** `deployments.abort`: stop a running (or paused) deployment and restore the version it replaced. */
export const AbortDeploymentPayload = z.strictObject({ commandId: Name, changeRequestId: Name, reason: Reason, actor: Name, correlationId: Name.optional() });
export type AbortDeploymentPayload = z.infer<typeof AbortDeploymentPayload>;

/** `deployments.promote`: end the current step's analysis early and go on; on a paused rollout, needs a reason and a decision role. */
export const PromoteDeploymentPayload = z.strictObject({ commandId: Name, changeRequestId: Name, actor: Name, reason: Reason.optional(), correlationId: Name.optional() });
export type PromoteDeploymentPayload = z.infer<typeof PromoteDeploymentPayload>;

/** `deployments.rollback`: manual rollbacks follow the environment's window (staging 60 min, production 240 min; beyond → incidentReviewRef). */
export const RollbackDeploymentPayload = z.strictObject({
  commandId: Name,
  changeRequestId: Name,
  reason: Reason,
  initiator: z.enum(['automatic', 'manual']),
  evidence: z.record(z.string(), z.unknown()).optional(),
  incidentReviewRef: Name.optional(),
  actor: Name,
  correlationId: Name.optional(),
});
export type RollbackDeploymentPayload = z.infer<typeof RollbackDeploymentPayload>;

/** Reply of the three commands: the deployment's status afterwards. */
export const DeploymentCommandResult = z.object({ changeRequestId: z.string(), deploymentId: z.string(), status: z.string(), duplicate: z.boolean() });
export type DeploymentCommandResult = z.infer<typeof DeploymentCommandResult>;

const Ids = z.object({
  deploymentId: z.string(),
  changeRequestId: z.string(),
  releaseId: z.string(),
  service: z.string(),
  version: z.string(),
  environment: z.string(),
});
const Step = z.object({ index: z.number().int(), name: z.string(), trafficPercent: z.number(), durationMinutes: z.number(), analysis: z.boolean() });
const StepFact = z.object({ deploymentId: z.string(), changeRequestId: z.string(), index: z.number().int(), name: z.string(), trafficPercent: z.number(), at: IsoInstant });

/** Events deployments publishes, by type. */
export const DeploymentEvents = {
  DeploymentStarted: Ids.extend({ strategy: z.string(), steps: z.array(Step), previousVersion: z.string().optional(), startedAt: IsoInstant }),
  /** The step's claim and the intent to apply it (`effectId`); `DeploymentStepApplied` is the outcome. */
  DeploymentStepStarted: StepFact.extend({ analysisUntil: IsoInstant, effectId: z.string().optional() }),
  DeploymentStepApplied: z.object({ deploymentId: z.string(), changeRequestId: z.string(), index: z.number().int(), effectId: z.string(), at: IsoInstant }),
  /** Intent to restore the previous version, recorded before the cluster is touched; the ending event named by `ending` is its outcome. */
  DeploymentRollbackRequested: Ids.extend({
    effectId: z.string(),
    ending: z.enum(['rolled_back', 'failed', 'aborted']),
    toVersion: z.string().nullable(),
    reason: z.string(),
    actor: z.string(),
    initiator: z.enum(['automatic', 'manual']).optional(),
    evidence: z.record(z.string(), z.unknown()).optional(),
    basis: z.string().optional(),
    incidentReviewRef: z.string().optional(),
    requestedAt: IsoInstant,
  }),
  /** Another attempt claimed at an intent whose performer stopped before recording its outcome. */
  DeploymentEffectClaimed: z.object({ deploymentId: z.string(), changeRequestId: z.string(), effectId: z.string(), attempt: z.number().int().min(2), at: IsoInstant }),
  /**
   * Failure outcome of an intent the outside world refused for good (never retried): a step's is followed by the
   * intent to restore the previous version (ending `failed`); a restore's by `DeploymentFailed`.
   */
  DeploymentEffectFailed: z.object({
    deploymentId: z.string(),
    changeRequestId: z.string(),
    effectId: z.string(),
    effect: z.enum(['ApplyDeploymentStep', 'RollBackWorkload']),
    index: z.number().int().optional(),
    reason: z.string(),
    attempt: z.number().int().min(1),
    at: IsoInstant,
  }),
  DeploymentStepCompleted: StepFact.extend({ promotedBy: z.string().optional(), analysis: z.record(z.string(), z.unknown()).optional() }),
  /** The step's analysis was Inconclusive: the rollout waits for one of `decisionRoles` until `decideBy`, then aborts. */
  DeploymentPaused: StepFact.extend({ analysis: z.record(z.string(), z.unknown()), decisionRoles: z.array(z.string()), decideBy: IsoInstant }),
  InconclusiveAnalysisDecided: z.object({
    deploymentId: z.string(),
    changeRequestId: z.string(),
    index: z.number().int(),
    decision: z.enum(['promote', 'abort']),
    actor: z.string(),
    actorRoles: z.array(z.string()),
    reason: z.string(),
    at: IsoInstant,
  }),
  DeploymentSucceeded: Ids.extend({ completedAt: IsoInstant }),
  DeploymentFailed: Ids.extend({ reason: z.string(), at: IsoInstant }),
  DeploymentAborted: Ids.extend({ reason: z.string(), actor: z.string(), at: IsoInstant }),
  DeploymentRolledBack: Ids.extend({
    reason: z.string(),
    initiator: z.enum(['automatic', 'manual']),
    actor: z.string(),
    evidence: z.record(z.string(), z.unknown()).optional(),
    previousVersion: z.string().optional(),
    basis: z.string().optional(),
    incidentReviewRef: z.string().optional(),
    at: IsoInstant,
  }),
};
export type DeploymentStartedData = z.infer<typeof DeploymentEvents.DeploymentStarted>;
