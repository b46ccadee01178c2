/**
 * Automatic rollback from a real Prometheus. Debian's prometheus binary scrapes a prom-client workload every
 * second; the canary version of checkout starts failing 25% of its requests; the monitoring service reads the
 * canary's error ratio with query_range (real-speed clock: Prometheus data is real time) and the deployments
 * service rolls the canary back to the stable version, with the evidence on the trigger event.
 *
 * The policy is production's, with its durations shortened so a test takes seconds, not minutes: the
 * triggers hold for 5 s instead of 300 s and are evaluated every second over a 5 s rate window.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDeploymentsService, SandboxTarget } from '@gatehouse/deployments';
import { systemClock } from '@gatehouse/domain';
import { createInMemoryEventStore, type AuditableEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { createMonitoringService } from '@gatehouse/monitoring';
import { PolicyRegistry, startEmbeddedServices, type EmbeddedHost, type ServiceLogger } from '@gatehouse/service-kit';
import { REPO_ROOT, requirePrometheus, startPrometheus, startTestWorkload, type OwnPrometheus, type TestWorkload } from '@gatehouse/testing';
import { parse, stringify } from 'yaml';

const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const CR = 'cr-checkout-2-4-0';
const STABLE = '2.3.0';
const CANARY = '2.4.0';
/** Seconds a trigger must hold in the test policy (production: 300). */
const TEST_TRIGGER_SECONDS = 5;

