import { WorkflowSpecification } from '@gatehouse/testing';
import type { HotfixEvent } from '../hotfix/hotfix.js';
import { type HotfixLaneChange, type HotfixLaneEvent, type HotfixLaneInput, hotfixLaneWorkflow } from './hotfixLane.js';

const spec = WorkflowSpecification.for(hotfixLaneWorkflow);
const identified: HotfixEvent = {
  type: 'IncidentIdentified',
  data: {
    hotfixId: 'hf-1',
    incidentId: 'INC-42',
    service: 'checkout',
    severity: 'critical',
    identifiedAt: '2026-11-26T02:50:00.000Z',
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
const validated: HotfixEvent = { type: 'StagingValidationCompleted', data: { hotfixId: 'hf-1', outcome: 'passed', notes: 'smoke ok', durationMinutes: 20, completedAt: '2026-11-26T03:40:00.000Z' } };
const laneChange: HotfixLaneChange = { changeRequestId: 'cr-hf', hotfixId: 'hf-1', shipsValidatedRelease: true, approvalId: 'cr-hf' };
const input = (event: HotfixLaneEvent, change: HotfixLaneChange | null = laneChange, extra: Partial<HotfixLaneInput> = {}): HotfixLaneInput => ({ eventId: 'evt-1', event, change, ...extra });
const started: HotfixLaneEvent = { type: 'DeploymentStarted', data: { deploymentId: 'dep-1', startedAt: '2026-11-26T04:10:00.000Z' } };

describe('Hotfix lane workflow', () => {
  it('records the expedited approval of the lane change once validation passed, at the approval time', () =>
    spec
      .given([identified, branched, validationStarted, validated])
      .when(input({ type: 'ChangeFullyApproved', data: { approvalId: 'cr-hf', approvedAt: '2026-11-26T03:45:00.000Z' } }))
      .then([
        { kind: 'send', target: 'hotfix', streamId: 'hotfix-hf-1', commandId: 'evt-1:RecordExpeditedApproval', command: { type: 'RecordExpeditedApproval', data: { hotfixId: 'hf-1', approvalId: 'cr-hf', now: new Date('2026-11-26T03:45:00.000Z') } } },
      ]));

  it('an approval before validation ended is recorded when validation ends, with the approved change found then', () => {
    spec
      .given([identified, branched, validationStarted])
      .when(input({ type: 'ChangeFullyApproved', data: { approvalId: 'cr-hf', approvedAt: '2026-11-26T03:30:00.000Z' } }))
      .thenOutputs((outputs) => expect(outputs).toEqual([{ kind: 'ignore', reason: expect.stringContaining('recorded when its staging validation ends') }]));
    spec
      .given([identified, branched, validationStarted])
      .when(input({ type: 'StagingValidationCompleted', data: { hotfixId: 'hf-1', outcome: 'passed', completedAt: '2026-11-26T03:40:00.000Z' } }, null, { approvedChangeApprovalId: 'cr-hf' }))
      .thenOutputs((outputs) => expect(outputs.map((o) => o.kind === 'send' && [o.command.type, o.command.data])).toEqual([['RecordExpeditedApproval', { hotfixId: 'hf-1', approvalId: 'cr-hf', now: new Date('2026-11-26T03:40:00.000Z') }]]));
  });

  it('records the production deployment at the moment it started (the SLA is measured to it), approving first if needed', () =>
    spec
      .given([identified, branched, validationStarted, validated])
      .when(input(started))
      .thenOutputs((outputs) =>
        expect(outputs.map((o) => o.kind === 'send' && `${o.commandId} ${o.command.data.now.toISOString()}`)).toEqual([
          'evt-1:RecordExpeditedApproval 2026-11-26T04:10:00.000Z',
          'evt-1:DeployHotfixToProduction 2026-11-26T04:10:00.000Z',
        ]),
      ));

  it('ignores, saying why, a change that is not the lane change or ships another release than the one validated', () => {
    spec.given([identified]).when(input(started, null)).then([{ kind: 'ignore', reason: 'not a hotfix lane change' }]);
    spec
      .given([identified, branched, validationStarted, validated])
      .when(input(started, { ...laneChange, shipsValidatedRelease: false }))
      .thenOutputs((outputs) => expect(outputs).toEqual([{ kind: 'ignore', reason: expect.stringContaining('ships a release other than the one hotfix hf-1 validated') }]));
  });
});
