// change-requests, approvals and scheduling on the embedded host: what revoking an approval does to a change
// that was fully approved and booked. Deployments is played by the test (it appends DeploymentStarted).
import type { ChangeView } from '@gatehouse/contracts';
import { changeRequestsService } from '../../change-requests/src/index.js';
import { commandId, eventually, givenDeployed, givenGatesPassed, type Harness, releasePayload, startHarness, submitPayload, waitFor } from '../../change-requests/src/test-support/harness.js';
import { deploymentStartTimerId } from '@gatehouse/domain';
import { createSchedulingService } from '../../scheduling/src/index.js';
import { type ApprovalReply, approvalsService } from './index.js';

// Monday 2026-11-30 09:00Z, after the Black Friday week and Thanksgiving weekend blackouts.
const NOW = '2026-11-30T09:00:00Z';
/** Production's first window after the blackouts, where scheduling books the change. */
const PRODUCTION_SLOT = '2026-12-01T10:00:00.000Z';
const CR = 'cr-1';

const approvers = {
  code_reviewer: { approver: 'carol', approverRoles: ['code_reviewer'] },
  tech_lead: { approver: 'dave', approverRoles: ['tech_lead'] },
  sre: { approver: 'erin', approverRoles: ['sre'] },
} as const;

describe('revoking an approval of a fully approved change (change-requests + approvals + scheduling)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness([changeRequestsService, approvalsService, createSchedulingService({ timerPollIntervalMs: 5 })], NOW);
  });
  afterEach(() => h.stop());

  const change = () => h.send<ChangeView>('changeRequests', 'getChange', { changeRequestId: CR });
  const statusBecomes = (status: string) => waitFor(async () => (await change()).status === status, `${CR} ${status}`);
  const grant = (role: keyof typeof approvers, overrides: Record<string, unknown> = {}) =>
    h.send<ApprovalReply>('approvals', 'grant', { commandId: commandId(), changeRequestId: CR, role, ...approvers[role], ...overrides });
  const revoke = (approver: string, reason: string) => h.send<ApprovalReply>('approvals', 'revoke', { commandId: commandId(), changeRequestId: CR, approver, reason });
  const timerStream = `workflowTimer-${deploymentStartTimerId(CR, PRODUCTION_SLOT)}`;
  /** Lets the consumers and the timer loop run many times over. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

  /** A production change approved by code review, tech lead and SRE, booked into Tuesday's window with its timer armed. */
  async function bookedProductionChange(): Promise<void> {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-1'));
    await givenDeployed(h, 'rel-1', ['development', 'staging']);
    await givenGatesPassed(h, 'rel-1', 'production');
    await h.send('changeRequests', 'submitChange', submitPayload(CR, { environment: 'production', planned: PRODUCTION_SLOT, releaseId: 'rel-1' }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId: CR });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId: CR, notes: 'looks good' });
    await eventually(h, `approval-${CR}`, 'ApprovalsRequested');
    await grant('code_reviewer');
    await grant('tech_lead');
    expect(await grant('sre')).toMatchObject({ status: 'approved' });
    await statusBecomes('scheduled');
    expect((await eventually(h, `schedule-${CR}`, 'DeploymentScheduled')).data).toMatchObject({ scheduledFor: PRODUCTION_SLOT });
    await eventually(h, timerStream, 'TimerArmed');
  }

  it('before the slot: the change waits for approval again, its booking and timer are cancelled, and a new grant books the slot again', async () => {
    await bookedProductionChange();

    const reply = await revoke('erin', 'error budget burnt on the checkout path');
    expect(reply).toMatchObject({ events: ['ApprovalRevoked'], status: 'pending', outstanding: [{ role: 'sre', missing: 1 }] });
    const withdrawn = await eventually(h, `changeRequest-${CR}`, 'ChangeApprovalWithdrawn');
    const revoked = (await h.events(`approval-${CR}`)).find((e) => e.type === 'ApprovalRevoked')!;
    expect(withdrawn.data).toMatchObject({ cause: 'revoked', withdrawnBy: 'erin', stage: 'scheduled', reason: 'erin revoked the sre approval: error budget burnt on the checkout path' });
    expect(withdrawn.metadata).toMatchObject({ actor: 'change-requests', causationId: `${revoked.id}:WithdrawChangeApproval` });
    await statusBecomes('awaiting_approval');
    expect(await change()).toMatchObject({ approvalId: null, window: null });
    const cancelled = await eventually(h, `schedule-${CR}`, 'BookingCancelled');
    expect(cancelled.data).toMatchObject({ scheduledFor: PRODUCTION_SLOT, reason: expect.stringContaining('approval withdrawn: erin revoked the sre approval') });
    expect((await eventually(h, timerStream, 'TimerCancelled')).metadata).toMatchObject({ actor: 'scheduling', causationId: `${cancelled.id}:cancel:${deploymentStartTimerId(CR, PRODUCTION_SLOT)}` });

    // Another SRE approves: ChangeFullyApproved a second time approves the change again and books the same slot again.
    expect(await grant('sre', { approver: 'sam' })).toMatchObject({ status: 'approved', events: ['ApprovalGranted', 'ChangeFullyApproved'] });
    await waitFor(async () => (await h.types(`changeRequest-${CR}`)).filter((t) => t === 'ChangeRequestApproved').length === 2, 'the second ChangeRequestApproved');
    await statusBecomes('scheduled');
    expect((await change()).window).toMatchObject({ start: PRODUCTION_SLOT });
    expect(await h.types(`schedule-${CR}`)).toEqual(['DeploymentScheduled', 'BookingCancelled', 'DeploymentScheduled']);
    await waitFor(async () => (await h.types(timerStream)).length === 3, 'the timer armed again');
    expect(await h.types(timerStream)).toEqual(['TimerArmed', 'TimerCancelled', 'TimerArmed']);

    h.clock.set(PRODUCTION_SLOT);
    expect((await eventually(h, `schedule-${CR}`, 'DeploymentDue')).data).toMatchObject({ changeRequestId: CR, dueAt: PRODUCTION_SLOT });
    await settle();
    expect(await h.types(timerStream)).toEqual(['TimerArmed', 'TimerCancelled', 'TimerArmed', 'TimerFired']);
    expect((await h.types(`schedule-${CR}`)).filter((t) => t === 'DeploymentDue')).toHaveLength(1);
  });

  it('while the approval stays withdrawn, nothing becomes due at the slot', async () => {
    await bookedProductionChange();
    await revoke('erin', 'error budget burnt on the checkout path');
    await eventually(h, timerStream, 'TimerCancelled');

    h.clock.set('2026-12-01T10:05:00Z');
    await settle();
    expect(await h.types(`schedule-${CR}`)).toEqual(['DeploymentScheduled', 'BookingCancelled']);
    expect(await h.types(timerStream)).toEqual(['TimerArmed', 'TimerCancelled']);
    expect((await change()).status).toBe('awaiting_approval');
  });

  it('once the deployment is under way, the revocation is refused with a named error and nothing is written', async () => {
    await bookedProductionChange();
    h.clock.set(PRODUCTION_SLOT);
    await eventually(h, `schedule-${CR}`, 'DeploymentDue');
    const approvalLog = await h.types(`approval-${CR}`);

    // From the slot's start the deployment is handed over, even before deployments reports it started.
    await expect(revoke('erin', 'second thoughts')).rejects.toMatchObject({
      remoteName: 'DeploymentAlreadyStartedError',
      details: expect.objectContaining({ code: 'DEPLOYMENT_ALREADY_STARTED', changeStatus: 'scheduled', slotStart: PRODUCTION_SLOT }),
    });

    h.clock.set('2026-12-01T10:01:00Z');
    await h.publish(
      `deployment-${CR}`,
      'DeploymentStarted',
      { deploymentId: `dep-${CR}`, changeRequestId: CR, releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production', strategy: 'canary', steps: [], startedAt: PRODUCTION_SLOT },
      'deployments',
    );
    await statusBecomes('implementing');
    await expect(revoke('erin', 'second thoughts')).rejects.toMatchObject({
      remoteName: 'DeploymentAlreadyStartedError',
      remoteMessage: expect.stringContaining('abort the deployment or roll it back'),
      details: expect.objectContaining({ changeStatus: 'implementing', slotStart: null }),
    });
    await settle();
    expect(await h.types(`approval-${CR}`)).toEqual(approvalLog);
    expect(await h.types(`changeRequest-${CR}`)).not.toContain('ChangeApprovalWithdrawn');
    expect(await h.types(`schedule-${CR}`)).toEqual(['DeploymentScheduled', 'DeploymentDue']);
  });
});