/** deploy/policies with production's trigger durations and Prometheus intervals shortened for a test. */
async function shortenedPolicies(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-policies-'));
  await cp(path.join(REPO_ROOT, 'deploy/policies'), dir, { recursive: true });
  const file = path.join(dir, 'production.yaml');
  const policy = parse(await readFile(file, 'utf8')) as {
    rollback: { automatic: { triggers: Array<{ durationSeconds: number; intervalSeconds?: number }> } };
    monitoring: { prometheus: Record<string, number> };
  };
  for (const trigger of policy.rollback.automatic.triggers) {
    trigger.durationSeconds = TEST_TRIGGER_SECONDS;
    trigger.intervalSeconds = 1;
  }
  Object.assign(policy.monitoring.prometheus, { rateWindowSeconds: 5, intervalSeconds: 1, minPoints: 3 });
  await writeFile(file, stringify(policy));
  return dir;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const describeIf = requirePrometheus() ? describe : describe.skip;

describeIf('automatic rollback of a canary from Prometheus data (real Prometheus, real-speed clock)', () => {
  let workload: TestWorkload;
  let prometheus: OwnPrometheus;
  let store: AuditableEventStore;
  let host: EmbeddedHost;
  let target: SandboxTarget;
  let policiesDir: string;

  beforeAll(async () => {
    workload = await startTestWorkload({ service: 'checkout', versions: { [STABLE]: 0, [CANARY]: 0 } });
    prometheus = await startPrometheus({ targets: [workload.target], scrapeIntervalSeconds: 1 });
    policiesDir = await shortenedPolicies();
    store = createInMemoryEventStore();
    const policies = await PolicyRegistry.activateFromDirectory(store, policiesDir, systemClock);
    target = new SandboxTarget({ clock: systemClock, initialVersions: { 'checkout/production': STABLE } });
    host = await startEmbeddedServices(
      [createDeploymentsService({ target, tickIntervalMs: 200 }), createMonitoringService({ timerCheckIntervalMs: 200, prometheusUrl: prometheus.url, env: {} })],
      { store, clock: systemClock, policies, logger: quietLogger, pollIntervalMs: 20 },
    );
  }, 60_000);

  afterAll(async () => {
    await host?.stop();
    await store?.close();
    await prometheus?.close();
    await workload?.close();
    if (policiesDir) await rm(policiesDir, { recursive: true, force: true });
  });

  const watch = () => store.readStream(`watch-${CR}`);
  const deployment = () => store.readStream(`deployment-${CR}`);
  const find = (events: StoredEvent[], type: string) => events.find((e) => e.type === type);

  it('rolls the canary back to the stable version once 25% of its requests fail, with the Prometheus evidence', async () => {
    await store.appendToStream(`schedule-${CR}`, [
      {
        type: 'DeploymentDue',
        data: { changeRequestId: CR, releaseId: 'rel-checkout-2-4-0', service: 'checkout', version: CANARY, environment: 'production', strategy: 'canary', changeType: 'normal' },
        metadata: { actor: 'scheduling', correlationId: 'corr-prom' },
      },
    ]);
    const started = await waitFor('the watch started', async () => find(await watch(), 'PostDeploymentWatchStarted'));
    const rules = (started.data as { rules: Array<{ id: string; query?: string; intervalSeconds?: number }> }).rules;
    const errorRate = rules.find((r) => r.id === 'error-rate-above-1-percent')!;
    // The generated PromQL selects the canary version by the labels the policy names.
    expect(errorRate.query).toBe(
      '(sum (rate(http_requests_total{service="checkout",version="2.4.0",code=~"5.."}[5s])) or vector(0)) / sum (rate(http_requests_total{service="checkout",version="2.4.0"}[5s]))',
    );
    expect(started.data).toMatchObject({ stableVersion: STABLE, automaticRollbacks: { max: 3, consecutive: 0 } });

    // Healthy canary first: samples come from Prometheus, nothing fires.
    await waitFor('healthy samples read from Prometheus', async () => {
      const recorded = (await watch()).filter((e) => e.type === 'MetricSamplesRecorded' && (e.data as { source?: string }).source === 'prometheus');
      const values = recorded.flatMap((e) => (e.data as { samples: Array<{ metric: string; value: number }> }).samples).filter((s) => s.metric === 'error_rate');
      return values.length >= 3 ? values : undefined;
    });
    expect((await watch()).map((e) => e.type)).not.toContain('RollbackTriggerFired');

    const failingFrom = Date.now();
    workload.setErrorRatio(CANARY, 0.25);
    const fired = await waitFor('the rollback trigger fired', async () => find(await watch(), 'RollbackTriggerFired'));
    const rolledBack = await waitFor('the deployment rolled back', async () => find(await deployment(), 'DeploymentRolledBack'));

    const data = fired.data as { triggerId: string; action: string; evidence: Record<string, unknown> & { observed: Array<{ at: string; value: number }> } };
    expect(data).toMatchObject({ triggerId: 'error-rate-above-1-percent', action: 'rollback' });
    expect(data.evidence).toMatchObject({ metric: 'error_rate', operator: '>', threshold: 0.01, durationSeconds: TEST_TRIGGER_SECONDS, query: errorRate.query, source: 'prometheus', revisionRestored: STABLE });
    // The observed series: Prometheus's points, one per second, every one above 1%, spanning the duration, after the failures began.
    expect(data.evidence.observed.length).toBeGreaterThanOrEqual(TEST_TRIGGER_SECONDS);
    for (const point of data.evidence.observed) {
      expect(point.value).toBeGreaterThan(0.01);
      expect(Date.parse(point.at) % 1000).toBe(0);
      expect(Date.parse(point.at)).toBeGreaterThan(failingFrom - 5_000);
    }
    expect(Date.parse(data.evidence.observed.at(-1)!.at) - Date.parse(data.evidence.observed[0]!.at)).toBeGreaterThanOrEqual(TEST_TRIGGER_SECONDS * 1000);

    expect(rolledBack.data).toMatchObject({ initiator: 'automatic' });
    expect(await target.status({ service: 'checkout', environment: 'production' })).toMatchObject({ stableVersion: STABLE });
    // One rollback: the second trigger (> 10%) and later windows ask for nothing more.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await watch()).filter((e) => e.type === 'RollbackTriggerFired')).toHaveLength(1);
  }, 60_000);

  it('a query Prometheus cannot answer is recorded as Inconclusive, never as samples', async () => {
    const client = (await import('@gatehouse/monitoring')).createPrometheusClient({ url: prometheus.url });
    const broken = await client.queryRange('sum(rate(http_requests_total[5s]', { start: new Date(Date.now() - 10_000), end: new Date(), stepSeconds: 1 });
    expect(broken).toMatchObject({ ok: false, problem: 'query_error' });
    const away = await (await import('@gatehouse/monitoring')).createPrometheusClient({ url: 'http://127.0.0.1:1', timeoutMs: 1_000 }).queryRange('up', { start: new Date(Date.now() - 10_000), end: new Date(), stepSeconds: 1 });
    expect(away).toMatchObject({ ok: false, problem: 'unreachable' });
  });
});
