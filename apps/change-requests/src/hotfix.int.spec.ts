// The emergency hotfix lane on the embedded host: change-requests (which serves `hotfixes.*`) with approvals;
// scheduling and deployments are played by the test, which appends their events as the contracts define them.
import { APPROVALS_CONSUMERS, approvalsService } from '../../approvals/src/index.js';
import type { ApprovalReply, ChangeView, CommandReply, HotfixView } from '@gatehouse/contracts';
import { MS_PER_MINUTE } from '@gatehouse/domain';
import { changeRequestsService } from './index.js';
import { HOTFIX_LANE_CONSUMER } from './hotfix-process.js';
import { CONSUMER_NAME } from './process-managers.js';
import { commandId, eventually, givenDeployed, type Harness, releasePayload, startHarness, submitPayload, waitFor } from './test-support/harness.js';

/** Friday of Black Friday week (and of the Thanksgiving weekend): production is in blackout. */
const NOW = '2026-11-27T15:00:00Z';
const IDENTIFIED = '2026-11-27T14:50:00Z';
/** The deadline ticker looks once a second: long enough to have looked several times. */
const SEVERAL_TICKS_MS = 2_500;

describe('hotfix lane on the embedded host', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness([changeRequestsService, approvalsService], NOW);
  });
  afterEach(() => h.stop());

  const send = <T = CommandReply>(command: string, payload: object) => h.send<T>('hotfixes', command, { commandId: commandId(), actor: 'sam', ...payload });
  const hotfix = (hotfixId: string) => h.send<HotfixView>('hotfixes', 'getHotfix', { hotfixId });
  const change = (changeRequestId: string) => h.send<ChangeView>('changeRequests', 'getChange', { changeRequestId });
  const count = async (streamId: string, type: string) => (await h.types(streamId)).filter((t) => t === type).length;
  const settle = (ms = SEVERAL_TICKS_MS) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Production runs campaign-api 2.1.0; the hotfix release 2.1.1 is planned (not yet deployed anywhere). */
  async function givenProductionAndHotfixRelease(): Promise<void> {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-base', '2.1.0'));
    await givenDeployed(h, 'rel-base', ['development', 'staging', 'production']);
    await h.send('changeRequests', 'createRelease', {
      ...releasePayload('rel-hf', '2.1.1'),
      release: { service: 'campaign-api', version: '2.1.1', type: 'hotfix', title: 'Checkout NPE', changes: [{ kind: 'fix', description: 'Null check in the payment callback' }] },
      previousVersion: '2.1.0',
    });
  }

  /** Identified, branched from the production tag, and (once staging runs the release) validating. */
  async function givenValidating(hotfixId: string): Promise<void> {
    await send('identifyIncident', { hotfixId, incidentId: `INC-${hotfixId}`, service: 'campaign-api', severity: 'critical', identifiedAt: IDENTIFIED });
    await send('createHotfixBranch', { hotfixId, branch: `hotfix/${hotfixId}`, fromTag: 'v2.1.0' });
    await send('startStagingValidation', { hotfixId, releaseId: 'rel-hf' });
  }

  async function submitHotfixChange(changeRequestId: string, hotfixId: string, environment = 'production'): Promise<void> {
    const payload = submitPayload(changeRequestId, { environment, planned: h.clock.now().toISOString(), releaseId: 'rel-hf', kind: 'emergency', author: 'alice' });
    await h.send('changeRequests', 'submitChange', { ...payload, draft: { ...payload.draft, hotfixId } });
    await eventually(h, `approval-${changeRequestId}`, 'ApprovalsRequested');
  }

  /** An approval; `onCall`: the role's roster (set by another SRE) first puts the approver on call around now. */
  async function grant(changeRequestId: string, role: string, approver: string, onCall = false): Promise<ApprovalReply> {
    if (onCall) {
      const now = h.clock.now().getTime();
      const shift = { person: approver, start: new Date(now - 3_600_000).toISOString(), end: new Date(now + 12 * 3_600_000).toISOString() };
      await h.send('approvals', 'setOnCallRoster', { commandId: commandId(), role, shifts: [shift], setBy: 'olga', setterRoles: ['sre'] });
    }
    return h.send<ApprovalReply>('approvals', 'grant', { commandId: commandId(), changeRequestId, role, approver, approverRoles: [role] });
  }

  it('walks the lane: production tag, capped staging validation, expedited approval, production deployment within the SLA, review overdue once', async () => {
    await givenProductionAndHotfixRelease();

    // Identification: the SLA and the caps come from production's emergency path.
    expect(await send('identifyIncident', { hotfixId: 'hf-1', incidentId: 'INC-2041', service: 'campaign-api', severity: 'critical', identifiedAt: IDENTIFIED })).toMatchObject({
      streamId: 'hotfix-hf-1',
      events: ['IncidentIdentified'],
      status: 'identified',
    });
    const identified = await eventually(h, 'hotfix-hf-1', 'IncidentIdentified');
    expect(identified.data).toMatchObject({ reportedBy: 'sam', slaDueAt: '2026-11-27T16:50:00.000Z', slaMinutes: 120, stagingValidationMaxMinutes: 30, postIncidentReviewWithinHours: 24 });
    expect(identified.metadata).toMatchObject({ actor: 'sam', policyVersion: h.policyVersion });

    // The branch starts from what production runs, read from the release streams.
    await expect(send('createHotfixBranch', { hotfixId: 'hf-1', branch: 'hotfix/inc-2041', fromTag: 'v2.0.9' })).rejects.toMatchObject({
      remoteName: 'NotAProductionTagError',
      message: expect.stringContaining('production runs: 2.1.0, v2.1.0'),
    });
    expect(await send('createHotfixBranch', { hotfixId: 'hf-1', branch: 'hotfix/inc-2041', fromTag: 'v2.1.0' })).toMatchObject({ events: ['HotfixBranchCreated'], status: 'branched' });

    // Validation is of a hotfix release of the service, running in staging.
    await expect(send('startStagingValidation', { hotfixId: 'hf-1', releaseId: 'rel-base' })).rejects.toMatchObject({ remoteName: 'HotfixReleaseMismatchError' });
    await expect(send('startStagingValidation', { hotfixId: 'hf-1', releaseId: 'rel-hf' })).rejects.toMatchObject({ remoteName: 'HotfixNotInStagingError' });
    await givenDeployed(h, 'rel-hf', ['development', 'staging']);
    h.clock.set('2026-11-27T15:20:00Z');
    expect(await send('startStagingValidation', { hotfixId: 'hf-1', releaseId: 'rel-hf' })).toMatchObject({ events: ['StagingValidationStarted'], status: 'validating' });
    expect((await eventually(h, 'hotfix-hf-1', 'StagingValidationStarted')).data).toMatchObject({ version: '2.1.1', deadline: '2026-11-27T15:50:00.000Z' });
    h.clock.set('2026-11-27T15:40:00Z');
    expect(await send('completeStagingValidation', { hotfixId: 'hf-1', outcome: 'passed', notes: 'checkout smoke suite green' })).toMatchObject({ status: 'validated' });

    // The emergency change names its hotfix; in the blackout it needs VP Engineering beside Tech Lead and SRE on call.
    await submitHotfixChange('cr-hf', 'hf-1');
    await grant('cr-hf', 'tech_lead', 'tess');
    const withoutVp = await grant('cr-hf', 'sre', 'sam', true);
    expect(withoutVp).toMatchObject({ status: 'pending', outstanding: [{ role: 'vp_engineering', missing: 1 }] });
    await settle(200);
    expect((await change('cr-hf')).status).toBe('awaiting_approval');
    expect(await h.types('hotfix-hf-1')).not.toContain('HotfixApproved');

    await grant('cr-hf', 'vp_engineering', 'victor');
    const approved = await eventually(h, 'hotfix-hf-1', 'HotfixApproved');
    expect(approved.data).toMatchObject({ approvalId: 'cr-hf' });
    expect(approved.metadata).toMatchObject({ actor: 'change-requests' });

    // Scheduling books it at once; deployments starts it: the SLA is measured to the deployment's start.
    const startedAt = '2026-11-27T15:45:00.000Z';
    await h.publish('schedule-cr-hf', 'DeploymentScheduled', {
      changeRequestId: 'cr-hf', releaseId: 'rel-hf', service: 'campaign-api', version: '2.1.1', environment: 'production', changeType: 'emergency', strategy: 'canary', scheduledFor: startedAt, policyVersion: h.policyVersion,
    }, 'scheduling');
    await waitFor(async () => (await change('cr-hf')).status === 'scheduled', 'cr-hf scheduled');
    h.clock.set('2026-11-27T15:46:00Z');
    await h.publish('deployment-cr-hf', 'DeploymentStarted', {
      deploymentId: 'dep-cr-hf', changeRequestId: 'cr-hf', releaseId: 'rel-hf', service: 'campaign-api', version: '2.1.1', environment: 'production', strategy: 'canary', steps: [], startedAt,
    }, 'deployments');
    const slaMet = await eventually(h, 'hotfix-hf-1', 'HotfixSlaMet');
    expect(slaMet.data).toEqual({ hotfixId: 'hf-1', measuredMinutes: 55, slaMinutes: 120 });
    expect((await eventually(h, 'hotfix-hf-1', 'PostIncidentReviewDue')).data).toMatchObject({ dueAt: '2026-11-28T15:45:00.000Z' });
    // The release takes the hotfix lane with the validation as its promotion basis.
    await waitFor(async () => (await h.events('release-rel-hf')).some((e) => e.type === 'ReleaseDeploymentStarted' && (e.data as { environment: string }).environment === 'production'), 'production start on the release');
    const productionStart = (await h.events('release-rel-hf')).find((e) => e.type === 'ReleaseDeploymentStarted' && (e.data as { environment: string }).environment === 'production')!;
    expect(productionStart.data).toMatchObject({ lane: 'hotfix', promotion: { from: 'staging', basis: 'hotfix_validation_passed' } });

    // No review within 24 h: overdue once, however many ticks look, and after a restart.
    h.clock.set('2026-11-28T15:44:00Z');
    await settle();
    expect(await count('hotfix-hf-1', 'PostIncidentReviewOverdue')).toBe(0);
    h.clock.set('2026-11-28T16:00:00Z');
    const overdue = await eventually(h, 'hotfix-hf-1', 'PostIncidentReviewOverdue');
    expect(overdue.data).toEqual({ hotfixId: 'hf-1', incidentId: 'INC-2041', dueAt: '2026-11-28T15:45:00.000Z', overdueByMinutes: 15 });
    expect(overdue.metadata).toMatchObject({ actor: 'change-requests', causationId: 'hotfix-hf-1:review:1:fire' });
    await settle();
    const before = await h.types('hotfix-hf-1');
    await h.redeliverEverything([CONSUMER_NAME, HOTFIX_LANE_CONSUMER, ...APPROVALS_CONSUMERS]);
    h.clock.advance(60 * MS_PER_MINUTE);
    await settle();
    expect(await h.types('hotfix-hf-1')).toEqual(before);
    expect(before.filter((t) => t === 'PostIncidentReviewOverdue')).toHaveLength(1);
    expect(before.filter((t) => t === 'HotfixApproved')).toHaveLength(1);

    expect(await send('completePostIncidentReview', { hotfixId: 'hf-1', reviewRef: 'PIR-2041' })).toMatchObject({ events: ['PostIncidentReviewCompleted'], status: 'closed' });
    expect(await hotfix('hf-1')).toMatchObject({
      status: 'closed',
      incident: { incidentId: 'INC-2041', severity: 'critical', reportedBy: 'sam' },
      sla: { minutes: 120, outcome: 'met', measuredMinutes: 55 },
      branch: { name: 'hotfix/inc-2041', fromTag: 'v2.1.0' },
      validation: { releaseId: 'rel-hf', version: '2.1.1', outcome: 'passed' },
      approvalId: 'cr-hf',
      deployment: { deploymentId: 'dep-cr-hf', deployedAt: startedAt, enhancedMonitoring: true },
      review: { dueAt: '2026-11-28T15:45:00.000Z', overdue: true, reviewRef: 'PIR-2041', late: true },
    });
  }, 60_000);

  it('turns deadlines into facts on the clock, once each: the validation cap, then the SLA with no fix deployed', async () => {
    await givenProductionAndHotfixRelease();
    await givenDeployed(h, 'rel-hf', ['development', 'staging']);
    await givenValidating('hf-2');
    h.clock.set('2026-11-27T15:30:00Z');
    await settle();
    expect(await h.types('hotfix-hf-2')).not.toContain('StagingValidationTimeCapped');

    h.clock.set('2026-11-27T15:31:00Z');
    const capped = await eventually(h, 'hotfix-hf-2', 'StagingValidationTimeCapped');
    expect(capped.data).toEqual({ hotfixId: 'hf-2', startedAt: '2026-11-27T15:00:00.000Z', cappedAt: '2026-11-27T15:30:00.000Z', capMinutes: 30, lateResult: null });
    expect((await hotfix('hf-2')).status).toBe('time_capped');

    h.clock.set('2026-11-27T16:50:00Z');
    const breached = await eventually(h, 'hotfix-hf-2', 'HotfixSlaBreached');
    expect(breached.data).toEqual({ hotfixId: 'hf-2', measuredMinutes: 120, slaMinutes: 120, fixDeployed: false });
    h.clock.set('2026-11-27T18:00:00Z');
    await settle();
    expect(await count('hotfix-hf-2', 'HotfixSlaBreached')).toBe(1);
    expect(await count('hotfix-hf-2', 'StagingValidationTimeCapped')).toBe(1);
    expect((await hotfix('hf-2')).sla).toMatchObject({ outcome: 'breached', measuredMinutes: 120 });
  }, 30_000);

  it('records an approval given before validation ended once it ends; the staging change naming the hotfix is not its change', async () => {
    await givenProductionAndHotfixRelease();
    await send('identifyIncident', { hotfixId: 'hf-3', incidentId: 'INC-3', service: 'campaign-api', severity: 'high' });
    await send('createHotfixBranch', { hotfixId: 'hf-3', branch: 'hotfix/inc-3', fromTag: '2.1.0' });

    // The staging deployment of the fix names the hotfix too; its approval is not the expedited production approval.
    await givenDeployed(h, 'rel-hf', ['development']);
    await submitHotfixChange('cr-stg', 'hf-3', 'staging');
    await grant('cr-stg', 'tech_lead', 'tess');
    await waitFor(async () => (await change('cr-stg')).status === 'approved', 'staging change approved');
    await givenDeployed(h, 'rel-hf', ['staging']);
    await send('startStagingValidation', { hotfixId: 'hf-3', releaseId: 'rel-hf' });

    await submitHotfixChange('cr-prod', 'hf-3');
    await grant('cr-prod', 'tech_lead', 'tess');
    await grant('cr-prod', 'sre', 'sam', true);
    await grant('cr-prod', 'vp_engineering', 'victor');
    await waitFor(async () => (await change('cr-prod')).status === 'approved', 'production change approved');
    await settle(200);
    expect(await h.types('hotfix-hf-3')).not.toContain('HotfixApproved');

    h.clock.advance(10 * MS_PER_MINUTE);
    await send('completeStagingValidation', { hotfixId: 'hf-3', outcome: 'passed' });
    expect((await eventually(h, 'hotfix-hf-3', 'HotfixApproved')).data).toMatchObject({ approvalId: 'cr-prod' });
    // Not critical: no SLA, so no SLA deadline either.
    expect((await hotfix('hf-3')).sla).toBeNull();
  }, 30_000);
});
