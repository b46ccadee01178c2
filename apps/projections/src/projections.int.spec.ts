import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { approvalDecider, changeRequestDecider, settableClock, type ApprovalEvent, type ChangeRequestEvent } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type NewEvent } from '@gatehouse/eventstore';
import { PolicyRegistry, type EmbeddedHost, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { evolveReadModel, initialReadModel, projectionsService, type ProjectionQueryResult } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const NOW = new Date('2026-11-24T09:00:00Z');
const CR = 'cr-7';

const draft = {
  title: 'Checkout 2.4.0 to production',
  description: 'New payment provider',
  type: 'enhancement',
  priority: 'medium',
  impact: 'medium',
  risk: 'medium',
  environments: ['production'],
  schedule: { planned: '2026-12-01T10:00:00Z', duration: 120, maintenance: false },
  implementationPlan: 'canary',
  rollbackPlan: 'shift traffic back',
  testingPlan: 'E2E in staging',
  runbookRef: 'RB-7',
  releaseId: 'rel-7',
  author: 'alice',
};
const rules = { production: { runbookRequired: true, standardChangesPreApproved: true, standardChangeTemplates: [], exposure: 'production' as const } };

/** The change request's and approval's events, produced by the domain deciders themselves. */
function domainEvents() {
  const cr: ChangeRequestEvent[] = [];
  let crState = changeRequestDecider.initialState();
  const crDo = (command: Parameters<typeof changeRequestDecider.decide>[0]) => {
    const events = changeRequestDecider.decide(command, crState);
    crState = events.reduce(changeRequestDecider.evolve, crState);
    cr.push(...events);
  };
  crDo({ type: 'SubmitChangeRequest', data: { changeRequestId: CR, kind: 'normal', draft, environmentRules: rules, outsideWindows: false, now: NOW } });
  crDo({ type: 'StartChangeReview', data: { changeRequestId: CR, reviewer: 'bob', now: NOW } });
  crDo({ type: 'CompleteChangeReview', data: { changeRequestId: CR, reviewer: 'bob', notes: 'ok', now: NOW } });

  const approvals: ApprovalEvent[] = [];
  let apState = approvalDecider.initialState();
  const apDo = (command: Parameters<typeof approvalDecider.decide>[0]) => {
    const events = approvalDecider.decide(command, apState);
    apState = events.reduce(approvalDecider.evolve, apState);
    approvals.push(...events);
  };
  apDo({
    type: 'RequestApprovals',
    data: {
      approvalId: CR,
      subject: { changeRequestId: CR, releaseId: 'rel-7', environment: 'production', revision: 1 },
      author: 'alice',
      kind: 'normal',
      includesMigration: false,
      emergencyOutsideWindows: false,
      matrix: { required: [{ role: 'code_reviewer', count: 1, onCall: false }, { role: 'tech_lead', count: 1, onCall: false }, { role: 'sre', count: 1, onCall: false }], separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true }, standardChangesPreApproved: true, standardChangeTemplates: [] },
      emergency: { allowed: false, approvals: [], enhancedMonitoring: false, branchFromProductionTag: false },
      policyVersion: 'sha256:test',
      now: NOW,
    },
  });
  apDo({ type: 'GrantApproval', data: { approvalId: CR, approver: 'carol', approverRoles: ['code_reviewer'], approverOnCall: false, role: 'code_reviewer', now: NOW } });
  return { cr, approvals };
}

const booking = { changeRequestId: CR, releaseId: 'rel-7', service: 'checkout', version: '2.4.0', environment: 'production', changeType: 'normal', strategy: 'canary' };
const steps = [5, 25, 100].map((trafficPercent, index) => ({ index, name: `canary-${trafficPercent}`, trafficPercent, durationMinutes: 40, analysis: true }));
const ids = { deploymentId: `dep-${CR}`, changeRequestId: CR, releaseId: 'rel-7', service: 'checkout', version: '2.4.0', environment: 'production' };

