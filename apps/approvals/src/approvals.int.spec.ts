// Runs the approvals service together with change-requests (the service it asks for a change's details
// and whose process manager turns ChangeFullyApproved into ChangeRequestApproved) on the embedded host.
import { type AuditableEventStore, createInMemoryEventStore } from '@gatehouse/eventstore';
import { changeRequestsService } from '../../change-requests/src/index.js';
import { commandId, eventually, givenDeployed, type Harness, releasePayload, startHarness, submitPayload, waitFor } from '../../change-requests/src/test-support/harness.js';
import { OPENING_WAIT_MS } from './commands.controller.js';
import { type ApprovalReply, approvalsService } from './index.js';

// Monday 2026-11-30 09:00Z, after the Black Friday week and Thanksgiving weekend blackouts.
const NOW = '2026-11-30T09:00:00Z';
/** Production window: Tuesday 10:00Z. */
const PRODUCTION_SLOT = '2026-12-01T10:00:00Z';
/** Staging slot: daily 14:00Z. */
const STAGING_SLOT = '2026-11-30T14:00:00Z';

const roles = {
  code_reviewer: { approver: 'carol', approverRoles: ['developer', 'code_reviewer'] },
  tech_lead: { approver: 'dave', approverRoles: ['tech_lead', 'code_reviewer'] },
  sre: { approver: 'erin', approverRoles: ['sre'] },
  dba: { approver: 'dan', approverRoles: ['dba'] },
} as const;

