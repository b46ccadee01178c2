import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, SeparationOfDutiesViolation, ValidationError } from '../errors.js';
import { productionEmergency } from '../approvals/fixtures.js';
import { EmergencyPathNotAllowedError } from '../approvals/requiredApprovals.js';
import { hotfixDecider, hotfixValidationEvidence, NotAProductionTagError, type HotfixCommand, type HotfixEvent } from './hotfix.js';

const spec = DeciderSpecification.for(hotfixDecider);
// Thanksgiving 2026 (Black Friday week blackout, US holiday weekend): checkout is down.
const IDENTIFIED = '2026-11-26T02:50:00.000Z';
const at = (iso: string) => new Date(iso);

const identify: HotfixCommand = {
  type: 'IdentifyIncident',
  data: { hotfixId: 'hf-1', incidentId: 'INC-42', service: 'checkout', severity: 'critical', identifiedAt: IDENTIFIED, reportedBy: 'pager', policy: productionEmergency, now: at('2026-11-26T02:52:00Z') },
};
const identified: HotfixEvent = {
  type: 'IncidentIdentified',
  data: {
    hotfixId: 'hf-1',
    incidentId: 'INC-42',
    service: 'checkout',
    severity: 'critical',
    identifiedAt: IDENTIFIED,
    reportedBy: 'pager',
    slaDueAt: '2026-11-26T04:50:00.000Z',
    slaMinutes: 120,
    stagingValidationMaxMinutes: 30,
    postIncidentReviewWithinHours: 24,
    enhancedMonitoring: true,
    branchFromProductionTag: true,
  },
};
const branched: HotfixEvent = { type: 'HotfixBranchCreated', data: { hotfixId: 'hf-1', branch: 'hotfix/checkout-npe', fromTag: 'v2.0.3', createdAt: '2026-11-26T03:00:00.000Z' } };
const validationStarted: HotfixEvent = {
  type: 'StagingValidationStarted',
  data: { hotfixId: 'hf-1', releaseId: 'rel-hf', version: '2.0.4', startedAt: '2026-11-26T03:20:00.000Z', deadline: '2026-11-26T03:50:00.000Z' },
};
const validated: HotfixEvent = { type: 'StagingValidationCompleted', data: { hotfixId: 'hf-1', outcome: 'passed', notes: 'smoke ok', durationMinutes: 20, completedAt: '2026-11-26T03:40:00.000Z', completedBy: 'qa-quinn' } };
const approved: HotfixEvent = { type: 'HotfixApproved', data: { hotfixId: 'hf-1', approvalId: 'apr-hf', approvedAt: '2026-11-26T03:50:00.000Z' } };
const deployedAt = '2026-11-26T04:10:00.000Z';
const deployed: HotfixEvent = {
  type: 'HotfixDeployedToProduction',
  data: { hotfixId: 'hf-1', deploymentId: 'dep-hf', deployedAt, minutesSinceIdentification: 80, enhancedMonitoring: true },
};
const reviewDue: HotfixEvent = { type: 'PostIncidentReviewDue', data: { hotfixId: 'hf-1', incidentId: 'INC-42', dueAt: '2026-11-27T04:10:00.000Z' } };
const check = (now: string): HotfixCommand => ({ type: 'CheckHotfixDeadlines', data: { hotfixId: 'hf-1', now: at(now) } });