describe('projections service (embedded)', () => {
  let store: AuditableEventStore;
  let host: EmbeddedHost;
  const append = async (streamId: string, events: ReadonlyArray<{ type: string; data: unknown }>, actor: string) =>
    store.appendToStream(streamId, events.map((e): NewEvent => ({ type: e.type, data: e.data, metadata: { actor } })));
  const query = <T>(payload: unknown) => host.commandsAs({ subject: 'ops', roles: ['sre'] }).send<ProjectionQueryResult<T>>('projections', 'query', payload);
  const waitVisible = async (position: bigint) => {
    const deadline = Date.now() + 5_000;
    while (BigInt((await query({ view: 'versions' })).asOfPosition) < position) {
      if (Date.now() > deadline) throw new Error('projection did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  beforeEach(async () => {
    store = await createInMemoryEventStore();
    const clock = settableClock('2026-11-24T09:00:00Z');
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const { cr, approvals } = domainEvents();
    // Written before the service starts: the rebuild from position 0 must find them.
    await append('release-rel-7', [{ type: 'ReleasePlanned', data: { releaseId: 'rel-7', service: 'checkout', version: '2.4.0', previousVersion: '2.3.1' } }], 'alice');
    await append(`changeRequest-${CR}`, cr, 'alice');
    await append(`approval-${CR}`, approvals, 'carol');
    host = await startEmbeddedServices([projectionsService], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
  });
  afterEach(async () => {
    await host.stop();
    await store.close();
  });

  it('serves each view from the log and answers with the position it is as of', async () => {
    const changes = await query<Record<string, unknown>>({ view: 'changeRequests', filter: { environment: 'production' } });
    expect(changes.items).toEqual([
      expect.objectContaining({ changeRequestId: CR, status: 'awaiting_approval', kind: 'normal', environments: ['production'], service: 'checkout', version: '2.4.0', risk: expect.objectContaining({ level: expect.any(String) }) }),
    ]);
    expect((await query({ view: 'changeRequests', filter: { status: 'closed' } })).items).toEqual([]);

    const pending = await query({ view: 'pendingApprovals', filter: { environment: 'production' } });
    expect(pending.items).toEqual([
      { changeRequestId: CR, approvalId: CR, environment: 'production', role: 'tech_lead', missing: 1, onCall: false },
      { changeRequestId: CR, approvalId: CR, environment: 'production', role: 'sre', missing: 1, onCall: false },
    ]);
    expect((await query({ view: 'pendingApprovals', filter: { role: 'sre' } })).items).toHaveLength(1);

    await append(`schedule-${CR}`, [{ type: 'DeploymentScheduled', data: { ...booking, scheduledFor: '2026-12-01T10:00:00.000Z', windowId: 'tue-thu-morning', policyVersion: 'sha256:test' } }], 'scheduling');
    const started = await append(`deployment-${CR}`, [{ type: 'DeploymentStarted', data: { ...ids, strategy: 'canary', steps, startedAt: '2026-12-01T10:00:00.000Z' } }, { type: 'DeploymentStepStarted', data: { deploymentId: ids.deploymentId, changeRequestId: CR, ...steps[0], at: '2026-12-01T10:00:00.000Z' } }, { type: 'DeploymentStepCompleted', data: { deploymentId: ids.deploymentId, changeRequestId: CR, ...steps[0], at: '2026-12-01T10:40:00.000Z' } }, { type: 'DeploymentStepStarted', data: { deploymentId: ids.deploymentId, changeRequestId: CR, ...steps[1], at: '2026-12-01T10:40:00.000Z' } }], 'deployments');
    await waitVisible(started.lastGlobalPosition);

    expect((await query({ view: 'schedule', filter: { environment: 'production', from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' } })).items).toEqual([
      expect.objectContaining({ changeRequestId: CR, service: 'checkout', version: '2.4.0', scheduledFor: '2026-12-01T10:00:00.000Z', windowId: 'tue-thu-morning', status: 'started' }),
    ]);
    expect((await query({ view: 'schedule', filter: { environment: 'staging' } })).items).toEqual([]);
    expect((await query({ view: 'activeDeployments', filter: { environment: 'production' } })).items).toEqual([
      expect.objectContaining({ changeRequestId: CR, service: 'checkout', version: '2.4.0', totalSteps: 3, currentStep: 2, currentStepName: 'canary-25', trafficPercent: 25 }),
    ]);

    const succeeded = await append(`deployment-${CR}`, [{ type: 'DeploymentSucceeded', data: { ...ids, completedAt: '2026-12-01T12:00:00.000Z' } }], 'deployments');
    await waitVisible(succeeded.lastGlobalPosition);
    expect((await query({ view: 'activeDeployments' })).items).toEqual([]);
    const versions = await query({ view: 'versions', filter: { service: 'checkout' } });
    expect(versions.items).toEqual([{ service: 'checkout', environment: 'production', version: '2.4.0', changeRequestId: CR, since: '2026-12-01T12:00:00.000Z', previous: [] }]);
    expect(BigInt(versions.asOfPosition)).toBeGreaterThanOrEqual(succeeded.lastGlobalPosition);

    const history = await query<{ type: string; actor: string | null; streamId: string }>({ view: 'changeHistory', filter: { changeRequestId: CR } });
    expect(history.items.map((h) => [h.streamId.split('-')[0], h.type, h.actor])).toEqual([
      ['changeRequest', 'ChangeRequestSubmitted', 'alice'],
      ['changeRequest', 'ChangeReviewStarted', 'alice'],
      ['changeRequest', 'ChangeReviewCompleted', 'alice'],
      ['approval', 'ApprovalsRequested', 'carol'],
      ['approval', 'ApprovalGranted', 'carol'],
      ['schedule', 'DeploymentScheduled', 'scheduling'],
      ['deployment', 'DeploymentStarted', 'deployments'],
      ['deployment', 'DeploymentStepStarted', 'deployments'],
      ['deployment', 'DeploymentStepCompleted', 'deployments'],
      ['deployment', 'DeploymentStepStarted', 'deployments'],
      ['deployment', 'DeploymentSucceeded', 'deployments'],
    ]);
  });

  it('skips an event it cannot fold and goes on serving every view', async () => {
    await append('changeRequest-cr-bad', [{ type: 'ChangeRequestSubmitted', data: { changeRequestId: 'cr-bad', kind: 'normal' } }], 'mallory');
    const booked = await append(`schedule-${CR}`, [{ type: 'DeploymentScheduled', data: { ...booking, scheduledFor: '2026-12-01T10:00:00.000Z', windowId: 'tue-thu-morning', policyVersion: 'sha256:test' } }], 'scheduling');
    await waitVisible(booked.lastGlobalPosition);
    // The history is the log's: the event is shown there, as recorded, though no view could fold it.
    expect((await query<{ type: string; actor: string }>({ view: 'changeHistory', filter: { changeRequestId: 'cr-bad' } })).items).toEqual([expect.objectContaining({ type: 'ChangeRequestSubmitted', actor: 'mallory' })]);
    expect((await query({ view: 'changeRequests' })).items).toEqual([expect.objectContaining({ changeRequestId: CR })]);
    expect((await query({ view: 'schedule' })).items).toEqual([expect.objectContaining({ changeRequestId: CR, status: 'booked' })]);
  });

  it.each([
    ['an unknown view', { view: 'everything' }, 'view'],
    ['an unknown filter field', { view: 'schedule', filter: { env: 'production' } }, 'filter'],
    ['a non-ISO bound', { view: 'schedule', filter: { from: 'tomorrow' } }, 'filter.from'],
    ['a history without its change', { view: 'changeHistory', filter: {} }, 'filter.changeRequestId'],
    ['a wrong type', { view: 'changeRequests', filter: { limit: 'ten' } }, 'filter.limit'],
  ])('refuses %s with ValidationError naming the field', async (_, payload, field) => {
    await expect(query(payload)).rejects.toMatchObject({ remoteName: 'ValidationError' });
    const error = (await query(payload).catch((e: unknown) => e)) as { details: unknown };
    expect(JSON.stringify(error.details)).toContain(`"field":"${field}`);
  });
});

describe('evolveReadModel', () => {
  const event = (position: bigint, type: string, data: Record<string, unknown>) => ({
    id: `e${position}`, type, streamId: `deployment-${CR}`, streamVersion: position, globalPosition: position, recordedAt: new Date('2026-12-01T12:00:00Z'), data, metadata: {}, hash: '', previousHash: '',
  });

  it('returns to the previous version when a completed change is rolled back', () => {
    const model = initialReadModel();
    evolveReadModel(model, { ...event(1n, 'DeploymentSucceeded', { ...ids, version: '2.3.1', changeRequestId: 'cr-6', completedAt: '2026-11-17T12:00:00Z' }), streamId: 'deployment-cr-6' });
    evolveReadModel(model, event(2n, 'DeploymentSucceeded', { ...ids, completedAt: '2026-12-01T12:00:00Z' }));
    const deployed = { service: 'checkout', environment: 'production', version: '2.4.0', changeRequestId: CR, since: '2026-12-01T12:00:00Z', previous: ['2.3.1'] };
    expect([...model.versions.values()]).toEqual([deployed]);
    expect(model.position).toBe(2n);

    evolveReadModel(model, event(3n, 'DeploymentRolledBack', { ...ids, reason: 'error rate', initiator: 'automatic', at: '2026-12-01T13:00:00Z' }));
    expect([...model.versions.values()]).toEqual([{ service: 'checkout', environment: 'production', version: '2.3.1', changeRequestId: CR, since: '2026-12-01T13:00:00Z', previous: [] }]);
  });
});
