/**
 * Reaction `DeploymentRolledBack` → release record (one step of the change lifecycle workflow): a rollback the
 * deployments context performed
 * (automatic, or manual under the basis it decided, in any window) is recorded on the release, which then no longer
 * stands in that environment; progression from there is refused until a new deployment succeeds.
 */
import type { RecordReleaseRollback, ReleaseState } from '../release/release.js';

/** What the reaction reads of `DeploymentRolledBack`. */
export interface DeploymentRolledBackFacts {
  deploymentId: string;
  reason: string;
  initiator: 'automatic' | 'manual';
  actor?: string | undefined;
  basis?: RollbackBasis | undefined;
  incidentReviewRef?: string | undefined;
}
export type RollbackBasis = 'within_window' | 'no_window' | 'incident_review' | 'beyond_window_allowed';

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