describe('Hotfix lane: identification and branch', () => {
  it('identifies a critical incident with its SLA deadline', () => {
    spec.given([]).when(identify).then([identified]);
  });

  it('non-critical incidents carry no SLA', () => {
    spec
      .given([])
      .when({ ...identify, data: { ...identify.data, severity: 'high' } } as HotfixCommand)
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ slaDueAt: null, slaMinutes: null }));
  });

  it('refuses an identification time in the future, and a policy without an emergency path', () => {
    spec
      .given([])
      .when({ ...identify, data: { ...identify.data, identifiedAt: '2026-11-26T05:00:00Z' } } as HotfixCommand)
      .thenThrows(ValidationError, (e) => e.issues[0]?.field === 'identifiedAt');
    spec
      .given([])
      .when({ ...identify, data: { ...identify.data, policy: { ...productionEmergency, allowed: false } } } as HotfixCommand)
      .thenThrows(EmergencyPathNotAllowedError);
  });

  it('branches from the production tag', () => {
    spec
      .given([identified])
      .when({ type: 'CreateHotfixBranch', data: { hotfixId: 'hf-1', branch: 'hotfix/checkout-npe', fromTag: 'v2.0.3', productionTags: ['v2.0.3'], now: at('2026-11-26T03:00:00Z') } })
      .then([branched]);
  });

  it('refuses a branch from a tag that is not in production', () => {
    spec
      .given([identified])
      .when({ type: 'CreateHotfixBranch', data: { hotfixId: 'hf-1', branch: 'hotfix/x', fromTag: 'v2.1.0-rc.1', productionTags: ['v2.0.3'], now: at('2026-11-26T03:00:00Z') } })
      .thenThrows(NotAProductionTagError, (e) => e.tag === 'v2.1.0-rc.1' && e.productionTags.join() === 'v2.0.3');
  });

  it('refuses a branch without a tag', () => {
    spec
      .given([identified])
      .when({ type: 'CreateHotfixBranch', data: { hotfixId: 'hf-1', branch: 'hotfix/x', fromTag: '', productionTags: ['v2.0.3'], now: at('2026-11-26T03:00:00Z') } })
      .thenThrows(ValidationError, (e) => e.issues[0]?.field === 'fromTag');
  });
});

describe('Hotfix lane: staging validation capped at 30 min', () => {
  it('starting validation emits the cap deadline', () => {
    spec
      .given([identified, branched])
      .when({ type: 'StartStagingValidation', data: { hotfixId: 'hf-1', releaseId: 'rel-hf', version: '2.0.4', now: at('2026-11-26T03:20:00Z') } })
      .then([validationStarted]);
  });

  it('a pass within the cap validates and yields release evidence', () => {
    spec
      .given([identified, branched, validationStarted])
      .when({ type: 'CompleteStagingValidation', data: { hotfixId: 'hf-1', outcome: 'passed', notes: 'smoke ok', completedBy: 'qa-quinn', changeOwners: ['rita'], now: at('2026-11-26T03:40:00Z') } })
      .thenEvents((events, state) => {
        expect(events).toEqual([validated]);
        expect(hotfixValidationEvidence(state)).toEqual({ outcome: 'passed', startedAt: '2026-11-26T03:20:00.000Z', concludedAt: '2026-11-26T03:40:00.000Z' });
      });
  });

  it('refuses the validation completed by the author of one of the hotfix’s changes', () => {
    spec
      .given([identified, branched, validationStarted])
      .when({ type: 'CompleteStagingValidation', data: { hotfixId: 'hf-1', outcome: 'passed', notes: 'mine is fine', completedBy: 'rita', changeOwners: ['rita'], now: at('2026-11-26T03:40:00Z') } })
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'rita' && e.rule === 'author_cannot_validate');
  });

  it('a pass reported after the cap is recorded as time-capped at the deadline', () => {
    spec
      .given([identified, branched, validationStarted])
      .when({ type: 'CompleteStagingValidation', data: { hotfixId: 'hf-1', outcome: 'passed', notes: '', completedBy: 'qa-quinn', changeOwners: ['rita'], now: at('2026-11-26T03:55:00Z') } })
      .then([{ type: 'StagingValidationTimeCapped', data: { hotfixId: 'hf-1', startedAt: '2026-11-26T03:20:00.000Z', cappedAt: '2026-11-26T03:50:00.000Z', capMinutes: 30, lateResult: 'passed' } }]);
  });

  it('the deadline check caps a validation still running after 30 min', () => {
    spec.given([identified, branched, validationStarted]).when(check('2026-11-26T03:50:00Z')).thenNothingHappened();
    spec
      .given([identified, branched, validationStarted])
      .when(check('2026-11-26T03:51:00Z'))
      .thenEvents((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['StagingValidationTimeCapped']);
        expect(hotfixValidationEvidence(state)?.outcome).toBe('time_capped');
      });
  });

  it('a failed validation blocks the expedited approval', () => {
    const failed: HotfixEvent = { type: 'StagingValidationCompleted', data: { hotfixId: 'hf-1', outcome: 'failed', notes: 'still 500s', durationMinutes: 10, completedAt: '2026-11-26T03:30:00.000Z' } };
    spec
      .given([identified, branched, validationStarted, failed])
      .when({ type: 'RecordExpeditedApproval', data: { hotfixId: 'hf-1', approvalId: 'apr-hf', now: at('2026-11-26T03:35:00Z') } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'validation_failed');
  });

  it('refuses deploying before approval', () => {
    spec
      .given([identified, branched, validationStarted, validated])
      .when({ type: 'DeployHotfixToProduction', data: { hotfixId: 'hf-1', deploymentId: 'dep-hf', now: at('2026-11-26T04:00:00Z') } })
      .thenThrows(IllegalTransitionError, (e) => e.allowedFrom.join() === 'approved');
  });
});

