import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchStreamId } from '@gatehouse/contracts';
import { alertDeliveryEffectId, alertDeliveryStreamId, MS_PER_SECOND, settableClock, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { PolicyRegistry, type EmbeddedHost, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { createMonitoringService } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const DEPLOY_START = '2026-12-01T10:00:00.000Z';
const SCRAPE_MS = 30 * MS_PER_SECOND;
const METRIC_SOURCE = { subject: 'metrics-bot', roles: ['release_engineer'] };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A local webhook receiver (real HTTP): /slack accepts, /sms fails once with 503 then accepts,
 * /email always answers 500.
 */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const smsSeen = new Set<string>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
      const key = String(req.headers['idempotency-key']);
      if (req.url === '/email') return void res.writeHead(500).end('relay down');
      if (req.url === '/sms' && !smsSeen.has(key)) {
        smsSeen.add(key);
        return void res.writeHead(503).end('busy');
      }
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('alert delivery to webhooks and the automatic rollback limit (embedded monitoring, local HTTP receiver)', () => {
  let store: AuditableEventStore;
  let clock: SettableClock;
  let host: EmbeddedHost;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let batch = 0;

  async function startHost(): Promise<void> {
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const monitoring = createMonitoringService({
      timerCheckIntervalMs: 10,
      env: {},
      alertDelivery: {
        channels: { slack: { url: `${receiver.url}/slack`, to: [] }, email: { url: `${receiver.url}/email`, to: ['oncall@example.com'] }, sms: { url: `${receiver.url}/sms`, to: ['+15550100'] } },
        maxAttempts: 3,
        backoffMs: 5,
      },
    });
    host = await startEmbeddedServices([monitoring], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
  }

  beforeAll(async () => {
    receiver = await startReceiver();
    store = createInMemoryEventStore();
    clock = settableClock(DEPLOY_START);
    await startHost();
  });
  afterAll(async () => {
    await host.stop();
    await store.close();
    await receiver.close();
  });

  async function startDeployment(changeRequestId: string): Promise<void> {
    await store.appendToStream(`deployment-${changeRequestId}`, [
      {
        type: 'DeploymentStarted',
        data: { deploymentId: `dep-${changeRequestId}`, changeRequestId, service: 'checkout', version: '2.4.0', previousVersion: '2.3.0', environment: 'production', strategy: 'canary', steps: [], startedAt: clock.now().toISOString() },
        metadata: { actor: 'deployments', correlationId: changeRequestId },
      },
    ]);
    await waitFor(async () => (await store.readStream(watchStreamId(changeRequestId))).length >= 2);
  }
  async function push(metric: string, values: number[]) {
    const fired: Array<{ triggerId: string; action: string }> = [];
    for (const value of values) {
      clock.advance(SCRAPE_MS);
      batch += 1;
      const reply = await host.commandsAs(METRIC_SOURCE).send<{ fired: typeof fired }>('monitoring', 'recordSamples', {
        commandId: `alerts-batch-${batch}`,
        service: 'checkout',
        environment: 'production',
        samples: [{ metric, at: clock.now().toISOString(), value }],
      });
      fired.push(...reply.fired);
    }
    return fired;
  }
  const deliveries = async (alert: StoredEvent) => store.readStream(alertDeliveryStreamId(alert.id));

  it('delivers a critical alert to Slack, email and SMS with retries, records sent / failed after N attempts, and sends nothing again in its cooldown or on redelivery', async () => {
    await startDeployment('cr-alerts-1');
    // high-error-rate: "rate(http_requests_total{status=~"5.."}[5m]) > 0.05", critical → slack, email, sms; cooldown 5 min.
    expect(await push('high-error-rate', [0.08])).toEqual([{ triggerId: 'high-error-rate', action: 'alert' }]);
    const alert = (await store.readStream(watchStreamId('cr-alerts-1'))).find((e) => e.type === 'AlertRaised')!;
    expect(alert.data).toMatchObject({ rule: 'high-error-rate', severity: 'critical', channels: ['slack', 'email', 'sms'] });
    await waitFor(async () => (await deliveries(alert)).filter((e) => e.type === 'AlertDelivered' || e.type === 'AlertDeliveryFailed').length === 3);

    const records = (await deliveries(alert)).filter((e) => e.type !== 'AlertDeliveryIntended').map((e) => [e.type, (e.data as { channel: string }).channel, (e.data as { attempts: number }).attempts]);
    expect(records).toEqual(
      expect.arrayContaining([
        ['AlertDelivered', 'slack', 1],
        ['AlertDelivered', 'sms', 2],
        ['AlertDeliveryFailed', 'email', 3],
      ]),
    );
    const failed = (await deliveries(alert)).find((e) => e.type === 'AlertDeliveryFailed')!;
    expect((failed.data as { detail: string }).detail).toBe('failed after 3 attempts: HTTP 500: relay down');
    // Every intent is recorded before its webhook is called.
    const types = (await deliveries(alert)).map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['AlertDeliveryIntended', 'AlertDeliveryIntended', 'AlertDeliveryIntended']);

    expect(receiver.received.map((r) => r.path).sort()).toEqual(['/email', '/email', '/email', '/slack', '/sms', '/sms']);
    const slack = receiver.received.find((r) => r.path === '/slack')!;
    expect(slack.headers['content-type']).toBe('application/json');
    expect(slack.headers['idempotency-key']).toBe(`${alert.id}:deliver:slack`);
    expect(slack.body['text']).toContain('[CRITICAL] high-error-rate — checkout in production');
    expect(receiver.received.find((r) => r.path === '/email')!.body).toMatchObject({ channel: 'email', to: ['oncall@example.com'], subject: '[CRITICAL] high-error-rate — checkout in production' });
    expect(receiver.received.find((r) => r.path === '/sms')!.body).toMatchObject({ channel: 'sms', to: ['+15550100'] });

    // Still breaching inside the 5 min cooldown: no new alert, nothing sent.
    const before = receiver.received.length;
    expect(await push('high-error-rate', [0.09, 0.1])).toEqual([]);
    // Redelivery of every watch event (restart from position 0): the delivery command ids are taken, nothing is sent twice.
    await host.stop();
    await store.storeCheckpoint('monitoring-alerts', 0n);
    await startHost();
    await sleep(300);
    expect(receiver.received).toHaveLength(before);
    await store.appendToStream('deployment-cr-alerts-1', [{ type: 'DeploymentRolledBack', data: { deploymentId: 'dep-cr-alerts-1', changeRequestId: 'cr-alerts-1' }, metadata: { actor: 'deployments' } }]);
    await waitFor(async () => (await store.readStream(watchStreamId('cr-alerts-1'))).some((e) => e.type === 'PostDeploymentWatchEnded'));
  });

  it('after 3 automatic rollbacks in a row the next breach rolls nothing back: it pages a human (slack, sms) with the evidence', async () => {
    for (const n of [1, 2, 3]) {
      const cr = `cr-limit-${n}`;
      await startDeployment(cr);
      const fired = await push('error_rate', Array(11).fill(0.02));
      expect(fired.filter((f) => f.action === 'rollback')).toEqual([{ triggerId: 'error-rate-above-1-percent', action: 'rollback' }]);
      await store.appendToStream(`deployment-${cr}`, [{ type: 'DeploymentRolledBack', data: { deploymentId: `dep-${cr}`, changeRequestId: cr }, metadata: { actor: 'deployments' } }]);
      await waitFor(async () => (await store.readStream(watchStreamId(cr))).some((e) => e.type === 'PostDeploymentWatchEnded'));
    }
    await startDeployment('cr-limit-4');
    const started = (await store.readStream(watchStreamId('cr-limit-4')))[0]!;
    expect(started.data).toMatchObject({ automaticRollbacks: { max: 3, consecutive: 3, pageChannels: ['slack', 'sms'] } });
    const fired = await push('error_rate', Array(11).fill(0.02));
    expect(fired.filter((f) => f.action === 'rollback')).toEqual([]);
    const events = await store.readStream(watchStreamId('cr-limit-4'));
    expect(events.map((e) => e.type)).not.toContain('RollbackTriggerFired');
    const reached = events.find((e) => e.type === 'AutomaticRollbackLimitReached')!;
    expect(reached.data).toMatchObject({
      triggerId: 'error-rate-above-1-percent',
      consecutive: 3,
      max: 3,
      evidence: { metric: 'error_rate', threshold: 0.01, heldSeconds: 300, source: 'pushed', revisionRestored: '2.3.0' },
    });
    expect((reached.data as { reason: string }).reason).toContain('rolled back automatically 3 times in a row');
    // Once per watch: further breaches page no more.
    expect((await push('error_rate', Array(3).fill(0.2))).filter((f) => f.action === 'rollback')).toEqual([]);
    expect((await store.readStream(watchStreamId('cr-limit-4'))).filter((e) => e.type === 'AutomaticRollbackLimitReached')).toHaveLength(1);

    await waitFor(async () => (await deliveries(reached)).filter((e) => e.type === 'AlertDelivered').length === 2);
    const pages = receiver.received.filter((r) => String(r.headers['idempotency-key']).startsWith(reached.id));
    expect(pages.find((r) => r.path === '/slack')!.body['text']).toContain('[CRITICAL] PAGE: error-rate-above-1-percent — checkout in production');
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('alert delivery left open by another replica (or before a restart)', () => {
  it('is resumed from the store by a replica that never saw it start, and delivered once', async () => {
    const receiver = await startReceiver();
    const store = createInMemoryEventStore();
    const clock = settableClock(DEPLOY_START);
    // What a replica that crashed between recording the intent and calling the webhook left behind.
    const alertId = 'evt-alert-1';
    const message = { alertId, kind: 'alert', rule: 'latency-p99', severity: 'warning', changeRequestId: 'cr-9', service: 'checkout', environment: 'production', summary: 'p99 above 800 ms', raisedAt: DEPLOY_START };
    await store.appendToStream(alertDeliveryStreamId(alertId), [
      { type: 'AlertDeliveryIntended', data: { effectId: alertDeliveryEffectId(alertId, 'slack'), channel: 'slack', message, at: DEPLOY_START }, metadata: { actor: 'monitoring' } },
    ]);
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const monitoring = createMonitoringService({
      timerCheckIntervalMs: 10,
      env: {},
      effectLeaseMs: 0,
      alertDelivery: { channels: { slack: { url: `${receiver.url}/slack`, to: [] } }, maxAttempts: 3, backoffMs: 5 },
    });
    const host = await startEmbeddedServices([monitoring], { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 });
    try {
      await waitFor(async () => (await store.readStream(alertDeliveryStreamId(alertId))).some((e) => e.type === 'AlertDelivered'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await store.readStream(alertDeliveryStreamId(alertId))).map((e) => e.type)).toEqual(['AlertDeliveryIntended', 'AlertDeliveryAttemptClaimed', 'AlertDelivered']);
      expect(receiver.received.filter((r) => r.path === '/slack')).toHaveLength(1);
    } finally {
      await host.stop();
      await store.close();
      await receiver.close();
    }
  });
});
