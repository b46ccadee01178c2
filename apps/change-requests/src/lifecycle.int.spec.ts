// change-requests with approvals on the embedded host; scheduling, deployments and monitoring are played
// by the test, which appends their events (as the contracts define them) to their streams.
import { APPROVALS_CONSUMERS, approvalsService } from '../../approvals/src/index.js';
import type { ChangeView, CommandReply, ReleaseView } from '@gatehouse/contracts';
import { createInMemoryEventStore, createPgliteEventStore } from '@gatehouse/eventstore';
import { changeRequestsService } from './index.js';
import { CONSUMER_NAME } from './process-managers.js';
import { commandId, eventually, givenDeployed, type Harness, releasePayload, startHarness, submitPayload, waitFor } from './test-support/harness.js';

const NOW = '2026-11-30T09:00:00Z';
/** The walk runs some forty commands and reactions; on PGlite that takes seconds. */
const WALK_TIMEOUT_MS = 90_000;
const DEV_START = '2026-11-30T11:00:00Z';
const STAGING_SLOT = '2026-11-30T14:00:00Z';

// The whole suite on the in-memory store; the end-to-end walk (with redelivery) also on PGlite, the embedded default.
describe.each([
  { store: 'in-memory', createStore: createInMemoryEventStore, everything: true },
  { store: 'PGlite', createStore: () => createPgliteEventStore(), everything: false },
])('change-requests lifecycle on the embedded host ($store store)', ({ createStore, everything }) => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness([changeRequestsService, approvalsService], NOW, createStore);
  });
  afterEach(() => h.stop());

  const change = (changeRequestId: string) => h.send<ChangeView>('changeRequests', 'getChange', { changeRequestId });
  const release = (releaseId: string) => h.send<ReleaseView>('changeRequests', 'getRelease', { releaseId });
  const statusBecomes = (changeRequestId: string, status: string) => waitFor(async () => (await change(changeRequestId)).status === status, `${changeRequestId} ${status}`);

  /** submit → review → approvals by the environment's matrix → approved. */
  async function approvedChange(changeRequestId: string, environment: string, planned: string, releaseId: string): Promise<void> {
    await h.send('changeRequests', 'submitChange', submitPayload(changeRequestId, { environment, planned, releaseId }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId, notes: 'ok' });
    await eventually(h, `approval-${changeRequestId}`, 'ApprovalsRequested');
    await h.send('approvals', 'grant', { commandId: commandId(), changeRequestId, role: 'code_reviewer', approver: 'carol', approverRoles: ['code_reviewer'] });
    if (environment !== 'development') await h.send('approvals', 'grant', { commandId: commandId(), changeRequestId, role: 'tech_lead', approver: 'dave', approverRoles: ['tech_lead'] });
    await statusBecomes(changeRequestId, 'approved');
  }

  const ids = (changeRequestId: string, releaseId: string, environment: string) => ({
    deploymentId: `dep-${changeRequestId}`,
    changeRequestId,
    releaseId,
    service: 'campaign-api',
    version: '2.1.0',
    environment,
  });

  async function deploy(changeRequestId: string, releaseId: string, environment: string, at: string): Promise<void> {
    await h.publish(`schedule-${changeRequestId}`, 'DeploymentScheduled', {
      changeRequestId,
      releaseId,
      service: 'campaign-api',
      version: '2.1.0',
      environment,
      changeType: 'normal',
      strategy: 'rolling-update',
      scheduledFor: at,
      policyVersion: h.policyVersion,
    }, 'scheduling');
    await statusBecomes(changeRequestId, 'scheduled');
    h.clock.set(at);
    await h.publish(`deployment-${changeRequestId}`, 'DeploymentStarted', { ...ids(changeRequestId, releaseId, environment), strategy: 'rolling-update', steps: [], startedAt: at }, 'deployments');
    await statusBecomes(changeRequestId, 'implementing');
  }

  it('walks a release through development into staging: schedule, start, success, watch, close; and the release follows', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-1'));
    // Production before staging: refused at submission with the domain's error, nothing written.
    await expect(h.send('changeRequests', 'submitChange', submitPayload('cr-prod', { environment: 'production', planned: '2026-12-01T10:00:00Z', releaseId: 'rel-1' }))).rejects.toMatchObject({
      remoteName: 'PromotionPrerequisiteError',
      details: expect.objectContaining({ requires: 'staging', found: 'none' }),
    });
    expect(await h.events('changeRequest-cr-prod')).toEqual([]);
    // Staging before development, likewise.
    await expect(h.send('changeRequests', 'submitChange', submitPayload('cr-stg', { environment: 'staging', planned: STAGING_SLOT, releaseId: 'rel-1' }))).rejects.toMatchObject({ remoteName: 'PromotionPrerequisiteError' });

    await approvedChange('cr-dev', 'development', DEV_START, 'rel-1');
    const releaseApproved = await eventually(h, 'release-rel-1', 'ReleaseApproved');
    expect(releaseApproved.data).toMatchObject({ approvalId: 'cr-dev', revision: 1 });

    await deploy('cr-dev', 'rel-1', 'development', DEV_START);
    const scheduled = (await h.events('changeRequest-cr-dev')).find((e) => e.type === 'ChangeScheduled')!;
    expect(scheduled.data).toMatchObject({ windowStart: '2026-11-30T11:00:00.000Z', windowEnd: '2026-11-30T12:00:00.000Z', scheduledBy: 'scheduling' });
    const started = await eventually(h, 'release-rel-1', 'ReleaseDeploymentStarted');
    expect(started.data).toMatchObject({ deploymentId: 'dep-cr-dev', environment: 'development', lane: 'normal', promotion: null });
    expect(started.metadata).toMatchObject({ actor: 'change-requests', policyVersion: h.policyVersion });

    const succeeded = await h.publish('deployment-cr-dev', 'DeploymentSucceeded', { ...ids('cr-dev', 'rel-1', 'development'), completedAt: '2026-11-30T11:20:00Z' }, 'deployments');
    await statusBecomes('cr-dev', 'validating');
    await waitFor(async () => (await release('rel-1')).deployments['development']?.status === 'succeeded', 'release deployed to development');
    const implemented = (await h.events('changeRequest-cr-dev')).find((e) => e.type === 'ChangeImplemented')!;
    expect(implemented.metadata).toMatchObject({ causationId: `${succeeded.id}:CompleteChangeImplementation`, correlationId: 'corr-deployment-cr-dev' });

    await h.publish('watch-cr-dev', 'PostDeploymentWatchCompleted', { changeRequestId: 'cr-dev', deploymentId: 'dep-cr-dev', environment: 'development', completedAt: '2026-11-30T11:30:00Z' }, 'monitoring');
    const closed = await eventually(h, 'changeRequest-cr-dev', 'ChangeClosed');
    expect(closed.data).toMatchObject({ outcome: 'successful', closedBy: 'change-requests' });
    expect(await h.types('changeRequest-cr-dev')).toEqual([
      'ChangeRequestSubmitted',
      'ChangeReviewStarted',
      'ChangeReviewCompleted',
      'ChangeRequestApproved',
      'ChangeScheduled',
      'ChangeImplementationStarted',
      'ChangeImplemented',
      'ChangeValidated',
      'ChangeClosed',
    ]);

    // Development succeeded: staging is now accepted, and its deployment records the promotion.
    await approvedChange('cr-stg', 'staging', STAGING_SLOT, 'rel-1');
    await deploy('cr-stg', 'rel-1', 'staging', STAGING_SLOT);
    await waitFor(async () => (await h.events('release-rel-1')).filter((e) => e.type === 'ReleaseDeploymentStarted').length === 2, 'staging deployment on the release');
    const stagingStart = (await h.events('release-rel-1')).filter((e) => e.type === 'ReleaseDeploymentStarted').at(-1)!;
    expect(stagingStart.data).toMatchObject({ environment: 'staging', promotion: { from: 'development', basis: 'deployed' } });

    // Redelivery: every event reaches every process manager again (as after a crash before the checkpoint); nothing new is written.
    const log = async () => {
      const all = [];
      for await (const event of h.store.readAll()) all.push(`${event.streamId}:${event.type}`);
      return all;
    };
    const before = await log();
    await h.redeliverEverything([CONSUMER_NAME, ...APPROVALS_CONSUMERS]);
    expect(await log()).toEqual(before);
  }, WALK_TIMEOUT_MS);

  if (!everything) return;

  it('rolls back automatically: the change and the release roll back, and the watch ending early closes the change as rolled back', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-2'));
    await givenDeployed(h, 'rel-2', ['development']);
    await approvedChange('cr-2', 'staging', STAGING_SLOT, 'rel-2');
    await deploy('cr-2', 'rel-2', 'staging', STAGING_SLOT);
    await h.publish('deployment-cr-2', 'DeploymentSucceeded', { ...ids('cr-2', 'rel-2', 'staging'), completedAt: '2026-11-30T14:20:00Z' }, 'deployments');
    await waitFor(async () => (await release('rel-2')).deployments['staging']?.status === 'succeeded', 'staging succeeded');
    h.clock.set('2026-11-30T14:40:00Z');
    const evidence = { metric: 'error_rate', threshold: 0.01, observed: [0.05, 0.06] };
    await h.publish('deployment-cr-2', 'DeploymentRolledBack', { ...ids('cr-2', 'rel-2', 'staging'), reason: 'error_rate > 0.01 for 300 s', initiator: 'automatic', evidence, at: '2026-11-30T14:40:00Z' }, 'deployments');
    await statusBecomes('cr-2', 'rolled_back');
    const releaseRolledBack = await eventually(h, 'release-rel-2', 'ReleaseRolledBack');
    expect(releaseRolledBack.data).toMatchObject({ environment: 'staging', initiator: 'automatic', basis: 'automatic_trigger', requestedBy: 'monitoring', reason: 'error_rate > 0.01 for 300 s' });

    // Monitoring ends the watch early on a rollback (PostDeploymentWatchEnded), which closes the change with its outcome.
    await h.publish('watch-cr-2', 'PostDeploymentWatchEnded', { changeRequestId: 'cr-2', deploymentId: 'dep-cr-2', environment: 'staging', reason: 'rolled_back', endedAt: '2026-11-30T14:41:00Z' }, 'monitoring');
    const closed = await eventually(h, 'changeRequest-cr-2', 'ChangeClosed');
    expect(closed.data).toMatchObject({ outcome: 'rolled_back' });
    expect(await h.types('changeRequest-cr-2')).not.toContain('ChangeValidated');
  });

  it('records a failed deployment on the change and the release; closing it needs a person', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-3'));
    await givenDeployed(h, 'rel-3', ['development']);
    await approvedChange('cr-3', 'staging', STAGING_SLOT, 'rel-3');
    await deploy('cr-3', 'rel-3', 'staging', STAGING_SLOT);
    await h.publish('deployment-cr-3', 'DeploymentFailed', { ...ids('cr-3', 'rel-3', 'staging'), reason: 'pods crash-looping', at: '2026-11-30T14:05:00Z' }, 'deployments');
    await statusBecomes('cr-3', 'failed');
    await waitFor(async () => (await release('rel-3')).status === 'failed', 'release failed');
    const reply = await h.send<CommandReply>('changeRequests', 'closeChange', { commandId: commandId(), actor: 'sam', changeRequestId: 'cr-3' });
    expect(reply).toMatchObject({ status: 'closed', events: ['ChangeClosed'], duplicate: false });
    expect((await h.events('changeRequest-cr-3')).at(-1)!.data).toMatchObject({ outcome: 'failed', closedBy: 'sam' });
  });

  it('an abort during implementation fails the change and the release; an abort before it starts cancels the change', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-6'));
    await givenDeployed(h, 'rel-6', ['development']);
    await approvedChange('cr-6', 'staging', STAGING_SLOT, 'rel-6');
    await deploy('cr-6', 'rel-6', 'staging', STAGING_SLOT);
    await h.publish('deployment-cr-6', 'DeploymentAborted', { ...ids('cr-6', 'rel-6', 'staging'), reason: 'wrong artefact', actor: 'sam', at: '2026-11-30T14:03:00Z' }, 'deployments');
    await statusBecomes('cr-6', 'failed');
    expect((await h.events('changeRequest-cr-6')).at(-1)!.data).toMatchObject({ reason: 'aborted by sam: wrong artefact' });
    await waitFor(async () => (await release('rel-6')).status === 'failed', 'release failed');

    await h.send('changeRequests', 'createRelease', releasePayload('rel-7'));
    await givenDeployed(h, 'rel-7', ['development']);
    await approvedChange('cr-7', 'staging', STAGING_SLOT, 'rel-7');
    await h.publish('deployment-cr-7', 'DeploymentAborted', { ...ids('cr-7', 'rel-7', 'staging'), reason: 'postponed', actor: 'sam', at: '2026-11-30T10:00:00Z' }, 'deployments');
    await statusBecomes('cr-7', 'cancelled');
  });

  it('revising a release invalidates every open approval for it; approval of the new revision approves the release again', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-4'));
    await approvedChange('cr-4', 'development', DEV_START, 'rel-4');
    await eventually(h, 'release-rel-4', 'ReleaseApproved');
    // A second change for the same release, still collecting approvals.
    await h.send('changeRequests', 'submitChange', submitPayload('cr-4b', { environment: 'development', planned: DEV_START, releaseId: 'rel-4' }));
    await h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-4b' });
    await h.send('changeRequests', 'completeReview', { commandId: commandId(), actor: 'bob', changeRequestId: 'cr-4b' });
    await eventually(h, 'approval-cr-4b', 'ApprovalsRequested');

    const reply = await h.send<CommandReply>('changeRequests', 'reviseRelease', { commandId: commandId(), actor: 'rita', releaseId: 'rel-4', revision: { title: 'Campaign API 2.1.0 (with fix)' } });
    expect(reply).toMatchObject({ events: ['ReleaseRevised', 'ReleaseApprovalsInvalidated'], status: 'planned' });
    const revised = (await h.events('release-rel-4')).find((e) => e.type === 'ReleaseApprovalsInvalidated')!;
    const invalidated = await eventually(h, 'approval-cr-4', 'ApprovalsInvalidated');
    expect(invalidated.data).toMatchObject({ previousRevision: 1, revision: 2, invalidatedGrants: [{ role: 'code_reviewer', approver: 'carol' }] });
    expect(invalidated.metadata).toMatchObject({ actor: 'approvals', causationId: `${revised.id}:InvalidateApprovals` });
    expect((await eventually(h, 'approval-cr-4b', 'ApprovalsInvalidated')).data).toMatchObject({ previousRevision: 1, revision: 2, invalidatedGrants: [] });
    // cr-4 had been approved on revision 1: it waits for approval of the new content.
    expect((await eventually(h, 'changeRequest-cr-4', 'ChangeApprovalWithdrawn')).data).toMatchObject({ cause: 'invalidated', reason: 'release content changed by rita' });
    await statusBecomes('cr-4', 'awaiting_approval');

    await h.send('approvals', 'grant', { commandId: commandId(), changeRequestId: 'cr-4b', role: 'code_reviewer', approver: 'carol', approverRoles: ['code_reviewer'] });
    await waitFor(async () => (await release('rel-4')).status === 'approved', 'release approved again');
    expect((await h.events('release-rel-4')).at(-1)!.data).toMatchObject({ approvalId: 'cr-4b', revision: 2 });
  });

  it('an emergency skips review, and after its watch waits for a person to close it with the post-implementation review', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-9'));
    await h.send('changeRequests', 'submitChange', submitPayload('cr-9', { environment: 'development', planned: NOW, releaseId: 'rel-9', kind: 'emergency' }));
    const requested = await eventually(h, 'approval-cr-9', 'ApprovalsRequested');
    expect(requested.data).toMatchObject({ kind: 'emergency', requirements: [{ role: 'code_reviewer', sources: ['emergency'] }] });
    await h.send('approvals', 'grant', { commandId: commandId(), changeRequestId: 'cr-9', role: 'code_reviewer', approver: 'carol', approverRoles: ['code_reviewer'] });
    await statusBecomes('cr-9', 'approved');
    h.clock.set('2026-11-30T09:05:00Z');
    // Emergencies may be booked to start at once (here: already under way).
    await deploy('cr-9', 'rel-9', 'development', '2026-11-30T09:04:00Z');
    await h.publish('deployment-cr-9', 'DeploymentSucceeded', { ...ids('cr-9', 'rel-9', 'development'), completedAt: '2026-11-30T09:10:00Z' }, 'deployments');
    await statusBecomes('cr-9', 'validating');
    await h.publish('watch-cr-9', 'PostDeploymentWatchCompleted', { changeRequestId: 'cr-9', deploymentId: 'dep-cr-9', environment: 'development', completedAt: '2026-11-30T09:40:00Z' }, 'monitoring');
    await statusBecomes('cr-9', 'validated');
    // Validated with the watch, and not closed with it: an emergency change closes only with its post-implementation review.
    expect((await h.types('changeRequest-cr-9')).slice(-2)).toEqual(['ChangeImplemented', 'ChangeValidated']);

    const close = { commandId: commandId(), actor: 'sam', changeRequestId: 'cr-9' };
    await expect(h.send('changeRequests', 'closeChange', close)).rejects.toMatchObject({ remoteName: 'PostImplementationReviewRequiredError' });
    expect(await h.send('changeRequests', 'closeChange', { ...close, commandId: commandId(), postImplementationReviewRef: 'PIR-2026-117' })).toMatchObject({ status: 'closed' });
    expect((await h.events('changeRequest-cr-9')).at(-1)!.data).toMatchObject({ outcome: 'successful', postImplementationReviewRef: 'PIR-2026-117', closedBy: 'sam' });
  });

  it('records testing-gate results for the environment the gates guard', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-8'));
    const result = { commandId: commandId(), actor: 'ci', releaseId: 'rel-8', environment: 'production', gateId: 'integration-tests', status: 'passed', startedAt: '2026-11-30T08:00:00Z', finishedAt: '2026-11-30T08:15:00Z', reportUrl: 'https://ci.example.com/runs/42' };
    expect(await h.send('changeRequests', 'recordGateResult', result)).toMatchObject({ streamId: 'gates-rel-8-production', events: ['GateResultRecorded'], duplicate: false });
    expect(await h.send('changeRequests', 'recordGateResult', result)).toMatchObject({ duplicate: true });
    const [recorded, ...rest] = await h.events('gates-rel-8-production');
    expect(rest).toEqual([]);
    expect(recorded!.data).toEqual({ releaseId: 'rel-8', environment: 'production', result: { gateId: 'integration-tests', status: 'passed', startedAt: '2026-11-30T08:00:00Z', finishedAt: '2026-11-30T08:15:00Z' } });
    expect(recorded!.metadata).toMatchObject({ actor: 'ci', policyVersion: h.policyVersion, reportUrl: 'https://ci.example.com/runs/42' });

    await expect(h.send('changeRequests', 'recordGateResult', { ...result, commandId: commandId(), gateId: 'smoke' })).rejects.toMatchObject({ remoteName: 'UnknownGateError' });
    await expect(h.send('changeRequests', 'recordGateResult', { ...result, commandId: commandId(), releaseId: 'nope' })).rejects.toMatchObject({ remoteName: 'NotFoundError' });
    await expect(h.send('changeRequests', 'recordGateResult', { ...result, commandId: commandId(), finishedAt: 'yesterday' })).rejects.toMatchObject({ remoteName: 'ValidationError' });
    expect(await h.events('gates-rel-8-production')).toHaveLength(1);
  });

  it('records the migrations CI reports once each, withdraws the approvals they outdate, and refuses new ones once the release deploys', async () => {
    await h.send('changeRequests', 'createRelease', releasePayload('rel-10'));
    await approvedChange('cr-10', 'development', DEV_START, 'rel-10');
    await eventually(h, 'release-rel-10', 'ReleaseApproved');

    const migration = { commandId: commandId(), actor: 'ci-bot', releaseId: 'rel-10', migrationId: '0042_add_send_at_index', description: 'Adds an index on campaigns.send_at', reversible: false, database: 'campaigns' };
    expect(await h.send('changeRequests', 'recordMigration', migration)).toMatchObject({
      streamId: 'release-rel-10',
      events: ['ReleaseMigrationRecorded', 'ReleaseApprovalsInvalidated'],
      status: 'planned',
      duplicate: false,
    });
    // The same fact again, redelivered or from a re-run pipeline: nothing new.
    expect(await h.send('changeRequests', 'recordMigration', migration)).toMatchObject({ duplicate: true });
    expect(await h.send('changeRequests', 'recordMigration', { ...migration, commandId: commandId() })).toMatchObject({ events: [], duplicate: false });
    expect((await h.types('release-rel-10')).filter((t) => t === 'ReleaseMigrationRecorded')).toHaveLength(1);
    await expect(h.send('changeRequests', 'recordMigration', { ...migration, commandId: commandId(), reversible: true })).rejects.toMatchObject({
      remoteName: 'MigrationConflictError',
      details: expect.objectContaining({ differingFields: ['reversible'] }),
    });
    expect(await release('rel-10')).toMatchObject({
      status: 'planned',
      revision: 2,
      migrations: [{ migrationId: '0042_add_send_at_index', description: 'Adds an index on campaigns.send_at', reversible: false, database: 'campaigns', recordedAt: '2026-11-30T09:00:00.000Z' }],
    });

    // The approval that approved the release covered revision 1: the change waits for approval again.
    expect((await eventually(h, 'approval-cr-10', 'ApprovalsInvalidated')).data).toMatchObject({ previousRevision: 1, revision: 2, wasFullyApproved: true });
    expect((await eventually(h, 'changeRequest-cr-10', 'ChangeApprovalWithdrawn')).data).toMatchObject({ cause: 'invalidated', withdrawnBy: 'approvals', stage: 'approved' });
    await statusBecomes('cr-10', 'awaiting_approval');
    expect((await change('cr-10')).release).toMatchObject({ migrations: [{ reversible: false }] });

    await h.send('approvals', 'grant', { commandId: commandId(), changeRequestId: 'cr-10', role: 'code_reviewer', approver: 'carol', approverRoles: ['code_reviewer'] });
    await statusBecomes('cr-10', 'approved');
    await waitFor(async () => (await release('rel-10')).status === 'approved', 'release approved at revision 2');
    await deploy('cr-10', 'rel-10', 'development', DEV_START);
    await waitFor(async () => (await release('rel-10')).status === 'deploying', 'release deploying');
    await expect(h.send('changeRequests', 'recordMigration', { ...migration, commandId: commandId(), migrationId: '0043_drop_legacy_column' })).rejects.toMatchObject({
      remoteName: 'MigrationAfterDeploymentError',
      details: expect.objectContaining({ status: 'deploying', environments: ['development'] }),
    });
    await expect(h.send('changeRequests', 'recordMigration', { ...migration, commandId: commandId(), releaseId: 'nope' })).rejects.toMatchObject({ remoteName: 'NotFoundError' });
    expect((await h.types('release-rel-10')).filter((t) => t === 'ReleaseMigrationRecorded')).toHaveLength(1);
  });

  it('validates commands and treats a repeated commandId as already done', async () => {
    await expect(h.send('changeRequests', 'createRelease', { ...releasePayload('rel-5'), release: { service: 'Campaign API', version: '2.1', type: 'minor', title: 'x' } })).rejects.toMatchObject({
      remoteName: 'ValidationError',
      details: expect.objectContaining({ issues: [expect.objectContaining({ field: 'release.service' })] }),
    });
    await expect(h.send('changeRequests', 'createRelease', releasePayload('rel-5', '2.1'))).rejects.toMatchObject({ remoteName: 'InvalidVersionError' });
    const twoEnvironments = submitPayload('cr-5', { environment: 'staging', planned: STAGING_SLOT });
    twoEnvironments.draft.environments.push('production');
    await expect(h.send('changeRequests', 'submitChange', twoEnvironments)).rejects.toMatchObject({ remoteName: 'ValidationError', details: expect.objectContaining({ issues: [expect.objectContaining({ field: 'draft.environments' })] }) });
    const noRunbook = submitPayload('cr-5', { environment: 'production', planned: '2026-12-01T10:00:00Z' });
    delete (noRunbook.draft as { runbookRef?: string }).runbookRef;
    await expect(h.send('changeRequests', 'submitChange', noRunbook)).rejects.toMatchObject({ remoteName: 'RunbookRequiredError' });
    expect(await h.events('changeRequest-cr-5')).toEqual([]);

    const submit = submitPayload('cr-5', { environment: 'development', planned: DEV_START });
    expect(await h.send('changeRequests', 'submitChange', submit)).toMatchObject({ events: ['ChangeRequestSubmitted'], status: 'submitted', duplicate: false });
    expect(await h.send('changeRequests', 'submitChange', submit)).toMatchObject({ events: ['ChangeRequestSubmitted'], duplicate: true });
    const events = await h.events('changeRequest-cr-5');
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata).toMatchObject({ actor: 'alice', causationId: submit.commandId, policyVersion: h.policyVersion });
    await expect(h.send('changeRequests', 'startReview', { commandId: commandId(), actor: 'alice', changeRequestId: 'cr-5' })).rejects.toMatchObject({ remoteName: 'SeparationOfDutiesViolation' });
  });
});