describe('Hotfix lane: SLA and post-incident review', () => {
  const ready = [identified, branched, validationStarted, validated, approved];

  it('deploys within 2 h: SLA met, review due 24 h after deployment, enhanced monitoring on', () => {
    spec
      .given(ready)
      .when({ type: 'DeployHotfixToProduction', data: { hotfixId: 'hf-1', deploymentId: 'dep-hf', now: at(deployedAt) } })
      .then([deployed, { type: 'HotfixSlaMet', data: { hotfixId: 'hf-1', measuredMinutes: 80, slaMinutes: 120 } }, reviewDue]);
  });

  it('deploying exactly at 2 h breaches the "< 2 hours" SLA', () => {
    spec
      .given(ready)
      .when({ type: 'DeployHotfixToProduction', data: { hotfixId: 'hf-1', deploymentId: 'dep-hf', now: at('2026-11-26T04:50:00Z') } })
      .thenEvents((events) => expect(events[1]).toEqual({ type: 'HotfixSlaBreached', data: { hotfixId: 'hf-1', measuredMinutes: 120, slaMinutes: 120, fixDeployed: true } }));
  });

  it('a deadline check past the SLA with no fix deployed records the breach once', () => {
    const breach: HotfixEvent = { type: 'HotfixSlaBreached', data: { hotfixId: 'hf-1', measuredMinutes: 125, slaMinutes: 120, fixDeployed: false } };
    spec.given(ready).when(check('2026-11-26T04:49:59Z')).thenNothingHappened();
    spec.given(ready).when(check('2026-11-26T04:55:00Z')).then([breach]);
    spec.given([...ready, breach]).when(check('2026-11-26T05:30:00Z')).thenNothingHappened();
  });

  it('flags the post-incident review overdue after 24 h, once', () => {
    const history = [...ready, deployed, reviewDue];
    spec.given(history).when(check('2026-11-27T04:10:00Z')).thenNothingHappened();
    const overdue: HotfixEvent = { type: 'PostIncidentReviewOverdue', data: { hotfixId: 'hf-1', incidentId: 'INC-42', dueAt: '2026-11-27T04:10:00.000Z', overdueByMinutes: 50 } };
    spec.given(history).when(check('2026-11-27T05:00:00Z')).then([overdue]);
    spec.given([...history, overdue]).when(check('2026-11-28T05:00:00Z')).thenNothingHappened();
  });

  it('completing the review closes the hotfix; nothing is overdue afterwards', () => {
    const history = [...ready, deployed, reviewDue];
    const completed: HotfixEvent = { type: 'PostIncidentReviewCompleted', data: { hotfixId: 'hf-1', reviewRef: 'PIR-42', completedBy: 'sre-sam', completedAt: '2026-11-26T16:00:00.000Z', late: false } };
    spec
      .given(history)
      .when({ type: 'CompletePostIncidentReview', data: { hotfixId: 'hf-1', reviewRef: 'PIR-42', completedBy: 'sre-sam', changeOwners: ['rita'], now: at('2026-11-26T16:00:00Z') } })
      .then([completed]);
    spec.given([...history, completed]).when(check('2026-11-29T00:00:00Z')).thenNothingHappened();
  });

  it('refuses the post-incident review completed by the author of one of the hotfix’s changes', () => {
    spec
      .given([...ready, deployed, reviewDue])
      .when({ type: 'CompletePostIncidentReview', data: { hotfixId: 'hf-1', reviewRef: 'PIR-42', completedBy: 'rita', changeOwners: ['rita'], now: at('2026-11-26T16:00:00Z') } })
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'rita' && e.rule === 'author_cannot_review_incident');
  });

  it('a review completed after the due time is marked late', () => {
    spec
      .given([...ready, deployed, reviewDue])
      .when({ type: 'CompletePostIncidentReview', data: { hotfixId: 'hf-1', reviewRef: 'PIR-42', completedBy: 'sre-sam', changeOwners: ['rita'], now: at('2026-11-28T09:00:00Z') } })
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ late: true }));
  });
});
