import { releaseDecider, type ReleaseEvent } from '../release/release.js';
import { releaseStepForRollback } from './releaseRollback.js';

const NOW = new Date('2026-12-03T09:00:00Z');
const planned: ReleaseEvent = {
  type: 'ReleasePlanned',
  data: { releaseId: 'rel-1', service: 'ledger', version: '3.10.0', releaseType: 'minor', title: 't', description: '', changes: [], previousVersion: '3.9.0', plannedBy: 'ana', plannedAt: '2026-11-30T09:00:00.000Z' },
};
const approved: ReleaseEvent = { type: 'ReleaseApproved', data: { releaseId: 'rel-1', approvalId: 'cr-1', revision: 1, approvedAt: '2026-11-30T10:00:00.000Z' } };
const started = (deploymentId: string, environment: string): ReleaseEvent => ({
  type: 'ReleaseDeploymentStarted',
  data: { releaseId: 'rel-1', deploymentId, service: 'ledger', version: '3.10.0', environment, lane: 'normal', promotion: null, startedBy: 'deployments', startedAt: '2026-11-30T14:00:00.000Z' },
});
const succeeded = (deploymentId: string, environment: string): ReleaseEvent => ({
  type: 'ReleaseDeploymentSucceeded',
  data: { releaseId: 'rel-1', deploymentId, environment, version: '3.10.0', completedAt: '2026-11-30T15:00:00.000Z' },
});
const state = (events: ReleaseEvent[]) => events.reduce(releaseDecider.evolve, releaseDecider.initialState());
const facts = { changeRequestId: 'cr-1', deploymentId: 'dep-stg', reason: 'error rate above 1%', initiator: 'automatic' as const };

describe('DeploymentRolledBack → the release record', () => {
  it('records an automatic rollback of a completed deployment, days after it completed', () => {
    expect(releaseStepForRollback(facts, state([planned, approved, started('dep-stg', 'staging'), succeeded('dep-stg', 'staging')]), 'staging', NOW)).toEqual({
      type: 'RecordReleaseRollback',
      data: { releaseId: 'rel-1', deploymentId: 'dep-stg', environment: 'staging', requestedBy: 'monitoring', reason: 'error rate above 1%', initiator: 'automatic', now: NOW },
    });
  });

  it('carries a manual rollback’s basis and incident review as the deployments context decided them', () => {
    const manual = { ...facts, initiator: 'manual' as const, actor: 'quinn', basis: 'incident_review' as const, incidentReviewRef: 'IR-88' };
    expect(releaseStepForRollback(manual, state([planned, approved, started('dep-stg', 'staging'), succeeded('dep-stg', 'staging')]), 'staging', NOW)).toMatchObject({
      type: 'RecordReleaseRollback',
      data: { requestedBy: 'quinn', initiator: 'manual', basis: 'incident_review', incidentReviewRef: 'IR-88' },
    });
  });

  it('a deployment rolled back before it completed failed, for the release', () => {
    expect(releaseStepForRollback(facts, state([planned, approved, started('dep-stg', 'staging')]), 'staging', NOW)).toMatchObject({
      type: 'FailReleaseDeployment',
      data: { deploymentId: 'dep-stg', reason: 'rolled back (automatic): error rate above 1%' },
    });
  });

  it('nothing for a deployment the release never recorded there', () => {
    expect(releaseStepForRollback({ ...facts, deploymentId: 'dep-other' }, state([planned, approved, started('dep-stg', 'staging'), succeeded('dep-stg', 'staging')]), 'staging', NOW)).toBeNull();
    expect(releaseStepForRollback(facts, releaseDecider.initialState(), 'staging', NOW)).toBeNull();
  });
});
