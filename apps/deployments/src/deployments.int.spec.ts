import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NoFlagBoundError, settableClock, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { type EmbeddedHost, PolicyRegistry, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { createDeploymentsService, type DeploymentTarget, SandboxTarget } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const MINUTE = 60_000;
const workload = { service: 'campaign-api', environment: 'production' };

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
/** The SRE the gateway would sign these commands for (the payloads name her as actor). */
const SAM = { subject: 'sre-sam', roles: ['sre'] };
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('deployments service', () => {
  let store: AuditableEventStore;
  let clock: SettableClock;
  let policies: PolicyRegistry;
  let sandbox: SandboxTarget;
  const hosts: EmbeddedHost[] = [];
  const start = async (effectLeaseMs?: number, target: DeploymentTarget = sandbox) => {
    const host = await startEmbeddedServices([createDeploymentsService({ target, tickIntervalMs: 5, ...(effectLeaseMs !== undefined && { effectLeaseMs }) })], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
    hosts.push(host);
    return host;
  };
  const stream = (crId = 'cr-1') => store.readStream(`deployment-${crId}`);
  const find = (type: string, predicate: (e: StoredEvent) => boolean = () => true, crId = 'cr-1') => async () => (await stream(crId)).find((e) => e.type === type && predicate(e));
  const stepStarted = (index: number, crId = 'cr-1') => waitFor(find('DeploymentStepStarted', (e) => (e.data as { index: number }).index === index, crId));
  /** What scheduling appends when the booked slot's timer fires. */
  const due = async (crId = 'cr-1') => {
    await store.appendToStream(`schedule-${crId}`, [
      {
        type: 'DeploymentDue',
        data: { changeRequestId: crId, releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production', changeType: 'normal', strategy: 'canary', dueAt: clock.now().toISOString() },
        metadata: { actor: 'scheduling', correlationId: `corr-${crId}`, causationId: `timer-${crId}` },
      },
    ]);
  };

  /** What monitoring records while a step runs: healthy error_rate scrapes of the last minutes (production analyses 5 per step). */
  const scraped = async (crId = 'cr-1', count = 5) => {
    const samples = Array.from({ length: count }, (_, i) => ({ metric: 'error_rate', at: new Date(clock.now().getTime() - i * MINUTE).toISOString(), value: 0.001 }));
    await store.appendToStream(`watch-${crId}`, [{ type: 'MetricSamplesRecorded', data: { changeRequestId: crId, deploymentId: 'x', environment: 'production', service: 'campaign-api', samples, recordedAt: clock.now().toISOString() } }]);
  };

  beforeEach(async () => {
    store = await createInMemoryEventStore();
    clock = settableClock('2026-12-01T10:00:00Z');
    policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    sandbox = new SandboxTarget({ clock, rolloutSeconds: 45, initialVersions: { 'campaign-api/production': '2.0.3' } });
  });
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.stop();
    await store.close();
  });

  it('runs the production canary 5% → 25% → 100%, each step once, waiting for each analysis; succeeds; late manual rollback needs an incident review', async () => {
    const host = await start();
    await due();
    const started = await waitFor(find('DeploymentStarted'));
    expect(started.data).toMatchObject({ changeRequestId: 'cr-1', version: '2.1.0', strategy: 'canary', previousVersion: '2.0.3', startedAt: '2026-12-01T10:00:00.000Z' });
    expect((started.data as { steps: { trafficPercent: number; durationMinutes: number }[] }).steps.map((s) => [s.trafficPercent, s.durationMinutes])).toEqual([[5, 40], [25, 40], [100, 40]]);
    expect(started.metadata).toMatchObject({ actor: 'deployments', correlationId: 'corr-cr-1', policyVersion: policies.current.policyVersion });

    for (const index of [0, 1, 2]) {
      await stepStarted(index);
      clock.advance(30 * MINUTE);
      await scraped();
      await settle(); // ready, but the analysis runs 40 min: no completion yet
      expect((await stream()).some((e) => e.type === 'DeploymentStepCompleted' && (e.data as { index: number }).index === index)).toBe(false);
      clock.advance(10 * MINUTE);
    }
    const succeeded = await waitFor(find('DeploymentSucceeded'));
    expect(succeeded.data).toMatchObject({ version: '2.1.0', environment: 'production', completedAt: '2026-12-01T12:00:00.000Z' });
    expect((await stream()).filter((e) => e.type === 'DeploymentStepCompleted').map((e) => (e.data as { analysis: { phase: string } }).analysis.phase)).toEqual(['Successful', 'Successful', 'Successful']);
    expect((await stream()).map((e) => `${e.type}${typeof (e.data as { index?: number }).index === 'number' ? `#${(e.data as { index: number }).index}` : ''}`)).toEqual([
      'DeploymentStarted',
      'DeploymentStepStarted#0',
      'DeploymentStepApplied#0',
      'DeploymentStepCompleted#0',
      'DeploymentStepStarted#1',
      'DeploymentStepApplied#1',
      'DeploymentStepCompleted#1',
      'DeploymentStepStarted#2',
      'DeploymentStepApplied#2',
      'DeploymentStepCompleted#2',
      'DeploymentSucceeded',
    ]);
    expect(sandbox.operations.map((o) => (o.kind === 'apply' ? o.step.trafficPercent : 'rollback'))).toEqual([5, 25, 100]);
    expect((await sandbox.status(workload)).stableVersion).toBe('2.1.0');

    // 5 h after completion: beyond production's 240-minute manual window.
    clock.advance(5 * 60 * MINUTE);
    const late = host.commandsAs(SAM).send('deployments', 'rollback', { commandId: 'rb-1', changeRequestId: 'cr-1', reason: 'regression', initiator: 'manual', actor: 'sre-sam' });
    await expect(late).rejects.toMatchObject({ remoteName: 'RollbackWindowExpiredError' });
    expect(await stream()).toHaveLength(11);
    expect(sandbox.operations).toHaveLength(3);
    const withReview = await host.commandsAs(SAM).send('deployments', 'rollback', { commandId: 'rb-2', changeRequestId: 'cr-1', reason: 'regression', initiator: 'manual', actor: 'sre-sam', incidentReviewRef: 'INC-9' });
    expect(withReview).toMatchObject({ status: 'rolled_back', duplicate: false });
    const [intent, outcome] = (await stream()).slice(-2);
    expect(intent).toMatchObject({ type: 'DeploymentRollbackRequested', data: { ending: 'rolled_back', toVersion: '2.0.3', basis: 'incident_review' }, metadata: { actor: 'sre-sam', causationId: 'rb-2' } });
    expect(outcome).toMatchObject({ type: 'DeploymentRolledBack', data: { basis: 'incident_review', incidentReviewRef: 'INC-9', previousVersion: '2.0.3' }, metadata: { actor: 'sre-sam' } });
  });

  it('a manual rollback mid-plan restores the previous version and stops the plan', async () => {
    const host = await start();
    await due();
    await stepStarted(0);
    clock.advance(40 * MINUTE);
    await scraped();
    await stepStarted(1);
    const reply = await host.commandsAs(SAM).send('deployments', 'rollback', { commandId: 'rb-1', changeRequestId: 'cr-1', reason: 'p95 latency doubled', initiator: 'manual', actor: 'sre-sam', correlationId: 'corr-x' });
    expect(reply).toMatchObject({ status: 'rolled_back', duplicate: false });
    // Intent first (the person's command), then the cluster, then the outcome.
    const [intent, rolledBack] = (await stream()).slice(-2);
    expect(intent).toMatchObject({ type: 'DeploymentRollbackRequested', data: { ending: 'rolled_back', toVersion: '2.0.3' }, metadata: { actor: 'sre-sam', causationId: 'rb-1', correlationId: 'corr-x' } });
    expect(rolledBack).toMatchObject({
      type: 'DeploymentRolledBack',
      data: { reason: 'p95 latency doubled', initiator: 'manual', actor: 'sre-sam', previousVersion: '2.0.3', basis: 'within_window', at: '2026-12-01T10:40:00.000Z' },
      metadata: { actor: 'sre-sam', causationId: `${(intent!.data as { effectId: string }).effectId}:outcome`, correlationId: 'corr-x' },
    });
    expect(await sandbox.status(workload)).toEqual({ stableVersion: '2.0.3', state: 'idle' });
    // Repeating the command is a duplicate; the plan goes no further.
    expect(await host.commandsAs(SAM).send('deployments', 'rollback', { commandId: 'rb-1', changeRequestId: 'cr-1', reason: 'p95 latency doubled', initiator: 'manual', actor: 'sre-sam' })).toMatchObject({ duplicate: true });
    clock.advance(3 * 60 * MINUTE);
    await settle();
    expect((await stream()).filter((e) => e.type === 'DeploymentStepStarted')).toHaveLength(2);
    expect(sandbox.operations.map((o) => o.kind)).toEqual(['apply', 'apply', 'rollback']);
  });

  it('resumes after a restart mid-plan without applying any step twice', async () => {
    const first = await start();
    await due();
    await stepStarted(0);
    clock.advance(40 * MINUTE);
    await scraped();
    await stepStarted(1);
    await settle();
    await first.stop();
    hosts.splice(hosts.indexOf(first), 1);

    clock.advance(40 * MINUTE);
    await scraped();
    await start();
    await stepStarted(2);
    clock.advance(40 * MINUTE);
    await scraped();
    await waitFor(find('DeploymentSucceeded'));
    const steps = (await stream()).filter((e) => e.type === 'DeploymentStepStarted').map((e) => (e.data as { index: number }).index);
    expect(steps).toEqual([0, 1, 2]);
    expect(sandbox.operations.map((o) => (o.kind === 'apply' ? o.step.index : o.kind))).toEqual([0, 1, 2]);
  });

  it('promotes a step early on request, and rolls back automatically with the trigger evidence', async () => {
    const host = await start();
    await due();
    await stepStarted(0);
    expect(await host.commandsAs(SAM).send('deployments', 'promote', { commandId: 'p-1', changeRequestId: 'cr-1', actor: 'sre-sam' })).toMatchObject({ status: 'running' });
    const promoted = await waitFor(find('DeploymentStepCompleted'));
    expect(promoted.data).toMatchObject({ index: 0, promotedBy: 'sre-sam', at: '2026-12-01T10:00:00.000Z' });
    await stepStarted(1);

    const evidence = { metric: 'error_rate', threshold: 0.01, observed: [0.04, 0.05], windowSeconds: 300 };
    await store.appendToStream('watch-cr-1', [
      {
        type: 'RollbackTriggerFired',
        data: { changeRequestId: 'cr-1', deploymentId: 'x', environment: 'production', service: 'campaign-api', triggerId: 'error-rate-above-1-percent', action: 'rollback', reason: 'error_rate > 0.01 held for 300 s', evidence, firedAt: clock.now().toISOString() },
        metadata: { actor: 'monitoring', correlationId: 'corr-cr-1' },
      },
    ]);
    const rolledBack = await waitFor(find('DeploymentRolledBack'));
    expect(rolledBack.data).toMatchObject({ initiator: 'automatic', actor: 'monitoring', evidence: { triggerId: 'error-rate-above-1-percent', ...evidence }, previousVersion: '2.0.3' });
    expect(rolledBack.metadata).toMatchObject({ correlationId: 'corr-cr-1' });
    expect((await sandbox.status(workload)).stableVersion).toBe('2.0.3');
  });

  it('a failing step fails the deployment and restores the previous version; bad input and abort of a finished plan are refused, nothing written', async () => {
    sandbox.failStep(workload, 1);
    const host = await start();
    await due();
    await stepStarted(0);
    clock.advance(40 * MINUTE);
    await scraped();
    await stepStarted(1);
    clock.advance(MINUTE);
    const failed = await waitFor(find('DeploymentFailed'));
    expect((failed.data as { reason: string }).reason).toContain('CrashLoopBackOff');
    expect(await sandbox.status(workload)).toEqual({ stableVersion: '2.0.3', state: 'idle' });

    const length = (await stream()).length;
    await expect(host.commandsAs(SAM).send('deployments', 'abort', { commandId: 'a-1', changeRequestId: 'cr-1', reason: 'stop', actor: 'sre-sam' })).rejects.toMatchObject({ remoteName: 'IllegalTransitionError' });
    await expect(host.commandsAs(SAM).send('deployments', 'abort', { commandId: 'a-2', changeRequestId: 'cr-1', actor: 'sre-sam', extra: 1 })).rejects.toMatchObject({ remoteName: 'ValidationError' });
    await expect(host.commandsAs(SAM).send('deployments', 'promote', { commandId: 'p-1', changeRequestId: 'cr-unknown', actor: 'sre-sam' })).rejects.toMatchObject({ remoteName: 'NotFoundError' });
    expect(await stream()).toHaveLength(length);
  });

  it('aborts a running deployment, restoring the previous version', async () => {
    const host = await start();
    await due();
    await stepStarted(0);
    expect(await host.commandsAs(SAM).send('deployments', 'abort', { commandId: 'a-1', changeRequestId: 'cr-1', reason: 'wrong build', actor: 'sre-sam' })).toMatchObject({ status: 'aborted' });
    const [intent, aborted] = (await stream()).slice(-2);
    expect(intent).toMatchObject({ type: 'DeploymentRollbackRequested', data: { ending: 'aborted', toVersion: '2.0.3' }, metadata: { causationId: 'a-1' } });
    expect(aborted).toMatchObject({ type: 'DeploymentAborted', data: { reason: 'wrong build', actor: 'sre-sam' }, metadata: { actor: 'sre-sam' } });
    expect((await sandbox.status(workload)).stableVersion).toBe('2.0.3');
  });

  it('a start refused by the target is recorded once, however many replicas and redeliveries see the due event; it starts once the cluster is back', async () => {
    let reachable = false;
    let refusing = 0;
    let bothRefusing: () => void = () => {};
    const bothAsked = new Promise<void>((resolve) => (bothRefusing = resolve));
    const unreachableCluster: DeploymentTarget = {
      apply: (step) => sandbox.apply(step),
      status: (ref) => sandbox.status(ref),
      rollback: (to) => sandbox.rollback(to),
      preflight: async () => {
        if (reachable) return;
        // The two replicas refuse the same due event at the same time: both go on to record it together.
        if (++refusing === 2) bothRefusing();
        await bothAsked;
        throw new Error('cluster prod-k8s-cluster-01: the API server (/version) is unreachable: connect ECONNREFUSED');
      },
    };
    await Promise.all([start(undefined, unreachableCluster), start(undefined, unreachableCluster)]);
    await due();
    const dueEvent = (await store.readStream('schedule-cr-1'))[0]!;
    const refusals = async () => (await store.readStream(`kubernetes-${dueEvent.id}`)).filter((e) => e.type === 'KubernetesDeploymentRefused');
    await waitFor(async () => ((await refusals()).length > 0 ? true : undefined));
    await settle();
    // A restart replays the due event (a redelivery of the same refusal): still one.
    for (const host of hosts.splice(0)) await host.stop();
    await start(undefined, unreachableCluster);
    await settle();
    expect(refusing).toBeGreaterThanOrEqual(3);
    expect(await refusals()).toHaveLength(1);
    expect((await refusals())[0]).toMatchObject({ data: { deploymentId: dueEvent.id, changeRequestId: 'cr-1', reason: expect.stringContaining('ECONNREFUSED') }, metadata: { actor: 'deployments', correlationId: 'corr-cr-1' } });
    expect(await stream()).toEqual([]);

    reachable = true;
    for (const host of hosts.splice(0)) await host.stop();
    await start(undefined, unreachableCluster);
    await stepStarted(0);
    expect((await stream()).filter((e) => e.type === 'DeploymentStarted')).toHaveLength(1);
    expect(await refusals()).toHaveLength(1);
  });

  describe('a feature-flag deployment ramps the flags bound to its service (flags.* on change-requests, stubbed here)', () => {
    const LEASE_MS = 50;
    const flagDue = () =>
      store.appendToStream('schedule-cr-1', [
        {
          type: 'DeploymentDue',
          data: { changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'development', changeType: 'normal', strategy: 'feature-flag', dueAt: clock.now().toISOString() },
          metadata: { actor: 'scheduling', correlationId: 'corr-cr-1' },
        },
      ]);
    /** The flags service as change-requests serves it, with `ramp` standing in for `rampFlags`; no flag is bound. */
    const flagsService = async (host: EmbeddedHost, ramp: () => Promise<unknown>) => {
      await host.commands.register('flags', 'flagsOfService', async () => ({ flags: [] }));
      await host.commands.register('flags', 'rampFlags', ramp);
      await host.commands.register('flags', 'turnOffFlags', async () => ({ flags: [] }));
    };
    const types = async () => (await stream()).map((e) => e.type);

    beforeEach(() => {
      sandbox = new SandboxTarget({ clock, rolloutSeconds: 45, initialVersions: { 'campaign-api/development': '2.0.3' } });
    });

    it('with no flag bound to the service, fails at once naming the refused effect and why, restores the previous version, and never retries', async () => {
      let ramps = 0;
      const host = await start(LEASE_MS);
      await flagsService(host, async () => {
        ramps++;
        throw new NoFlagBoundError('campaign-api', 'development');
      });
      await flagDue();
      const failed = await waitFor(find('DeploymentFailed'));
      expect(failed.data).toMatchObject({ environment: 'development', reason: expect.stringMatching(/^step 0 \(.+\) failed: ApplyDeploymentStep was refused: no feature flag is bound to service campaign-api/) });
      expect(await types()).toEqual(['DeploymentStarted', 'DeploymentStepStarted', 'DeploymentEffectFailed', 'DeploymentRollbackRequested', 'DeploymentFailed']);
      expect((await stream())[2]).toMatchObject({ data: { effectId: expect.stringMatching(/:step-0:apply$/), effect: 'ApplyDeploymentStep', index: 0, attempt: 1 }, metadata: { actor: 'deployments' } });
      expect(await sandbox.status({ service: 'campaign-api', environment: 'development' })).toEqual({ stableVersion: '2.0.3', state: 'idle' });
      // Many leases and ticks later: no other attempt, no claim, nothing new.
      for (let i = 0; i < 5; i++) {
        clock.advance(10 * MINUTE);
        await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 10));
      }
      expect(ramps).toBe(1);
      expect(await types()).toHaveLength(5);
    });

    it('a transient failure of the flags service (not a refusal) is retried after its lease until the ramp goes through', async () => {
      let ramps = 0;
      const host = await start(LEASE_MS);
      await flagsService(host, async () => {
        if (++ramps === 1) throw new Error('flag store unavailable');
        return { flags: [] };
      });
      await flagDue();
      await waitFor(find('DeploymentStepApplied'));
      expect(await types()).toEqual(['DeploymentStarted', 'DeploymentStepStarted', 'DeploymentEffectClaimed', 'DeploymentStepApplied']);
      expect(ramps).toBe(2);
    });
  });

  describe('a step with too few samples (inconclusive analysis) pauses the rollout for a person', () => {
    const paused = () => waitFor(find('DeploymentPaused'));
    const promote = (host: EmbeddedHost, commandId: string, actorRoles: string[], reason?: string) =>
      host.commandsAs({ subject: 'sam', roles: actorRoles }).send('deployments', 'promote', { commandId, changeRequestId: 'cr-1', actor: 'sam', ...(reason !== undefined && { reason }) });

    it('pauses instead of passing, refuses a decision from other roles or without a reason (nothing written), goes on when an SRE promotes', async () => {
      const host = await start();
      await due();
      await stepStarted(0);
      clock.advance(40 * MINUTE); // no samples at all during the step
      const pause = await paused();
      expect(pause.data).toMatchObject({ index: 0, analysis: { phase: 'Inconclusive', samples: { error_rate: 0 } }, decisionRoles: ['sre', 'release_engineer'], decideBy: '2026-12-01T11:40:00.000Z' });
      clock.advance(10 * MINUTE);
      await settle();
      expect((await stream()).filter((e) => e.type === 'DeploymentStepStarted')).toHaveLength(1);

      const length = (await stream()).length;
      await expect(promote(host, 'p-dev', ['developer', 'tech_lead'], 'looks fine')).rejects.toMatchObject({ remoteName: 'AnalysisDecisionForbiddenError' });
      await expect(promote(host, 'p-noreason', ['sre'])).rejects.toMatchObject({ remoteName: 'ReasonRequiredError' });
      expect(await stream()).toHaveLength(length);

      expect(await promote(host, 'p-sre', ['sre'], 'exporter was down; dashboards healthy')).toMatchObject({ status: 'running' });
      const decided = await waitFor(find('InconclusiveAnalysisDecided'));
      expect(decided).toMatchObject({ data: { decision: 'promote', actor: 'sam', reason: 'exporter was down; dashboards healthy' }, metadata: { causationId: 'p-sre' } });
      await stepStarted(1);
    });

    it('aborts and rolls back by itself when no decision comes within the policy\'s time', async () => {
      await start();
      await due();
      await stepStarted(0);
      clock.advance(40 * MINUTE);
      await paused();
      clock.advance(59 * MINUTE);
      await settle();
      expect((await stream()).some((e) => e.type === 'DeploymentAborted')).toBe(false);
      clock.advance(MINUTE);
      const aborted = await waitFor(find('DeploymentAborted'));
      expect(aborted.data).toMatchObject({ actor: 'deployments', reason: expect.stringContaining('no decision on the inconclusive analysis of step 0') });
      expect(await sandbox.status(workload)).toEqual({ stableVersion: '2.0.3', state: 'idle' });
      expect(sandbox.operations.map((o) => o.kind)).toEqual(['apply', 'rollback']);
    });
  });

  it('a post-deployment watch aborted on an inconclusive analysis is rolled back by the one rollback owner, once', async () => {
    await start();
    await due();
    for (const index of [0, 1, 2]) {
      await stepStarted(index);
      clock.advance(39 * MINUTE);
      await scraped();
      clock.advance(MINUTE);
    }
    await waitFor(find('DeploymentSucceeded'));
    const aborted = {
      type: 'PostDeploymentWatchAborted',
      data: { changeRequestId: 'cr-1', deploymentId: 'x', environment: 'production', reason: 'no error_rate samples for 24 h; not risking it', actor: 'sre-sam', analysis: { phase: 'Inconclusive' }, abortedAt: clock.now().toISOString() },
      metadata: { actor: 'sre-sam', correlationId: 'corr-cr-1' },
    };
    await store.appendToStream('watch-cr-1', [aborted]);
    const rolledBack = await waitFor(find('DeploymentRolledBack'));
    expect(rolledBack.data).toMatchObject({ initiator: 'automatic', actor: 'sre-sam', reason: 'post-deployment watch aborted: no error_rate samples for 24 h; not risking it', evidence: { analysis: { phase: 'Inconclusive' } } });
    await store.appendToStream('watch-cr-1', [aborted]); // a second abort event (redelivery-like) changes nothing
    await settle();
    expect((await stream()).filter((e) => e.type === 'DeploymentRolledBack')).toHaveLength(1);
    expect(sandbox.operations.filter((o) => o.kind === 'rollback')).toHaveLength(1);
    expect((await sandbox.status(workload)).stableVersion).toBe('2.0.3');
  });

  describe('a crash between an intent and its outcome', () => {
    const LEASE_MS = 50;
    const ids = { deploymentId: 'dep-1', changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production' };
    const steps = [5, 25, 100].map((trafficPercent, index) => ({ index, name: `canary ${trafficPercent}%`, trafficPercent, durationMinutes: 40, analysis: true }));
    const step0 = { deploymentId: 'dep-1', changeRequestId: 'cr-1', index: 0, name: 'canary 5%', trafficPercent: 5 };
    /** What a deployments process had written when it was killed: the plan, and step 0's intent (its claim). */
    const killedAfterStepIntent = () =>
      store.appendToStream('deployment-cr-1', [
        { type: 'DeploymentStarted', data: { ...ids, strategy: 'canary', steps, previousVersion: '2.0.3', startedAt: clock.now().toISOString() }, metadata: { actor: 'deployments', causationId: 'due-1:StartDeployment' } },
        { type: 'DeploymentStepStarted', data: { ...step0, at: clock.now().toISOString(), analysisUntil: new Date(clock.now().getTime() + 40 * MINUTE).toISOString(), effectId: 'dep-1:step-0:apply' }, metadata: { actor: 'deployments', causationId: 'dep-1:step-0:start' } },
      ]);
    const types = async () => (await stream()).map((e) => e.type);

    it('on restart the step intended but never applied is applied once, and its outcome recorded after a claimed attempt', async () => {
      await killedAfterStepIntent();
      await start(LEASE_MS);
      const applied = await waitFor(find('DeploymentStepApplied'));
      expect(applied.data).toMatchObject({ index: 0, effectId: 'dep-1:step-0:apply' });
      expect(await types()).toEqual(['DeploymentStarted', 'DeploymentStepStarted', 'DeploymentEffectClaimed', 'DeploymentStepApplied']);
      expect((await stream())[2]).toMatchObject({ data: { effectId: 'dep-1:step-0:apply', attempt: 2 }, metadata: { causationId: 'dep-1:step-0:apply:attempt-2' } });
      await settle();
      expect(sandbox.operations.map((o) => (o.kind === 'apply' ? o.step.index : o.kind))).toEqual([0]);
    });

    it('on restart a step the killed process had already applied is not applied again; only the outcome is recorded', async () => {
      await killedAfterStepIntent();
      await sandbox.apply({ ...step0, service: ids.service, environment: ids.environment, version: ids.version });
      await start(LEASE_MS);
      await waitFor(find('DeploymentStepApplied'));
      await settle();
      expect(sandbox.operations).toHaveLength(1);
      expect((await types()).filter((t) => t === 'DeploymentStepApplied')).toHaveLength(1);
    });

    it('on restart a rollback intended but never performed restores the previous version once, then records DeploymentRolledBack', async () => {
      await killedAfterStepIntent();
      await sandbox.apply({ ...step0, service: ids.service, environment: ids.environment, version: ids.version });
      await store.appendToStream('deployment-cr-1', [
        { type: 'DeploymentStepApplied', data: { deploymentId: 'dep-1', changeRequestId: 'cr-1', index: 0, effectId: 'dep-1:step-0:apply', at: clock.now().toISOString() }, metadata: { actor: 'deployments' } },
        {
          type: 'DeploymentRollbackRequested',
          data: { ...ids, effectId: 'dep-1:restore:rolled_back', ending: 'rolled_back', toVersion: '2.0.3', reason: 'errors up', actor: 'sre-sam', initiator: 'manual', basis: 'within_window', requestedAt: clock.now().toISOString() },
          metadata: { actor: 'sre-sam', causationId: 'rb-1' },
        },
      ]);
      await start(LEASE_MS);
      const rolledBack = await waitFor(find('DeploymentRolledBack'));
      expect(rolledBack.data).toMatchObject({ reason: 'errors up', initiator: 'manual', actor: 'sre-sam', previousVersion: '2.0.3', basis: 'within_window' });
      await settle();
      expect(sandbox.operations.map((o) => o.kind)).toEqual(['apply', 'rollback']);
      expect(await sandbox.status(workload)).toEqual({ stableVersion: '2.0.3', state: 'idle' });
      expect((await types()).filter((t) => t === 'DeploymentRolledBack')).toHaveLength(1);
      // The plan stops there: no later step is started.
      clock.advance(3 * 60 * MINUTE);
      await settle();
      expect((await types()).filter((t) => t === 'DeploymentStepStarted')).toHaveLength(1);
    });

    it('a rollback whose cluster call fails is answered "restoring" (intent recorded) and completes once the cluster answers again', async () => {
      let unreachable = true;
      const flaky: DeploymentTarget = {
        apply: (step) => sandbox.apply(step),
        status: (ref) => sandbox.status(ref),
        rollback: async (to) => {
          if (unreachable) throw new Error('connect ECONNREFUSED cluster API');
          return sandbox.rollback(to);
        },
      };
      const host = await start(LEASE_MS, flaky);
      await due();
      await stepStarted(0);
      const reply = await host.commandsAs(SAM).send('deployments', 'rollback', { commandId: 'rb-1', changeRequestId: 'cr-1', reason: 'errors up', initiator: 'manual', actor: 'sre-sam' });
      expect(reply).toMatchObject({ status: 'restoring', duplicate: false });
      await settle();
      expect((await types()).filter((t) => t === 'DeploymentRolledBack')).toHaveLength(0);
      unreachable = false;
      await waitFor(find('DeploymentRolledBack'));
      await settle();
      expect(sandbox.operations.map((o) => o.kind)).toEqual(['apply', 'rollback']);
      // Each lease that ran out brought another claimed attempt, until one reached the cluster.
      const after = (await types()).slice((await types()).indexOf('DeploymentRollbackRequested'));
      expect(after.at(-1)).toBe('DeploymentRolledBack');
      expect(new Set(after.slice(1, -1))).toEqual(new Set(['DeploymentEffectClaimed']));
    });

    it('an intent still within its lease is left to its performer: nothing is claimed or performed', async () => {
      await killedAfterStepIntent();
      await start(60_000);
      await settle();
      expect(await types()).toEqual(['DeploymentStarted', 'DeploymentStepStarted']);
      expect(sandbox.operations).toEqual([]);
    });
  });
});