describe('approvals with change-requests on the embedded host', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness([changeRequestsService, approvalsService], NOW);
  });
  afterEach(() => h.stop());

  const grant = (changeRequestId: string, role: keyof typeof roles, overrides: Record<string, unknown> = {}) =>
    h.send<ApprovalReply>('approvals', 'grant', { commandId: commandId(), changeRequestId, role, ...roles[role], ...overrides });
  /** The SRE roster, set by another SRE, has erin on call for the day around the clock's now. */
  const rosterErinOnCall = () =>
    h.send('approvals', 'setOnCallRoster', {
      commandId: commandId(),
      role: 'sre',
      shifts: [{ person: 'erin', start: new Date(h.clock.now().getTime() - 12 * 3_600_000).toISOString(), end: new Date(h.clock.now().getTime() + 12 * 3_600_000).toISOString() }],
      setBy: 'olga',
      setterRoles: ['sre'],
    });

  /** A production change of a release already deployed to staging, reviewed and waiting for approvals. */
  async function productionChangeAwaitingApproval(changeRequestId: string, options: { includesMigration?: boolean } = {}): Promise<void> {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-1'));
    await givenDeployed(h, 'rel-1', ['development', 'staging']);
    await h.send('changeRequests', 'submitChange', submitPayload(changeRequestId, { environment: 'production', planned: PRODUCTION_SLOT, releaseId: 'rel-1', ...options }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId, notes: 'looks good' });
    await eventually(h, `approval-${changeRequestId}`, 'ApprovalsRequested');
  }

  it('requests the production matrix after review and approves the change once code review, tech lead and SRE approved', async () => {
    await productionChangeAwaitingApproval('cr-1');
    const [requested] = await h.events('approval-cr-1');
    const reviewCompleted = (await h.events('changeRequest-cr-1')).find((e) => e.type === 'ChangeReviewCompleted')!;
    expect(requested!.data).toMatchObject({
      approvalId: 'cr-1',
      subject: { changeRequestId: 'cr-1', releaseId: 'rel-1', environment: 'production', revision: 1 },
      author: 'alice',
      requirements: [
        { role: 'code_reviewer', count: 1, onCall: false, sources: ['matrix'] },
        { role: 'tech_lead', count: 1, onCall: false, sources: ['matrix'] },
        { role: 'sre', count: 1, onCall: false, sources: ['matrix'] },
      ],
      policyVersion: h.policyVersion,
    });
    expect(requested!.metadata).toMatchObject({ actor: 'approvals', policyVersion: h.policyVersion, causationId: `${reviewCompleted.id}:RequestApprovals` });

    expect(await grant('cr-1', 'code_reviewer')).toMatchObject({ status: 'pending', events: ['ApprovalGranted'] });
    const afterTechLead = await grant('cr-1', 'tech_lead');
    // Missing SRE: not approved yet, and the change request still waits.
    expect(afterTechLead).toMatchObject({ status: 'pending', outstanding: [{ role: 'sre', missing: 1, onCall: false }] });
    const sreCommand = { commandId: commandId(), changeRequestId: 'cr-1', role: 'sre', ...roles.sre };
    expect(await h.send<ApprovalReply>('approvals', 'grant', sreCommand)).toMatchObject({ status: 'approved', events: ['ApprovalGranted', 'ChangeFullyApproved'], outstanding: [] });

    const approved = await eventually(h, 'changeRequest-cr-1', 'ChangeRequestApproved');
    const fullyApproved = (await h.events('approval-cr-1')).find((e) => e.type === 'ChangeFullyApproved')!;
    expect(approved.data).toMatchObject({ changeRequestId: 'cr-1', approvalId: 'cr-1' });
    expect(approved.metadata).toMatchObject({ actor: 'change-requests', causationId: `${fullyApproved.id}:RecordChangeApproval` });
    expect(fullyApproved.metadata).toMatchObject({ actor: 'erin' });
    expect(fullyApproved.data).toMatchObject({ basis: 'requirements_met', fills: [{ role: 'code_reviewer', approvers: ['carol'] }, { role: 'tech_lead', approvers: ['dave'] }, { role: 'sre', approvers: ['erin'] }] });

    // Redelivery: the same commandId again writes nothing.
    const before = await h.types('approval-cr-1');
    expect(await h.send<ApprovalReply>('approvals', 'grant', sreCommand)).toMatchObject({ duplicate: true, status: 'approved' });
    expect(await h.types('approval-cr-1')).toEqual(before);
    expect(await h.send<ApprovalReply>('approvals', 'get', { changeRequestId: 'cr-1' })).toMatchObject({ status: 'approved', events: [], outstanding: [] });

    const metrics = await h.host.metrics.getSingleMetricAsString('gatehouse_approvals_commands_total');
    expect(metrics).toMatch(/\{command="grant",outcome="ok"[^}]*\} 3/);
    expect(metrics).toMatch(/\{command="grant",outcome="duplicate"[^}]*\} 1/);
    expect(await h.host.metrics.getSingleMetricAsString('gatehouse_approvals_events_appended_total')).toMatch(/\{type="ChangeFullyApproved"[^}]*\} 1/);
  });

  it('refuses the author, one person in two roles and an approver without the role, writing nothing', async () => {
    await productionChangeAwaitingApproval('cr-2');
    const length = async () => (await h.events('approval-cr-2')).length;
    const start = await length();

    await expect(grant('cr-2', 'code_reviewer', { approver: 'alice' })).rejects.toMatchObject({
      remoteName: 'SeparationOfDutiesViolation',
      details: expect.objectContaining({ code: 'SEPARATION_OF_DUTIES', rule: 'author_cannot_approve' }),
    });
    expect(await length()).toBe(start);

    await grant('cr-2', 'code_reviewer', { approver: 'dave' });
    await expect(grant('cr-2', 'tech_lead')).rejects.toMatchObject({ remoteName: 'SeparationOfDutiesViolation', details: expect.objectContaining({ rule: 'one_person_one_role' }) });
    await expect(grant('cr-2', 'sre', { approverRoles: ['developer'] })).rejects.toMatchObject({ remoteName: 'ApproverLacksRoleError' });
    await expect(grant('cr-2', 'sre', { approverRoles: ['sre'], unknownField: true })).rejects.toMatchObject({ remoteName: 'ValidationError' });
    expect(await length()).toBe(start + 1);
    expect((await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-2' })).status).toBe('awaiting_approval');
  });

  it('needs the dba when the change includes a migration', async () => {
    await productionChangeAwaitingApproval('cr-3', { includesMigration: true });
    const [requested] = await h.events('approval-cr-3');
    expect((requested!.data as { requirements: Array<{ role: string; sources: string[] }> }).requirements).toContainEqual({ role: 'dba', count: 1, onCall: false, sources: ['migration'] });
    await grant('cr-3', 'code_reviewer');
    await grant('cr-3', 'tech_lead');
    expect(await grant('cr-3', 'sre')).toMatchObject({ status: 'pending', outstanding: [{ role: 'dba', missing: 1 }] });
    expect((await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-3' })).status).toBe('awaiting_approval');
    expect(await grant('cr-3', 'dba')).toMatchObject({ status: 'approved' });
    await eventually(h, 'changeRequest-cr-3', 'ChangeRequestApproved');
  });

  const migrationPayload = (releaseId: string, overrides: Record<string, unknown> = {}) => ({
    commandId: commandId(),
    actor: 'ci-bot',
    releaseId,
    migrationId: '0042_add_send_at_index',
    description: 'Adds an index on campaigns.send_at',
    reversible: false,
    ...overrides,
  });

  it('needs the dba when the release has a migration, although the draft says it includes none', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-1'));
    await h.send('changeRequests', 'recordMigration', migrationPayload('rel-1'));
    await givenDeployed(h, 'rel-1', ['development', 'staging']);
    await h.send('changeRequests', 'submitChange', submitPayload('cr-6', { environment: 'production', planned: PRODUCTION_SLOT, releaseId: 'rel-1', includesMigration: false }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-6' });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-6' });
    const requested = await eventually(h, 'approval-cr-6', 'ApprovalsRequested');
    expect(requested.data).toMatchObject({ subject: { releaseId: 'rel-1', revision: 2 } });
    expect((requested.data as { requirements: Array<{ role: string }> }).requirements.map((r) => r.role)).toEqual(['code_reviewer', 'tech_lead', 'sre', 'dba']);
  });

  it('a migration reported after approval withdraws it, and the approvals are collected again with the dba', async () => {
    // An emergency hotfix: the one way a production change is approved before its release deployed anywhere.
    await h.send('changeRequests', 'createRelease', { ...releasePayload('rel-7', '2.1.1'), release: { service: 'campaign-api', version: '2.1.1', type: 'hotfix', title: 'Fix send loop' } });
    await h.send('changeRequests', 'submitChange', submitPayload('cr-7', { environment: 'production', planned: PRODUCTION_SLOT, releaseId: 'rel-7', kind: 'emergency' }));
    await eventually(h, 'approval-cr-7', 'ApprovalsRequested');
    await grant('cr-7', 'tech_lead');
    await rosterErinOnCall();
    expect(await grant('cr-7', 'sre')).toMatchObject({ status: 'approved' });
    await eventually(h, 'release-rel-7', 'ReleaseApproved');
    await waitFor(async () => (await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-7' })).status === 'approved', 'cr-7 approved');

    await h.send('changeRequests', 'recordMigration', migrationPayload('rel-7'));
    const invalidated = await eventually(h, 'approval-cr-7', 'ApprovalsInvalidated');
    expect(invalidated.data).toMatchObject({
      previousRevision: 1,
      revision: 2,
      wasFullyApproved: true,
      invalidatedGrants: [{ role: 'tech_lead' }, { role: 'sre' }],
      requirements: [{ role: 'tech_lead' }, { role: 'sre', onCall: true }, { role: 'dba', sources: ['migration'] }],
      policyVersion: h.policyVersion,
    });
    const withdrawn = await eventually(h, 'changeRequest-cr-7', 'ChangeApprovalWithdrawn');
    expect(withdrawn.data).toMatchObject({ cause: 'invalidated', stage: 'approved', reason: 'irreversible migration 0042_add_send_at_index added by ci-bot' });
    await waitFor(async () => (await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-7' })).status === 'awaiting_approval', 'cr-7 awaiting approval');

    await grant('cr-7', 'tech_lead');
    expect(await grant('cr-7', 'sre')).toMatchObject({ status: 'pending', outstanding: [{ role: 'dba', missing: 1 }] });
    expect(await grant('cr-7', 'dba')).toMatchObject({ status: 'approved' });
    await waitFor(async () => (await h.types('changeRequest-cr-7')).filter((t) => t === 'ChangeRequestApproved').length === 2, 'cr-7 approved again');
    await waitFor(async () => (await h.types('release-rel-7')).filter((t) => t === 'ReleaseApproved').length === 2, 'rel-7 approved again');
    expect((await h.events('release-rel-7')).at(-1)!.data).toMatchObject({ approvalId: 'cr-7', revision: 2 });
  });

  it('takes the approver and roles from the signed caller only: roles claimed in a payload, or an unsigned grant, write nothing', async () => {
    await productionChangeAwaitingApproval('cr-9');
    const before = await h.events('approval-cr-9');
    const mallory = h.host.commandsAs({ subject: 'mallory', roles: ['developer'] });
    await expect(mallory.send('approvals', 'grant', { commandId: commandId(), changeRequestId: 'cr-9', role: 'sre', approverRoles: ['sre'] })).rejects.toMatchObject({ remoteName: 'ValidationError' });
    await expect(mallory.send('approvals', 'grant', { commandId: commandId(), changeRequestId: 'cr-9', role: 'sre' })).rejects.toMatchObject({ remoteName: 'ApproverLacksRoleError' });
    await expect(h.host.commands.send('approvals', 'grant', { commandId: commandId(), changeRequestId: 'cr-9', role: 'sre', approver: 'erin', approverRoles: ['sre'] })).rejects.toMatchObject({
      remoteName: 'ForbiddenCommand',
      details: expect.objectContaining({ code: 'FORBIDDEN_COMMAND', reason: 'unsigned' }),
    });
    expect(await h.events('approval-cr-9')).toEqual(before);
  });

  it('rejects with a reason: the change request is rejected with the approver and reason', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-4'));
    await givenDeployed(h, 'rel-4', ['development']);
    await h.send('changeRequests', 'submitChange', submitPayload('cr-4', { environment: 'staging', planned: STAGING_SLOT, releaseId: 'rel-4' }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-4' });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-4' });
    const [requested] = await Promise.all([eventually(h, 'approval-cr-4', 'ApprovalsRequested')]);
    expect((requested.data as { requirements: Array<{ role: string }> }).requirements.map((r) => r.role)).toEqual(['code_reviewer', 'tech_lead']);

    await expect(h.send('approvals', 'reject', { commandId: commandId(), changeRequestId: 'cr-4', ...roles.tech_lead, reason: ' ' })).rejects.toMatchObject({ remoteName: 'ValidationError' });
    await h.send('approvals', 'reject', { commandId: commandId(), changeRequestId: 'cr-4', ...roles.tech_lead, reason: 'no load-test results attached' });
    const rejected = await eventually(h, 'changeRequest-cr-4', 'ChangeRequestRejected');
    expect(rejected.data).toMatchObject({ rejectedBy: 'dave', reason: 'no load-test results attached', stage: 'awaiting_approval' });
    await expect(grant('cr-4', 'code_reviewer')).rejects.toMatchObject({ remoteName: 'IllegalTransitionError' });
  });

  it('requests the expedited path with VP bypass for an emergency during a blackout, straight from submission', async () => {
    h.clock.set('2026-11-24T03:00:00Z'); // Black Friday week
    await h.send('changeRequests', 'createRelease', { ...releasePayload('rel-5', '2.1.1'), release: { service: 'campaign-api', version: '2.1.1', type: 'hotfix', title: 'Fix send loop' } });
    await h.send('changeRequests', 'submitChange', submitPayload('cr-5', { environment: 'production', planned: '2026-11-24T03:30:00Z', releaseId: 'rel-5', kind: 'emergency' }));
    const requested = await eventually(h, 'approval-cr-5', 'ApprovalsRequested');
    expect((requested.data as { requirements: unknown[] }).requirements).toEqual([
      { role: 'tech_lead', count: 1, onCall: false, sources: ['emergency'] },
      { role: 'sre', count: 1, onCall: true, sources: ['emergency'] },
      { role: 'vp_engineering', count: 1, onCall: false, sources: ['window_bypass'] },
    ]);
    // Not on the roster: the approval does not count as the on-call SRE's.
    await expect(grant('cr-5', 'sre')).rejects.toMatchObject({ remoteName: 'OnCallRequiredError' });
    expect(await h.types('approval-cr-5')).toEqual(['ApprovalsRequested']);
    await rosterErinOnCall();
    await grant('cr-5', 'sre');
    await grant('cr-5', 'tech_lead');
    await grant('cr-5', 'sre', { approver: 'victor', approverRoles: ['vp_engineering'], role: 'vp_engineering' });
    await waitFor(async () => (await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-5' })).status === 'approved', 'emergency approved');
  });
});

/**
 * An approver who acts the moment a change awaits approval, before the approvals service has opened its
 * request (its reaction is behind: restarting, catching up): held here by a store that delays appending
 * ApprovalsRequested until the test lets it through.
 */
describe('approving before the approval request is open', () => {
  let h: Harness;
  let letOpen: () => void;
  beforeEach(async () => {
    const opened = new Promise<void>((resolve) => (letOpen = resolve));
    const delayOpening = (store: AuditableEventStore): AuditableEventStore =>
      new Proxy(store, {
        get(target, key) {
          if (key === 'appendToStream') {
            return async (...args: Parameters<AuditableEventStore['appendToStream']>) => {
              if (args[1].some((event) => event.type === 'ApprovalsRequested')) await opened;
              return target.appendToStream(...args);
            };
          }
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    h = await startHarness([changeRequestsService, approvalsService], NOW, () => delayOpening(createInMemoryEventStore()));
  });
  afterEach(async () => {
    letOpen();
    await h.stop();
  });

  async function stagingChangeReviewed(changeRequestId: string): Promise<void> {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-1'));
    await givenDeployed(h, 'rel-1', ['development']);
    await h.send('changeRequests', 'submitChange', submitPayload(changeRequestId, { environment: 'staging', planned: STAGING_SLOT, releaseId: 'rel-1' }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId, notes: 'looks good' });
  }
  const grant = (changeRequestId: string, role: 'code_reviewer' | 'tech_lead') =>
    h.send<ApprovalReply>('approvals', 'grant', { commandId: commandId(), changeRequestId, role, ...roles[role] });

  it('waits for the request to open, then counts the approval', async () => {
    await stagingChangeReviewed('cr-1');
    expect((await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-1' })).status).toBe('awaiting_approval');
    let settled = false;
    const granted = grant('cr-1', 'code_reviewer').finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(await h.types('approval-cr-1')).toEqual([]);
    letOpen();
    expect(await granted).toMatchObject({ status: 'pending', events: ['ApprovalGranted'], outstanding: [{ role: 'tech_lead', missing: 1 }] });
    expect(await h.types('approval-cr-1')).toEqual(['ApprovalsRequested', 'ApprovalGranted']);
  });

  it('answers a retryable refusal, writing nothing, when the request does not open in time', async () => {
    await stagingChangeReviewed('cr-2');
    const started = Date.now();
    await expect(grant('cr-2', 'code_reviewer')).rejects.toMatchObject({ remoteName: 'ApprovalsNotOpenedYetError', message: expect.stringContaining('retry') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(OPENING_WAIT_MS);
    await expect(h.send('approvals', 'reject', { commandId: commandId(), changeRequestId: 'cr-2', ...roles.tech_lead, reason: 'no load test' })).rejects.toMatchObject({
      remoteName: 'ApprovalsNotOpenedYetError',
    });
    expect(await h.types('approval-cr-2')).toEqual([]);
    expect((await h.send<{ status: string }>('changeRequests', 'getChange', { changeRequestId: 'cr-2' })).status).toBe('awaiting_approval');
  }, 15_000);

  it('tells an approver of a change still in review that approvals open once the review completes, writing nothing', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-1'));
    await givenDeployed(h, 'rel-1', ['development']);
    await h.send('changeRequests', 'submitChange', submitPayload('cr-3', { environment: 'staging', planned: STAGING_SLOT, releaseId: 'rel-1' }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-3' });
    await expect(grant('cr-3', 'code_reviewer')).rejects.toMatchObject({
      remoteName: 'IllegalTransitionError',
      message: expect.stringContaining('change request: GrantApproval is not allowed while in_review; allowed from: awaiting_approval'),
    });
    expect(await h.types('approval-cr-3')).toEqual([]);
  });
});
