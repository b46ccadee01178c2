import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { changeRequestDecider, changeRulesFromPolicy, releaseDecider, settableClock, type ChangeRequestCommand, type ChangeRequestState, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { loadPolicySet } from '@gatehouse/policy';
import { type EmbeddedHost, POLICY_STREAM, PolicyRegistry, readPolicyDirectory, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { createSchedulingService } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
/** Friday of Black Friday week: production is in blackout until the Thanksgiving weekend ends. */
const BLACK_FRIDAY = '2026-11-27T15:00:00Z';

type Fill = { role: string; approvers: string[] };

/**
 * A hotfix release and an emergency production change for it, fully approved by `fills`, as change-requests
 * and approvals leave them in the log: the full approval first, then the change's approval.
 */
async function approvedEmergencyChange(store: AuditableEventStore, policies: PolicyRegistry, clock: SettableClock, changeRequestId: string, fills: Fill[], planned = clock.now().toISOString()): Promise<void> {
  const releaseId = `rel-${changeRequestId}`;
  const release = releaseDecider.decide(
    { type: 'PlanRelease', data: { releaseId, content: { service: 'checkout', version: '2.0.4', type: 'hotfix', title: 'Payment callback NPE' }, previousVersion: '2.0.3', plannedBy: 'alice', now: clock.now() } },
    releaseDecider.initialState(),
  );
  await store.appendToStream(`release-${releaseId}`, release.map((e) => ({ ...e, metadata: { actor: 'alice' } })));
  // The hotfix passed production's testing gates in staging: the start decision checks them for emergencies too.
  const gatesPassed = policies.current.environments['production']!.testingGates.map((gate) => ({
    type: 'GateResultRecorded',
    data: { releaseId, environment: 'production', result: { gateId: gate.id, status: 'passed', startedAt: clock.now().toISOString(), finishedAt: clock.now().toISOString() } },
    metadata: { actor: 'ci' },
  }));
  await store.appendToStream(`gates-${releaseId}-production`, gatesPassed);
  const environmentRules = Object.fromEntries(Object.values(policies.current.environments).map((p) => [p.environment, changeRulesFromPolicy(p)]));
  const now = clock.now();
  const draft = {
    title: 'Hotfix checkout 2.0.4',
    description: 'Null check in the payment callback',
    type: 'bug_fix',
    priority: 'critical',
    impact: 'high',
    risk: 'medium',
    environments: ['production'],
    schedule: { planned, duration: 60, maintenance: false },
    implementationPlan: 'canary',
    rollbackPlan: 'shift traffic back to blue',
    testingPlan: 'staging validation',
    runbookRef: 'RB-9',
    releaseId,
    hotfixId: 'hf-1',
    author: 'alice',
  };
  const submit: ChangeRequestCommand = { type: 'SubmitChangeRequest', data: { changeRequestId, kind: 'emergency', draft, environmentRules, outsideWindows: true, now } };
  let state: ChangeRequestState = changeRequestDecider.initialState();
  const append = async (command: ChangeRequestCommand) => {
    const events = changeRequestDecider.decide(command, state);
    state = events.reduce(changeRequestDecider.evolve, state);
    await store.appendToStream(`changeRequest-${changeRequestId}`, events.map((e) => ({ ...e, metadata: { actor: 'change-requests', correlationId: `corr-${changeRequestId}` } })));
  };
  await append(submit);
  const subject = { changeRequestId, releaseId, environment: 'production', revision: 1 };
  await store.appendToStream(`approval-${changeRequestId}`, [
    {
      type: 'ChangeFullyApproved',
      data: {
        approvalId: changeRequestId,
        subject,
        fills: fills.map((f) => ({ ...f, sources: ['emergency'], onCallRequired: f.role === 'sre' })),
        basis: 'requirements_met',
        separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true },
        policyVersion: policies.current.policyVersion,
        approvedAt: now.toISOString(),
      },
      metadata: { actor: 'approvals', correlationId: `corr-${changeRequestId}` },
    },
  ]);
  await append({ type: 'RecordChangeApproval', data: { changeRequestId, approvalId: changeRequestId, now } });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const eventOf = (store: AuditableEventStore, streamId: string, type: string) => async (): Promise<StoredEvent | undefined> => (await store.readStream(streamId)).find((e) => e.type === type);

describe('scheduling emergency changes', () => {
  let store: AuditableEventStore;
  let clock: SettableClock;
  let policies: PolicyRegistry;
  let host: EmbeddedHost | undefined;

  beforeEach(async () => {
    store = await createInMemoryEventStore();
    clock = settableClock(BLACK_FRIDAY);
    policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
  });
  afterEach(async () => {
    await host?.stop();
    await store.close();
  });

  const start = async () => {
    host = await startEmbeddedServices([createSchedulingService({ timerPollIntervalMs: 5 })], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
  };

  it('books an emergency approved by VP Engineering for now, in the blackout, with the bypassed rules on the booking; it falls due at once', async () => {
    await approvedEmergencyChange(store, policies, clock, 'cr-hf', [
      { role: 'tech_lead', approvers: ['tess'] },
      { role: 'sre', approvers: ['sam'] },
      { role: 'vp_engineering', approvers: ['victor'] },
    ]);
    await start();
    const scheduled = await waitFor(eventOf(store, 'schedule-cr-hf', 'DeploymentScheduled'));
    expect(scheduled.data).toMatchObject({
      changeRequestId: 'cr-hf',
      changeType: 'emergency',
      environment: 'production',
      strategy: 'canary',
      scheduledFor: '2026-11-27T15:00:00.000Z',
      policyVersion: policies.current.policyVersion,
      emergencyBypass: { role: 'vp_engineering', approvers: ['victor'], reasons: expect.arrayContaining([expect.stringMatching(/^production\/blackouts\/black-friday-week: bypassed for this emergency change/)]) },
    });
    expect((scheduled.data as { windowId?: string }).windowId).toBeUndefined();
    const due = await waitFor(eventOf(store, 'schedule-cr-hf', 'DeploymentDue'));
    expect(due.data).toMatchObject({ changeRequestId: 'cr-hf', dueAt: '2026-11-27T15:00:00.000Z' });
  });

  it('books an emergency approved without the bypass role (the blackout began after its approvals were set) into the next regular slot', async () => {
    await approvedEmergencyChange(store, policies, clock, 'cr-late', [
      { role: 'tech_lead', approvers: ['tess'] },
      { role: 'sre', approvers: ['sam'] },
    ]);
    await start();
    const scheduled = await waitFor(eventOf(store, 'schedule-cr-late', 'DeploymentScheduled'));
    expect(scheduled.data).toMatchObject({ scheduledFor: '2026-12-01T10:00:00.000Z', windowId: 'tue-thu-morning' });
    expect(scheduled.data).not.toHaveProperty('emergencyBypass');
  });

  it('keeps a bypassed booking when a new policy still lets it go with its approvals, while moving regular bookings it no longer allows', async () => {
    const expedited = [
      { role: 'tech_lead', approvers: ['tess'] },
      { role: 'sre', approvers: ['sam'] },
    ];
    await approvedEmergencyChange(store, policies, clock, 'cr-tonight', [...expedited, { role: 'vp_engineering', approvers: ['victor'] }], '2026-11-27T18:00:00Z');
    await approvedEmergencyChange(store, policies, clock, 'cr-regular', expedited);
    await start();
    expect((await waitFor(eventOf(store, 'schedule-cr-tonight', 'DeploymentScheduled'))).data).toMatchObject({ scheduledFor: '2026-11-27T18:00:00.000Z', emergencyBypass: { role: 'vp_engineering' } });
    expect((await waitFor(eventOf(store, 'schedule-cr-regular', 'DeploymentScheduled'))).data).toMatchObject({ scheduledFor: '2026-12-01T10:00:00.000Z' });

    // Production's window moves to Wednesdays.
    const files = await readPolicyDirectory(POLICIES);
    const moved = files.map((f) => (f.name === 'production.yaml' ? { ...f, contents: f.contents.replace('days: [tue, thu]', 'days: [wed]') } : f));
    const next = loadPolicySet(moved);
    await store.appendToStream(POLICY_STREAM, [
      {
        type: 'PolicyVersionActivated',
        data: { policyVersion: next.policyVersion, previousVersion: policies.current.policyVersion, environments: Object.keys(next.environments).sort(), files: moved, activatedAt: clock.now().toISOString() },
        metadata: { actor: 'system' },
      },
    ]);
    expect((await waitFor(eventOf(store, 'schedule-cr-regular', 'DeploymentRescheduled'))).data).toMatchObject({ scheduledFor: '2026-12-02T10:00:00.000Z' });
    expect((await store.readStream('schedule-cr-tonight')).map((e) => e.type)).toEqual(['DeploymentScheduled']);
  });
});
