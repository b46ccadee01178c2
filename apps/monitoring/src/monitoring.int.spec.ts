import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandFailedError } from '@gatehouse/bus';
import { MAX_SAMPLES_PER_BATCH, watchStreamId } from '@gatehouse/contracts';
import { MS_PER_HOUR, MS_PER_SECOND, settableClock, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { PolicyRegistry, type EmbeddedHost, type ServiceDefinition, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { createMonitoringService } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
// Production Tuesday window after Black Friday week.
const DEPLOY_START = '2026-12-01T10:00:00.000Z';
const SCRAPE_MS = 30 * MS_PER_SECOND;
const CR = 'cr-checkout-2-4-0';

/**
 * Stands in for the deployments service's command side: records any rollback command sent to it. Monitoring must
 * send none: the rollback a trigger asks for is owned by deployments' rollback workflow, which reads the trigger event.
 */
/** Who pushes samples: a metric source, as the gateway would sign it. */
const METRIC_SOURCE = { subject: 'metrics-bot', roles: ['release_engineer'] };

function fakeDeployments(calls: Array<Record<string, unknown>>): ServiceDefinition {
  return {
    name: 'deployments',
    async start({ commands }) {
      const unregister = await commands.register('deployments', 'rollback', async (payload) => {
        const p = payload as Record<string, unknown>;
        const duplicate = calls.some((c) => c.commandId === p.commandId);
        if (!duplicate) calls.push(p);
        return { duplicate };
      });
      return { stop: unregister };
    },
  };
}

describe('monitoring service (embedded)', () => {
  let store: AuditableEventStore;
  let clock: SettableClock;
  let host: EmbeddedHost;
  let rollbacks: Array<Record<string, unknown>>;
  let sampleBatch = 0;

  async function startHost(): Promise<void> {
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    host = await startEmbeddedServices([fakeDeployments(rollbacks), createMonitoringService({ timerCheckIntervalMs: 10 })], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
  }

  beforeEach(async () => {
    store = await createInMemoryEventStore();
    clock = settableClock(DEPLOY_START);
    rollbacks = [];
    sampleBatch = 0;
    await startHost();
  });
  afterEach(async () => {
    await host.stop();
    await store.close();
  });

  const watchEvents = () => store.readStream(watchStreamId(CR));
  const typesOf = (events: StoredEvent[]) => events.map((e) => e.type);

  async function deploymentEvent(type: string, data: Record<string, unknown>): Promise<StoredEvent> {
    const { events } = await store.appendToStream(`deployment-${CR}`, [{ type, data, metadata: { actor: 'deployments', correlationId: 'corr-1' } }]);
    return events[0]!;
  }

  async function startProductionDeployment(): Promise<StoredEvent> {
    const started = await deploymentEvent('DeploymentStarted', {
      deploymentId: `dep-${CR}`,
      changeRequestId: CR,
      releaseId: 'rel-checkout-2-4-0',
      service: 'checkout',
      version: '2.4.0',
      environment: 'production',
      strategy: 'canary',
      steps: [5, 25, 100].map((trafficPercent, index) => ({ index, name: `canary-${trafficPercent}`, trafficPercent, durationMinutes: 40, analysis: true })),
      startedAt: DEPLOY_START,
    });
    await waitFor(async () => (await watchEvents()).length === 2);
    return started;
  }

  /** Pushes one scrape per batch, moving the clock to each sample, as a metric source would. */
  async function pushErrorRate(values: number[], metric = 'error_rate') {
    const results = [];
    for (const value of values) {
      clock.advance(SCRAPE_MS);
      sampleBatch += 1;
      results.push(
        await host.commandsAs(METRIC_SOURCE).send<{ fired: Array<{ triggerId: string; action: string }> }>('monitoring', 'recordSamples', {
          commandId: `batch-${sampleBatch}`,
          service: 'checkout',
          environment: 'production',
          samples: [{ metric, at: clock.now().toISOString(), value }],
        }),
      );
    }
    return results.flatMap((r) => r.fired);
  }

  it('starts a 24 h production watch carrying the environment triggers and alert rules when a deployment starts', async () => {
    await startProductionDeployment();
    const [started, armed] = await watchEvents();
    // Expected end = start + 3 × 40 min of canary + 24 h; re-armed from the actual completion.
    expect(started).toMatchObject({
      type: 'PostDeploymentWatchStarted',
      data: { changeRequestId: CR, deploymentId: `dep-${CR}`, service: 'checkout', environment: 'production', version: '2.4.0', enhanced: false, postDeploymentHours: 24, until: '2026-12-02T12:00:00.000Z' },
      metadata: { actor: 'monitoring', correlationId: 'corr-1' },
    });
    expect((started!.data as { rules: Array<{ id: string; durationSeconds: number }> }).rules.map((r) => [r.id, r.durationSeconds])).toEqual([
      ['error-rate-above-1-percent', 300],
      ['error-rate-above-10-percent', 300],
      ['slow-p95-response', 180],
      ['high-error-rate', 0],
      ['slow-response-time', 0],
    ]);
    expect(started!.metadata.policyVersion).toMatch(/^sha256:/);
    expect(armed).toMatchObject({ type: 'WatchTimerArmed', data: { dueAt: '2026-12-02T12:00:00.000Z', basis: 'expected_completion' } });
  });

  it('records healthy samples without firing anything', async () => {
    await startProductionDeployment();
    expect(await pushErrorRate(Array(12).fill(0.004))).toEqual([]);
    const events = await watchEvents();
    expect(typesOf(events).filter((t) => t === 'MetricSamplesRecorded')).toHaveLength(12);
    expect(typesOf(events)).not.toContain('RollbackTriggerFired');
    expect(rollbacks).toEqual([]);
  });

  it('fires one rollback trigger with the evidence once error_rate > 1% holds for 300 s, and leaves the rollback to its one owner', async () => {
    await startProductionDeployment();
    await pushErrorRate([0.004, 0.005]);
    // 10 breaching scrapes span 270 s: not sustained yet.
    expect(await pushErrorRate(Array(10).fill(0.02))).toEqual([]);
    expect(await pushErrorRate([0.021])).toEqual([{ triggerId: 'error-rate-above-1-percent', action: 'rollback' }]);
    // Still breaching, even past 10%: one rollback per watch, nothing more is asked.
    expect(await pushErrorRate([0.03, 0.15, 0.16])).toEqual([]);

    const fired = (await watchEvents()).filter((e) => e.type === 'RollbackTriggerFired');
    expect(fired).toHaveLength(1);
    expect(fired[0]!.data).toMatchObject({
      changeRequestId: CR,
      triggerId: 'error-rate-above-1-percent',
      action: 'rollback',
      evidence: { metric: 'error_rate', operator: '>', threshold: 0.01, durationSeconds: 300, heldSeconds: 300, windowStart: '2026-12-01T10:01:30.000Z', windowEnd: '2026-12-01T10:06:30.000Z' },
    });
    expect((fired[0]!.data as { evidence: { observed: unknown[] } }).evidence.observed).toHaveLength(11);

    // The firing event is the request: monitoring sends no rollback command of its own (deployments reacts to the event).
    await sleep(100);
    expect(rollbacks).toEqual([]);

    // Redelivery: the process managers see every event again after a restart from position 0.
    await host.stop();
    await store.storeCheckpoint('monitoring-deployments', 0n);
    await startHost();
    await sleep(150);
    expect(rollbacks).toEqual([]);
    const afterRedelivery = await watchEvents();
    expect(typesOf(afterRedelivery).filter((t) => t === 'RollbackTriggerFired' || t === 'PostDeploymentWatchStarted')).toEqual(['PostDeploymentWatchStarted', 'RollbackTriggerFired']);

    // The deployment rolls back: the watch ends (no validation follows) and takes no more samples.
    await deploymentEvent('DeploymentRolledBack', { deploymentId: `dep-${CR}`, changeRequestId: CR, reason: 'automatic rollback', initiator: 'automatic', at: clock.now().toISOString() });
    await waitFor(async () => typesOf(await watchEvents()).includes('PostDeploymentWatchEnded'));
    expect((await watchEvents()).at(-1)!.data).toMatchObject({ reason: 'rolled_back' });
    await expect(pushErrorRate([0.02])).rejects.toMatchObject({ remoteName: 'NoActiveWatchError' });
  });

  it('raises an alert rule once per cooldown while the breach continues', async () => {
    await startProductionDeployment();
    // slow-p95-response: response_time_p95 > 5 for 180 s, alert, 30 min cooldown.
    const firstHalfHour = await pushErrorRate(Array(60).fill(7), 'response_time_p95');
    expect(firstHalfHour).toEqual([{ triggerId: 'slow-p95-response', action: 'alert' }]);
    const afterCooldown = await pushErrorRate(Array(10).fill(7), 'response_time_p95');
    expect(afterCooldown).toEqual([{ triggerId: 'slow-p95-response', action: 'alert' }]);
    const alerts = (await watchEvents()).filter((e) => e.type === 'AlertRaised');
    expect(alerts.map((e) => e.data)).toEqual([
      expect.objectContaining({ rule: 'slow-p95-response', severity: 'warning', raisedAt: '2026-12-01T10:03:30.000Z' }),
      expect.objectContaining({ rule: 'slow-p95-response', severity: 'warning', raisedAt: '2026-12-01T10:33:30.000Z' }),
    ]);
    expect(rollbacks).toEqual([]);
  });

  it('completes the watch once, 24 h after the deployment succeeded', async () => {
    await startProductionDeployment();
    clock.set('2026-12-01T12:05:00Z');
    await deploymentEvent('DeploymentSucceeded', { deploymentId: `dep-${CR}`, changeRequestId: CR, releaseId: 'rel-checkout-2-4-0', service: 'checkout', version: '2.4.0', environment: 'production', completedAt: '2026-12-01T12:05:00.000Z' });
    await waitFor(async () => (await watchEvents()).some((e) => e.type === 'WatchTimerArmed' && (e.data as { basis: string }).basis === 'deployment_succeeded'));
    expect((await watchEvents()).at(-1)!.data).toMatchObject({ dueAt: '2026-12-02T12:05:00.000Z' });
    // Production analyses the watch: at least 5 error_rate samples after the success (here 2.5 min of healthy scrapes).
    await pushErrorRate([0.001, 0.002, 0.001, 0.001, 0.002]);

    clock.set('2026-12-02T12:04:59Z');
    await sleep(60);
    expect(typesOf(await watchEvents())).not.toContain('PostDeploymentWatchCompleted');

    clock.advance(1_000);
    await waitFor(async () => typesOf(await watchEvents()).includes('PostDeploymentWatchCompleted'));
    clock.advance(MS_PER_HOUR);
    await sleep(60);
    const completed = (await watchEvents()).filter((e) => e.type === 'PostDeploymentWatchCompleted');
    expect(completed).toHaveLength(1);
    expect(completed[0]!.data).toMatchObject({ changeRequestId: CR, deploymentId: `dep-${CR}`, environment: 'production', completedAt: '2026-12-02T12:05:00.000Z', analysis: { phase: 'Successful', samples: { error_rate: 5 } } });
    expect(completed[0]!.metadata.actor).toBe('monitoring');
  });

  describe('a watch without enough samples is inconclusive: it pauses for a person, never completes by itself', () => {
    const succeed = async () => {
      await startProductionDeployment();
      clock.set('2026-12-01T12:05:00Z');
      await deploymentEvent('DeploymentSucceeded', { deploymentId: `dep-${CR}`, changeRequestId: CR, releaseId: 'rel-checkout-2-4-0', service: 'checkout', version: '2.4.0', environment: 'production', completedAt: '2026-12-01T12:05:00.000Z' });
      await waitFor(async () => (await watchEvents()).some((e) => e.type === 'WatchTimerArmed' && (e.data as { basis: string }).basis === 'deployment_succeeded'));
      clock.set('2026-12-02T12:05:00Z');
      await waitFor(async () => typesOf(await watchEvents()).includes('PostDeploymentWatchPaused'));
    };
    const decide = (commandId: string, decision: 'promote' | 'abort', actorRoles: string[], reason?: string) =>
      host.commandsAs({ subject: 'sam', roles: actorRoles }).send('monitoring', 'decideWatch', { commandId, changeRequestId: CR, decision, actor: 'sam', ...(reason !== undefined && { reason }) });

    it('pauses with the reason; refuses other roles and a missing reason (nothing written); an SRE accepts it with a reason', async () => {
      await succeed();
      const paused = (await watchEvents()).at(-1)!;
      expect(paused.data).toMatchObject({ analysis: { phase: 'Inconclusive', reason: expect.stringContaining('no error_rate samples') }, decisionRoles: ['sre', 'release_engineer'], decideBy: '2026-12-02T13:05:00.000Z' });
      const length = (await watchEvents()).length;
      await expect(decide('d-1', 'promote', ['developer'], 'fine')).rejects.toMatchObject({ remoteName: 'AnalysisDecisionForbiddenError' });
      await expect(decide('d-2', 'promote', ['sre'])).rejects.toMatchObject({ remoteName: 'ReasonRequiredError' });
      expect(await watchEvents()).toHaveLength(length);
      expect(await decide('d-3', 'promote', ['sre'], 'exporter was down; checked the dashboards')).toMatchObject({ status: 'completed' });
      expect(typesOf((await watchEvents()).slice(-2))).toEqual(['WatchAnalysisDecided', 'PostDeploymentWatchCompleted']);
    });

    it('aborts by itself when nobody decides within the policy\'s time: the abort is what deployments rolls back on', async () => {
      await succeed();
      clock.advance(MS_PER_HOUR - 1_000);
      await sleep(60);
      expect(typesOf(await watchEvents())).not.toContain('PostDeploymentWatchAborted');
      clock.advance(1_000);
      await waitFor(async () => typesOf(await watchEvents()).includes('PostDeploymentWatchAborted'));
      expect((await watchEvents()).at(-1)).toMatchObject({ data: { actor: 'monitoring', reason: expect.stringContaining('no decision') }, metadata: { actor: 'monitoring' } });
      expect(typesOf(await watchEvents())).not.toContain('PostDeploymentWatchCompleted');
    });
  });

  it('watches an emergency change with enhanced, tighter rules', async () => {
    await store.appendToStream(`schedule-${CR}`, [{ type: 'DeploymentScheduled', data: { changeRequestId: CR, changeType: 'emergency', environment: 'production', service: 'checkout' } }]);
    await sleep(30);
    await startProductionDeployment();
    const [started] = await watchEvents();
    const rules = (started!.data as { enhanced: boolean; rules: Array<{ id: string; durationSeconds: number; threshold: number }> }).rules;
    expect(started!.data).toMatchObject({ enhanced: true });
    expect(rules.find((r) => r.id === 'error-rate-above-1-percent')).toMatchObject({ durationSeconds: 150 });
    expect(rules.find((r) => r.id === 'error-rate-above-1-percent-early-warning')).toMatchObject({ threshold: 0.005, durationSeconds: 150 });
  });

  describe('refusals: named errors and nothing written', () => {
    const send = (payload: Record<string, unknown>) => host.commandsAs(METRIC_SOURCE).send('monitoring', 'recordSamples', payload);
    const valid = { commandId: 'c-1', service: 'checkout', environment: 'production', samples: [{ metric: 'error_rate', at: '2026-12-01T10:00:00Z', value: 0.001 }] };

    it('refuses samples when no deployment of the service is watched there', async () => {
      await expect(send(valid)).rejects.toMatchObject({ remoteName: 'NoActiveWatchError' });
    });

    it.each([
      ['an unknown metric', { samples: [{ metric: 'cpu_temperature', at: '2026-12-01T10:00:00Z', value: 1 }] }, 'samples.0.metric'],
      ['a non-finite value', { samples: [{ metric: 'error_rate', at: '2026-12-01T10:00:00Z', value: Number.NaN }] }, 'samples.0.value'],
      ['a non-ISO instant', { samples: [{ metric: 'error_rate', at: 'Dec 1', value: 0.1 }] }, 'samples.0.at'],
      ['a sample from the future', { samples: [{ metric: 'error_rate', at: '2026-12-01T11:00:00Z', value: 0.1 }] }, 'samples.0.at'],
      ['an empty batch', { samples: [] }, 'samples'],
      ['an oversized batch', { samples: Array(MAX_SAMPLES_PER_BATCH + 1).fill(valid.samples[0]) }, 'samples'],
      ['an unknown field', { priority: 'high' }, ''],
      ['a missing commandId', { commandId: undefined }, 'commandId'],
    ])('refuses %s with ValidationError naming the field', async (_, change, field) => {
      await startProductionDeployment();
      const before = await watchEvents();
      const error = await send({ ...valid, ...change }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CommandFailedError);
      expect(error).toMatchObject({ remoteName: 'ValidationError' });
      expect(JSON.stringify((error as CommandFailedError).details)).toContain(`"field":"${field}"`);
      expect(await watchEvents()).toHaveLength(before.length);
    });
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
