import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { changeRequestDecider, changeRulesFromPolicy, deploymentStartTimerId, releaseDecider, settableClock, type ChangeRequestCommand, type ChangeRequestState, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { type EmbeddedHost, PolicyRegistry, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { createSchedulingService, DEPLOYMENT_DUE_PURPOSE, SlotRefusedError } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const FAST = { timerPollIntervalMs: 5 };

/** Plans a release and submits + approves a production change for it, deciding the real domain commands. */
async function approvedProductionChange(store: AuditableEventStore, policies: PolicyRegistry, clock: SettableClock, changeRequestId: string, releaseId: string): Promise<void> {
  if ((await store.readStream(`release-${releaseId}`)).length === 0) {
    const planned = releaseDecider.decide(
      { type: 'PlanRelease', data: { releaseId, content: { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'Campaign time zones' }, previousVersion: '2.0.3', plannedBy: 'alice', now: clock.now() } },
      releaseDecider.initialState(),
    );
    await store.appendToStream(`release-${releaseId}`, planned.map((e) => ({ ...e, metadata: { actor: 'alice' } })));
    // Production's testing gates passed for the release: the start decision checks them.
    const passed = policies.current.environments['production']!.testingGates.map((gate) => ({
      type: 'GateResultRecorded',
      data: { releaseId, environment: 'production', result: { gateId: gate.id, status: 'passed', startedAt: '2026-11-24T08:00:00.000Z', finishedAt: '2026-11-24T08:10:00.000Z' } },
      metadata: { actor: 'ci' },
    }));
    await store.appendToStream(`gates-${releaseId}-production`, passed);
  }
  const environmentRules = Object.fromEntries(Object.values(policies.current.environments).map((p) => [p.environment, changeRulesFromPolicy(p)]));
  const now = clock.now();
  const draft = {
    title: 'Campaign time zones',
    description: 'Schedules campaigns in the recipient time zone',
    type: 'enhancement',
    priority: 'medium',
    impact: 'medium',
    risk: 'medium',
    likelihood: 'low',
    size: 'medium',
    environments: ['production'],
    schedule: { planned: now.toISOString(), duration: 120, maintenance: false },
    implementationPlan: 'canary 5/25/100',
    rollbackPlan: 'shift traffic back',
    testingPlan: 'staging E2E',
    runbookRef: 'RB-7',
    releaseId,
    author: 'alice',
  };
  const commands: ChangeRequestCommand[] = [
    { type: 'SubmitChangeRequest', data: { changeRequestId, kind: 'normal', draft, environmentRules, outsideWindows: true, now } },
    { type: 'StartChangeReview', data: { changeRequestId, reviewer: 'bob', now } },
    { type: 'CompleteChangeReview', data: { changeRequestId, reviewer: 'bob', notes: 'fine', now } },
    { type: 'RecordChangeApproval', data: { changeRequestId, approvalId: `apr-${changeRequestId}`, now } },
  ];
  let state: ChangeRequestState = changeRequestDecider.initialState();
  for (const command of commands) {
    const events = changeRequestDecider.decide(command, state);
    state = events.reduce(changeRequestDecider.evolve, state);
    await store.appendToStream(`changeRequest-${changeRequestId}`, events.map((e) => ({ ...e, metadata: { actor: 'change-requests', correlationId: `corr-${changeRequestId}` } })));
  }
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
const types = async (store: AuditableEventStore, streamId: string) => (await store.readStream(streamId)).map((e) => e.type);
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('scheduling service', () => {
  let store: AuditableEventStore;
  let clock: SettableClock;
  let policies: PolicyRegistry;
  const hosts: EmbeddedHost[] = [];
  const start = async () => {
    const host = await startEmbeddedServices([createSchedulingService(FAST)], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
    hosts.push(host);
    return host;
  };

  beforeEach(async () => {
    store = await createInMemoryEventStore();
    clock = settableClock('2026-11-25T15:00:00Z'); // Wednesday of Black Friday week
    policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
  });
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
    await store.close();
  });

  it('books approved production changes past the blackout, one per service per window, and fires each due timer once', async () => {
    await approvedProductionChange(store, policies, clock, 'cr-1', 'rel-1');
    await approvedProductionChange(store, policies, clock, 'cr-2', 'rel-1');
    await start();
    await start(); // a second scheduling instance on the same store

    const first = await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentScheduled'));
    expect(first.data).toEqual({
      changeRequestId: 'cr-1',
      releaseId: 'rel-1',
      service: 'campaign-api',
      version: '2.1.0',
      environment: 'production',
      changeType: 'normal',
      strategy: 'canary',
      scheduledFor: '2026-12-01T10:00:00.000Z',
      windowId: 'tue-thu-morning',
      policyVersion: policies.current.policyVersion,
      // When scheduling decided the booking: change-requests checks the slot against it, not its own "now".
      bookedAt: clock.now().toISOString(),
    });
    expect(first.metadata).toMatchObject({ actor: 'scheduling', correlationId: 'corr-cr-1', policyVersion: policies.current.policyVersion });
    const second = await waitFor(eventOf(store, 'schedule-cr-2', 'DeploymentScheduled'));
    expect(second.data).toMatchObject({ scheduledFor: '2026-12-03T10:00:00.000Z' });

    const timerId = deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z');
    const armed = await waitFor(eventOf(store, `workflowTimer-${timerId}`, 'TimerArmed'));
    expect(armed.data).toMatchObject({ owner: 'scheduling', at: '2026-12-01T10:00:00.000Z', target: 'schedule', streamId: 'schedule-cr-1', command: { type: 'DecideDeploymentStart', data: { changeRequestId: 'cr-1', dueAt: '2026-12-01T10:00:00.000Z' } } });
    await settle();
    expect(await types(store, 'schedule-cr-1')).toEqual(['DeploymentScheduled']);

    clock.set('2026-12-01T10:00:00Z');
    const due = await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentDue'));
    expect(due.data).toEqual({ changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production', changeType: 'normal', strategy: 'canary', dueAt: '2026-12-01T10:00:00.000Z' });
    expect(due.metadata).toMatchObject({ actor: 'scheduling', causationId: `${timerId}:1:fire` });
    await settle(); // both instances' timer runners and consumers have run several times
    expect(await types(store, `workflowTimer-${timerId}`)).toEqual(['TimerArmed', 'TimerFired']);
    expect(await types(store, 'schedule-cr-1')).toEqual(['DeploymentScheduled', 'DeploymentDue']);
    expect(await types(store, 'schedule-cr-2')).toEqual(['DeploymentScheduled']);
  });

  it('re-arms pending timers after a restart and fires them once', async () => {
    await approvedProductionChange(store, policies, clock, 'cr-1', 'rel-1');
    const host = await start();
    await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentScheduled'));
    await settle();
    await host.stop();
    hosts.splice(hosts.indexOf(host), 1);

    clock.set('2026-12-01T10:00:05Z');
    await start();
    await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentDue'));
    await settle();
    expect(await types(store, 'schedule-cr-1')).toEqual(['DeploymentScheduled', 'DeploymentDue']);
  });

  it('moves a timer an earlier version armed on its own timer stream, and fires it once, at its instant', async () => {
    // What the previous version left behind: a booking, and its start timer on `timer-<id>`, armed and not fired.
    await approvedProductionChange(store, policies, clock, 'cr-1', 'rel-1');
    const host = await start();
    await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentScheduled'));
    await waitFor(eventOf(store, `workflowTimer-${deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z')}`, 'TimerArmed'));
    await host.stop();
    hosts.splice(hosts.indexOf(host), 1);
    await store.appendToStream(`workflowTimer-${deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z')}`, [
      { type: 'TimerCancelled', data: { timerId: deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z'), generation: 1, reason: 'this version did not exist yet', cancelledAt: clock.now().toISOString() }, metadata: { actor: 'test' } },
    ]);
    const legacyId = 'cr-1-due-1764583200000';
    const [legacyArmed] = (
      await store.appendToStream(`timer-${legacyId}`, [
        { type: 'TimerArmed', data: { timerId: legacyId, dueAt: '2026-12-01T10:00:00.000Z', purpose: DEPLOYMENT_DUE_PURPOSE, payload: { changeRequestId: 'cr-1' }, armedAt: clock.now().toISOString() }, metadata: { actor: 'scheduling', correlationId: 'corr-cr-1' } },
      ])
    ).events;

    await start();
    await start(); // two instances move it at once
    const legacyCancelled = await waitFor(eventOf(store, `timer-${legacyId}`, 'TimerCancelled'));
    const timerId = deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z');
    expect(legacyCancelled.data).toMatchObject({ reason: `moved to workflowTimer-${timerId}` });
    const rearmed = (await store.readStream(`workflowTimer-${timerId}`)).filter((e) => e.type === 'TimerArmed');
    expect(rearmed).toHaveLength(2);
    expect(rearmed[1]).toMatchObject({ data: { generation: 2, at: '2026-12-01T10:00:00.000Z' }, metadata: { causationId: `${legacyArmed!.id}:arm:${timerId}`, correlationId: 'corr-cr-1' } });

    clock.set('2026-12-01T10:00:00Z');
    const due = await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentDue'));
    expect(due.metadata).toMatchObject({ causationId: `${timerId}:2:fire` });
    await settle();
    expect(await types(store, 'schedule-cr-1')).toEqual(['DeploymentScheduled', 'DeploymentDue']);
    expect(await types(store, `timer-${legacyId}`)).toEqual(['TimerArmed', 'TimerCancelled']);
    expect(await types(store, `workflowTimer-${timerId}`)).toEqual(['TimerArmed', 'TimerCancelled', 'TimerArmed', 'TimerFired']);
  });

  it('disarms the old instant when a booking moves, and starts it at the new one only', async () => {
    await approvedProductionChange(store, policies, clock, 'cr-1', 'rel-1');
    const host = await start();
    await waitFor(eventOf(store, `workflowTimer-${deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z')}`, 'TimerArmed'));
    await host.commandsAs({ subject: 'sre-sam', roles: ['sre'] }).send('scheduling', 'requestSlot', { commandId: 'c-1', changeRequestId: 'cr-1', at: '2026-12-03T10:00:00Z', actor: 'sre-sam' });
    const old = await waitFor(eventOf(store, `workflowTimer-${deploymentStartTimerId('cr-1', '2026-12-01T10:00:00.000Z')}`, 'TimerCancelled'));
    expect(old.data).toMatchObject({ reason: 'rescheduled to 2026-12-03T10:00:00.000Z' });
    await waitFor(eventOf(store, `workflowTimer-${deploymentStartTimerId('cr-1', '2026-12-03T10:00:00.000Z')}`, 'TimerArmed'));

    clock.set('2026-12-01T10:00:00Z');
    await settle();
    expect(await types(store, 'schedule-cr-1')).toEqual(['DeploymentScheduled', 'DeploymentRescheduled']);
    clock.set('2026-12-03T10:00:00Z');
    expect((await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentDue'))).data).toMatchObject({ dueAt: '2026-12-03T10:00:00.000Z' });
  });

  it('refuses a requested slot in the blackout with the reasons, writing nothing; accepts an open one', async () => {
    await approvedProductionChange(store, policies, clock, 'cr-1', 'rel-1');
    const host = await start();
    await waitFor(eventOf(store, 'schedule-cr-1', 'DeploymentScheduled'));

    const refusal = host.commandsAs({ subject: 'sre-sam', roles: ['sre'] }).send('scheduling', 'requestSlot', { commandId: 'c-1', changeRequestId: 'cr-1', at: '2026-11-26T10:00:00Z', actor: 'sre-sam' });
    await expect(refusal).rejects.toMatchObject({ remoteName: SlotRefusedError.name, details: { code: 'SLOT_REFUSED', nextAllowedAt: '2026-12-01T10:00:00.000Z' } });
    await expect(refusal).rejects.toThrow(/Black Friday week/);
    // A plan that would not fit the window is refused too, as is a malformed instant.
    await expect(host.commandsAs({ subject: 'sre-sam', roles: ['sre'] }).send('scheduling', 'requestSlot', { commandId: 'c-2', changeRequestId: 'cr-1', at: '2026-12-03T10:30:00Z' })).rejects.toThrow(/closes at 2026-12-03T12:00Z/);
    await expect(host.commandsAs({ subject: 'sre-sam', roles: ['sre'] }).send('scheduling', 'requestSlot', { commandId: 'c-2', changeRequestId: 'cr-1', at: 'tomorrow' })).rejects.toMatchObject({ remoteName: 'ValidationError' });
    expect(await types(store, 'schedule-cr-1')).toEqual(['DeploymentScheduled']);

    const moved = await host.commandsAs({ subject: 'sre-sam', roles: ['sre'] }).send('scheduling', 'requestSlot', { commandId: 'c-3', changeRequestId: 'cr-1', at: '2026-12-03T10:00:00Z', actor: 'sre-sam' });
    expect(moved).toMatchObject({ scheduledFor: '2026-12-03T10:00:00.000Z', windowId: 'tue-thu-morning', duplicate: false });
    const [, rescheduled] = await store.readStream('schedule-cr-1');
    expect(rescheduled).toMatchObject({ type: 'DeploymentRescheduled', data: { previousScheduledFor: '2026-12-01T10:00:00.000Z' }, metadata: { actor: 'sre-sam', causationId: 'c-3' } });
    // The same command id again is a duplicate: nothing new.
    expect(await host.commandsAs({ subject: 'sre-sam', roles: ['sre'] }).send('scheduling', 'requestSlot', { commandId: 'c-3', changeRequestId: 'cr-1', at: '2026-12-03T10:00:00Z', actor: 'sre-sam' })).toMatchObject({ duplicate: true });
    expect(await store.readStream('schedule-cr-1')).toHaveLength(2);
  });
});
