import type { HotfixEvent } from '@gatehouse/domain';
import { hotfixOfChange } from './hotfix-lane.js';
import { hotfixView, productionTagsOf, runningVersions } from './hotfix-streams.js';

const identified: HotfixEvent = {
  type: 'IncidentIdentified',
  data: {
    hotfixId: 'hf-1',
    incidentId: 'INC-1',
    service: 'checkout',
    severity: 'critical',
    identifiedAt: '2026-11-27T14:50:00.000Z',
    reportedBy: 'sam',
    slaDueAt: '2026-11-27T16:50:00.000Z',
    slaMinutes: 120,
    stagingValidationMaxMinutes: 30,
    postIncidentReviewWithinHours: 24,
    enhancedMonitoring: true,
    branchFromProductionTag: true,
  },
};
const validationStarted: HotfixEvent = {
  type: 'StagingValidationStarted',
  data: { hotfixId: 'hf-1', releaseId: 'rel-hf', version: '2.0.4', startedAt: '2026-11-27T15:10:00.000Z', deadline: '2026-11-27T15:40:00.000Z' },
};

describe('what production runs', () => {
  const planned = (releaseId: string, service: string, version: string) => ({ streamId: `release-${releaseId}`, type: 'ReleasePlanned', data: { releaseId, service, version } });
  const succeeded = (releaseId: string, environment = 'production') => ({ streamId: `release-${releaseId}`, type: 'ReleaseDeploymentSucceeded', data: { releaseId, environment } });
  const rolledBack = (releaseId: string, environment = 'production') => ({ streamId: `release-${releaseId}`, type: 'ReleaseRolledBack', data: { releaseId, environment } });

  it('is the last version of the service whose production deployment succeeded', () => {
    const facts = [planned('a', 'checkout', '2.0.3'), planned('b', 'checkout', '2.1.0'), planned('c', 'search', '9.9.9'), succeeded('a'), succeeded('b', 'staging'), succeeded('c')];
    expect(runningVersions(facts, 'checkout', 'production')).toEqual(['2.0.3']);
    expect(runningVersions([...facts, succeeded('b')], 'checkout', 'production')).toEqual(['2.1.0']);
  });

  it('goes back to the version a rolled-back release replaced', () => {
    const facts = [planned('a', 'checkout', '2.0.3'), planned('b', 'checkout', '2.1.0'), succeeded('a'), succeeded('b'), rolledBack('b')];
    expect(runningVersions(facts, 'checkout', 'production')).toEqual(['2.0.3']);
    expect(runningVersions([planned('a', 'checkout', '2.0.3')], 'checkout', 'production')).toEqual([]);
  });

  it('offers each version as a tag with and without a leading v', () => {
    expect(productionTagsOf(['2.0.3'])).toEqual(['2.0.3', 'v2.0.3']);
  });
});

describe('hotfix lane change', () => {
  const draft = (environments: string[], hotfixId?: string) => ({ environments, ...(hotfixId === undefined ? {} : { hotfixId }) }) as never;

  it('is an emergency change to production naming the hotfix', () => {
    expect(hotfixOfChange({ kind: 'emergency', draft: draft(['production'], 'hf-1') })).toBe('hf-1');
    expect(hotfixOfChange({ kind: 'emergency', draft: draft(['staging'], 'hf-1') })).toBeNull();
    expect(hotfixOfChange({ kind: 'normal', draft: draft(['production'], 'hf-1') })).toBeNull();
    expect(hotfixOfChange({ kind: 'emergency', draft: draft(['production']) })).toBeNull();
  });
});

describe('hotfix view', () => {
  it('is null for a hotfix never identified', () => {
    expect(hotfixView([])).toBeNull();
  });

  it('keeps a breach found before the fix shipped when the late fix is recorded', () => {
    const view = hotfixView([
      identified,
      { type: 'HotfixSlaBreached', data: { hotfixId: 'hf-1', measuredMinutes: 120, slaMinutes: 120, fixDeployed: false } },
      { type: 'HotfixSlaBreached', data: { hotfixId: 'hf-1', measuredMinutes: 130, slaMinutes: 120, fixDeployed: true } },
    ]);
    expect(view?.sla).toEqual({ minutes: 120, dueAt: '2026-11-27T16:50:00.000Z', outcome: 'breached', measuredMinutes: 120 });
  });

  it('shows the validation as time-capped at the cap', () => {
    const view = hotfixView([
      identified,
      validationStarted,
      { type: 'StagingValidationTimeCapped', data: { hotfixId: 'hf-1', startedAt: '2026-11-27T15:10:00.000Z', cappedAt: '2026-11-27T15:40:00.000Z', capMinutes: 30, lateResult: null } },
    ]);
    expect(view).toMatchObject({ status: 'time_capped', validation: { outcome: 'time_capped', concludedAt: '2026-11-27T15:40:00.000Z' } });
  });
});
