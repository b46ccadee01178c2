/**
 * Reaction `DeploymentRolledBack` → release record (issue 8, item 5), kept apart from the lifecycle process manager
 * so it can move into the change-requests workflow as one step: a rollback the deployments context performed
 * (automatic, or manual under the basis it decided, in any window) is recorded on the release, which then no longer
 * stands in that environment; progression from there is refused until a new deployment succeeds.
 */
import type { RecordReleaseRollback, ReleaseState } from '@gatehouse/domain';
import { z } from 'zod';

/** What the reaction reads of `DeploymentRolledBack` (loose: deployments may add fields). */
export const DeploymentRolledBackFacts = z.object({
  changeRequestId: z.string().min(1),
  deploymentId: z.string().min(1),
  reason: z.string(),
  initiator: z.enum(['automatic', 'manual']),
  actor: z.string().optional(),
  basis: z.enum(['within_window', 'no_window', 'incident_review', 'beyond_window_allowed']).optional(),
  incidentReviewRef: z.string().optional(),
});
export type DeploymentRolledBackFacts = z.output<typeof DeploymentRolledBackFacts>;

/**
 * The release command for a rolled-back deployment of the change's release: a deployment rolled back before it
 * completed is a failed deployment; one that completed is a rollback on the record. Null when the release never
 * recorded that deployment.
 */
export function releaseStepForRollback(
  facts: DeploymentRolledBackFacts,
  release: ReleaseState,
  environment: string,
  now: Date,
): { type: 'FailReleaseDeployment'; data: { releaseId: string; deploymentId: string; reason: string; now: Date } } | RecordReleaseRollback | null {
  if (release.status === 'not_planned') return null;
  const { deploymentId, initiator, reason, basis, incidentReviewRef } = facts;
  if (release.status === 'deploying' && release.activeDeploymentId === deploymentId) {
    return { type: 'FailReleaseDeployment', data: { releaseId: release.releaseId, deploymentId, reason: `rolled back (${initiator}): ${reason}`, now } };
  }
  if (release.deployments[environment]?.deploymentId !== deploymentId) return null;
  return {
    type: 'RecordReleaseRollback',
    data: {
      releaseId: release.releaseId,
      deploymentId,
      environment,
      requestedBy: facts.actor ?? (initiator === 'automatic' ? 'monitoring' : 'deployments'),
      reason,
      initiator,
      ...(basis === undefined ? {} : { basis }),
      ...(incidentReviewRef === undefined ? {} : { incidentReviewRef }),
      now,
    },
  };
}
