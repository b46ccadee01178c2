/**
 * What monitoring reads from other contexts' events, as tolerant readers: only the fields it uses,
 * unknown fields ignored, so producers can add fields without breaking this consumer.
 */
import { z } from 'zod';

export const DeploymentStartedData = z.object({
  deploymentId: z.string().min(1),
  changeRequestId: z.string().min(1),
  service: z.string().min(1),
  version: z.string().min(1),
  environment: z.string().min(1),
  steps: z.array(z.object({ durationMinutes: z.number().nonnegative() })).default([]),
  /** The version the deployment replaces: what a rollback restores, and the stable side of canary queries. */
  previousVersion: z.string().min(1).optional(),
  startedAt: z.string().optional(),
});
export const DeploymentSucceededData = z.object({ changeRequestId: z.string().min(1), completedAt: z.string().min(1) });
export const DeploymentEndedData = z.object({ changeRequestId: z.string().min(1) });
/** Change kind, from the change request (`kind`) or from scheduling (`changeType`). */
export const ChangeKindData = z.object({ changeRequestId: z.string().min(1), kind: z.string().optional(), changeType: z.string().optional() });

export const DEPLOYMENT_ENDINGS = { DeploymentRolledBack: 'rolled_back', DeploymentFailed: 'failed', DeploymentAborted: 'aborted' } as const;
export type DeploymentEnding = keyof typeof DEPLOYMENT_ENDINGS;
export const CHANGE_KIND_EVENTS = ['ChangeRequestSubmitted', 'DeploymentScheduled', 'DeploymentRescheduled', 'DeploymentDue'] as const;
export const EMERGENCY_KIND = 'emergency';

/** The watch events that send an alert: a raised alert to its rule's channels, a reached rollback limit to the pager. */
export const AlertRaisedData = z.object({
  changeRequestId: z.string().min(1),
  environment: z.string().min(1),
  service: z.string().min(1),
  rule: z.string().min(1),
  severity: z.enum(['critical', 'warning', 'info']),
  channels: z.array(z.string().min(1)).default([]),
  reason: z.string(),
  raisedAt: z.string().min(1),
});
export const RollbackLimitReachedData = z.object({
  changeRequestId: z.string().min(1),
  environment: z.string().min(1),
  service: z.string().min(1),
  triggerId: z.string().min(1),
  pageChannels: z.array(z.string().min(1)),
  reason: z.string(),
  at: z.string().min(1),
});
