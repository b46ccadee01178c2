import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settableClock, type SettableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { type EmbeddedHost, PolicyRegistry, type ServiceContext, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { kubeconfigFor, KubernetesStandIn, startKubernetesStandIns, writeKubeconfig } from '@gatehouse/testing';
import { changeRequestsService } from '@gatehouse/change-requests';
import { createDeploymentsService } from '../service.js';
import { SandboxTarget } from '../target.js';
import { createKubernetesTarget } from './createKubernetesTarget.js';
import { targetFromEnvironment } from './fromEnvironment.js';
import { ANNOTATION_PREVIOUS, canaryReplicas, KubernetesTarget, LABEL_COLOR, withVersion } from './kubernetesTarget.js';

/**
 * The Kubernetes executor end to end in the deployments service: the policy's clusters are stand-in API
 * servers (one per cluster, real HTTP, @kubernetes/client-node unmodified), the service runs embedded on an
 * in-memory store, and each test deploys its own workload so the tests share one running system.
 */
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const PRODUCTION = ['prod-k8s-cluster-01', 'prod-k8s-cluster-02', 'prod-k8s-cluster-03', 'prod-k8s-cluster-04'];
const CLUSTERS = ['dev-k8s-cluster-01', 'staging-k8s-cluster-01', ...PRODUCTION];
const ALL = CLUSTERS;
const REPLICAS = 4;
const NS = 'default';
type Data = Record<string, unknown>;

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Kubernetes executor against stand-in clusters', () => {
  let store: AuditableEventStore;
  let clock: SettableClock;
  let policies: PolicyRegistry;
  let clusters: KubernetesStandIn[];
  let kubeconfig: string;
  let host: EmbeddedHost;
  const cluster = (name: string) => clusters.find((c) => c.name === name)!;
  const production = () => PRODUCTION.map(cluster);

  beforeAll(async () => {
    store = await createInMemoryEventStore();
    clock = settableClock('2026-12-01T10:00:00Z');
    policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    clusters = await startKubernetesStandIns(CLUSTERS, { podReadyMs: 3, msPerDeadlineSecond: 20 });
    kubeconfig = writeKubeconfig(path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-k8s-')), 'kubeconfig'), clusters);
    host = await startEmbeddedServices(
      [
        createDeploymentsService({ target: (ctx) => createKubernetesTarget(ctx, kubeconfig, { pollIntervalMs: 5, readyTimeoutMs: 3_000, retry: { baseDelayMs: 2, attempts: 4 }, sweepIntervalMs: 50 }), tickIntervalMs: 25 }),
        // Serves flags.*: a feature-flag deployment ramps the flags bound to its service.
        changeRequestsService,
      ],
      { store, clock, policies, logger: quietLogger, pollIntervalMs: 5 },
    );
  });
  afterAll(async () => {
    await host.stop();
    await Promise.all(clusters.map((c) => c.close()));
    await store.close();
  });

  /** The team's workload as it runs before Gatehouse deploys: Deployment + Service `service` in every cluster given. */
  async function workload(service: string, on: readonly KubernetesStandIn[]): Promise<void> {
    for (const standIn of on) {
      standIn.seed('deployments', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: service, namespace: NS, labels: { app: service } },
        spec: { replicas: REPLICAS, progressDeadlineSeconds: 30, selector: { matchLabels: { app: service } }, template: { metadata: { labels: { app: service } }, spec: { containers: [{ name: 'app', image: `registry.example/${service}:1.0.0` }] } } },
      });
      standIn.seed('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: service, namespace: NS }, spec: { selector: { app: service }, ports: [{ port: 80 }] } });
    }
    await waitFor(() => (on.every((s) => (s.deployment(NS, service)?.['status'] as Data | undefined)?.['readyReplicas'] === REPLICAS) ? true : undefined));
  }

  /** What scheduling appends when the booked slot's timer fires. */
  async function due(crId: string, service: string, environment: string, strategy: string): Promise<void> {
    await store.appendToStream(`schedule-${crId}`, [
      { type: 'DeploymentDue', data: { changeRequestId: crId, releaseId: `rel-${crId}`, service, version: '2.0.0', environment, changeType: 'normal', strategy, dueAt: clock.now().toISOString() }, metadata: { actor: 'scheduling', correlationId: `corr-${crId}` } },
    ]);
  }

  const stream = (crId: string) => store.readStream(`deployment-${crId}`);
  const clusterEvents = async (crId: string) => {
    const started = (await stream(crId)).find((e) => e.type === 'DeploymentStarted');
    return started === undefined ? [] : store.readStream(`kubernetes-${(started.data as { deploymentId: string }).deploymentId}`);
  };
  const ENDINGS = new Set(['DeploymentSucceeded', 'DeploymentFailed', 'DeploymentAborted', 'DeploymentRolledBack']);

  /**
   * Runs the plan: each applied step's analysis window is walked to its end with healthy samples (production
   * analyses them), until the deployment ends; `onApplied` runs once a step is applied, before its window ends.
   */
  async function run(crId: string, onApplied: (index: number) => void | Promise<void> = () => {}): Promise<StoredEvent> {
    const handled = new Set<number>();
    return waitFor(async () => {
      const events = await stream(crId);
      const end = events.find((e) => ENDINGS.has(e.type));
      if (end !== undefined) return end;
      for (const applied of events.filter((e) => e.type === 'DeploymentStepApplied')) {
        const index = (applied.data as { index: number }).index;
        if (handled.has(index)) continue;
        handled.add(index);
        await onApplied(index);
        const started = events.find((e) => e.type === 'DeploymentStepStarted' && (e.data as { index: number }).index === index)!.data as { at: string; analysisUntil: string };
        const from = Date.parse(started.at);
        const until = Date.parse(started.analysisUntil);
        if (clock.now().getTime() < until) clock.set(new Date(until).toISOString());
        const samples = Array.from({ length: 5 }, (_, i) => ({ metric: 'error_rate', at: new Date(from + ((until - from) * i) / 4).toISOString(), value: 0.001 }));
        await store.appendToStream(`watch-${crId}`, [{ type: 'MetricSamplesRecorded', data: { changeRequestId: crId, deploymentId: 'x', environment: 'production', service: 'x', samples, recordedAt: clock.now().toISOString() } }]);
      }
      return undefined;
    });
  }

  const imageIn = (standIn: KubernetesStandIn, name: string) => (((standIn.deployment(NS, name)?.['spec'] as Data)['template'] as Data)['spec'] as { containers: { image: string }[] }).containers[0]?.image;
  const selectorIn = (standIn: KubernetesStandIn, service: string) => (standIn.service(NS, service)?.['spec'] as { selector: Record<string, string> }).selector;
  const replicasIn = (standIn: KubernetesStandIn, name: string) => (standIn.deployment(NS, name)?.['spec'] as { replicas: number }).replicas;
  const patchesTo = (standIn: KubernetesStandIn, name: string) => standIn.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/${name}`)).length;

  it('canary in production: wave by wave (us-west-2, us-east-1, eu-west-1), canary sized by replica ratio, promoted at 100%', async () => {
    await workload('cart', production());
    const observedShares: number[][] = [];
    await due('cr-canary', 'cart', 'production', 'canary');
    const end = await run('cr-canary', (index) => {
      if (index < 2) observedShares.push(production().map((c) => replicasIn(c, 'cart-canary')));
    });
    expect(end.type).toBe('DeploymentSucceeded');
    // 4 stable replicas: 5% → 1 canary pod (the smallest share possible), 25% → 1 (4·25/75 rounds to 1).
    expect(observedShares).toEqual([
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ]);
    for (const c of production()) {
      expect(imageIn(c, 'cart')).toBe('registry.example/cart:2.0.0');
      expect(c.deployment(NS, 'cart-canary')).toBeUndefined();
      expect(selectorIn(c, 'cart')).toEqual({ app: 'cart' });
    }
    const events = await clusterEvents('cr-canary');
    const applied = events.filter((e) => e.type === 'KubernetesClusterStepApplied').map((e) => `${(e.data as Data)['stepIndex']}:${(e.data as Data)['cluster']}`);
    expect(applied).toEqual(['0', '1', '2'].flatMap((i) => PRODUCTION.map((c) => `${i}:${c}`)));
    const waves = events.filter((e) => e.type === 'KubernetesWaveStarted' && (e.data as Data)['stepIndex'] === 0).map((e) => [(e.data as Data)['region'], (e.data as Data)['clusters']]);
    expect(waves).toEqual([
      ['us-west-2', ['prod-k8s-cluster-01', 'prod-k8s-cluster-02']],
      ['us-east-1', ['prod-k8s-cluster-03']],
      ['eu-west-1', ['prod-k8s-cluster-04']],
    ]);
    // Each cluster event carries what was observed, and the revision was recorded before the first change.
    expect(events.find((e) => e.type === 'KubernetesClusterStepApplied')?.data).toMatchObject({ cluster: 'prod-k8s-cluster-01', region: 'us-west-2', observed: { readyReplicas: 1, canaryReplicas: 1, stableReplicas: 4 } });
    expect(events.filter((e) => e.type === 'KubernetesPreviousRevisionRecorded').map((e) => (e.data as { revision: Data }).revision)).toEqual(
      PRODUCTION.map(() => expect.objectContaining({ deployment: 'cart', image: 'registry.example/cart:1.0.0', replicas: 4, selector: { app: 'cart' }, version: '1.0.0' })),
    );
  });

  it('canary whose pods crash at 25%: aborted and rolled back, stable untouched, canary gone; rolling back again changes nothing', async () => {
    await workload('search', production());
    await due('cr-crash', 'search', 'production', 'canary');
    const end = await run('cr-crash', (index) => {
      if (index === 0) production().forEach((c) => c.failPods('registry.example/search:2.0.0'));
    });
    expect(end.type).toBe('DeploymentFailed');
    expect((await stream('cr-crash')).find((e) => e.type === 'DeploymentRollbackRequested')?.data).toMatchObject({ reason: expect.stringMatching(/cluster prod-k8s-cluster-01: deployment\/default\/search-canary: pod search-canary-\w+-0 of registry\.example\/search:2\.0\.0 is CrashLoopBackOff/) });
    const failed = (await clusterEvents('cr-crash')).filter((e) => e.type === 'KubernetesClusterStepFailed');
    expect(failed.map((e) => e.data)).toEqual([expect.objectContaining({ cluster: 'prod-k8s-cluster-01', stepIndex: 1, object: 'deployment/default/search-canary', observed: expect.objectContaining({ podReason: 'CrashLoopBackOff' }) })]);
    for (const c of production()) {
      expect(imageIn(c, 'search')).toBe('registry.example/search:1.0.0');
      expect(c.deployment(NS, 'search-canary')).toBeUndefined();
      expect(selectorIn(c, 'search')).toEqual({ app: 'search' });
    }
    // The rollback is idempotent: applying it again leaves every cluster as it was.
    const before = production().map((c) => [c.deployment(NS, 'search'), c.service(NS, 'search')]);
    const { createKubernetesTarget: create } = await import('./createKubernetesTarget.js');
    const ctx = { store, policies, logger: quietLogger, name: 'deployments' } as unknown as Parameters<typeof create>[0];
    const deploymentId = ((await stream('cr-crash')).find((e) => e.type === 'DeploymentStarted')!.data as { deploymentId: string }).deploymentId;
    await create(ctx, kubeconfig, { pollIntervalMs: 5 }).rollback({ deploymentId, service: 'search', environment: 'production', version: '1.0.0' });
    expect(production().map((c) => [c.deployment(NS, 'search'), c.service(NS, 'search')])).toEqual(before);
  });

  it('a region fails: later regions untouched, earlier ones rolled back', async () => {
    await workload('orders', production());
    cluster('prod-k8s-cluster-03').failPods('registry.example/orders:2.0.0');
    await due('cr-region', 'orders', 'production', 'canary');
    const end = await run('cr-region');
    expect(end.type).toBe('DeploymentFailed');
    const events = await clusterEvents('cr-region');
    expect(events.filter((e) => e.type === 'KubernetesClusterStepApplied').map((e) => (e.data as Data)['cluster'])).toEqual(['prod-k8s-cluster-01', 'prod-k8s-cluster-02']);
    expect(events.filter((e) => e.type === 'KubernetesClusterStepFailed').map((e) => [(e.data as Data)['cluster'], (e.data as Data)['region']])).toEqual([['prod-k8s-cluster-03', 'us-east-1']]);
    // Rolled back last wave first; eu-west-1 was never touched, so it has nothing to restore.
    expect(events.filter((e) => e.type === 'KubernetesClusterRolledBack').map((e) => (e.data as Data)['cluster'])).toEqual(['prod-k8s-cluster-03', 'prod-k8s-cluster-02', 'prod-k8s-cluster-01']);
    const eu = cluster('prod-k8s-cluster-04');
    expect(eu.requests.filter((r) => r.method !== 'GET' && r.path.includes('orders'))).toEqual([]);
    expect((eu.service(NS, 'orders')?.['metadata'] as Data)['annotations']).toBeUndefined();
    for (const c of production()) {
      expect(c.deploymentNames(NS).filter((n) => n.startsWith('orders'))).toEqual(['orders']);
      expect(imageIn(c, 'orders')).toBe('registry.example/orders:1.0.0');
    }
  });

  it('blue-green: green deployed with no traffic, Service switched after verification, blue kept for rollback', async () => {
    await workload('pay', production());
    const beforeSwitch: Record<string, string>[] = [];
    await due('cr-bg', 'pay', 'production', 'blue-green');
    const end = await run('cr-bg', (index) => {
      if (index === 1) beforeSwitch.push(...production().map((c) => selectorIn(c, 'pay')));
    });
    expect(end.type).toBe('DeploymentSucceeded');
    expect(beforeSwitch).toEqual(PRODUCTION.map(() => ({ app: 'pay' })));
    for (const c of production()) {
      expect(selectorIn(c, 'pay')).toEqual({ 'gatehouse.dev/workload': 'pay', [LABEL_COLOR]: 'green' });
      expect(imageIn(c, 'pay-green')).toBe('registry.example/pay:2.0.0');
      // Green's pods do not carry the old selector's labels: before the switch the Service could not reach them.
      expect(((c.deployment(NS, 'pay-green')?.['spec'] as Data)['template'] as { metadata: { labels: Data } }).metadata.labels).not.toHaveProperty('app');
      expect(imageIn(c, 'pay')).toBe('registry.example/pay:1.0.0');
      expect(replicasIn(c, 'pay')).toBe(REPLICAS);
    }
    // Blue stays scaled through production's 240-minute manual rollback window, then is scaled to 0.
    const switchedAt = clock.now().getTime();
    clock.set(new Date(switchedAt + 239 * 60_000).toISOString());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(production().map((c) => replicasIn(c, 'pay'))).toEqual(PRODUCTION.map(() => REPLICAS));
    clock.set(new Date(switchedAt + 241 * 60_000).toISOString());
    const scaledDown = await waitFor(async () => {
      const events = (await clusterEvents('cr-bg')).filter((e) => e.type === 'KubernetesOldColorScaledDown');
      return events.length === PRODUCTION.length ? events : undefined;
    });
    expect(production().map((c) => replicasIn(c, 'pay'))).toEqual(PRODUCTION.map(() => 0));
    expect(scaledDown.map((e) => [(e.data as Data)['cluster'], (e.data as Data)['object'], (e.data as Data)['replicas']])).toEqual(PRODUCTION.map((c) => [c, 'deployment/default/pay', REPLICAS]));
    expect(production().map((c) => selectorIn(c, 'pay')[LABEL_COLOR])).toEqual(PRODUCTION.map(() => 'green'));
  });

  it('blue-green whose Service switch fails: old colour kept, the failure names cluster and Service, green removed', async () => {
    await workload('ledger', production());
    // The API server refuses every replace of the ledger Service (the selector switch) on cluster-02.
    cluster('prod-k8s-cluster-02').rejectNext(1_000, 500, (r) => r.method === 'PUT' && r.path.endsWith('/services/ledger'));
    await due('cr-bg-fail', 'ledger', 'production', 'blue-green');
    const end = await run('cr-bg-fail');
    expect(end.type).toBe('DeploymentFailed');
    const failed = (await clusterEvents('cr-bg-fail')).filter((e) => e.type === 'KubernetesClusterStepFailed');
    expect(failed.map((e) => e.data)).toEqual([expect.objectContaining({ cluster: 'prod-k8s-cluster-02', object: 'service/default/ledger', stepIndex: 2, reason: expect.stringContaining('HTTP 500') })]);
    for (const c of production()) {
      expect(selectorIn(c, 'ledger')).toEqual({ app: 'ledger' });
      expect(c.deploymentNames(NS).filter((n) => n.startsWith('ledger'))).toEqual(['ledger']);
      expect(imageIn(c, 'ledger')).toBe('registry.example/ledger:1.0.0');
    }
    // cluster-01 had switched: its switch was undone. cluster-03/04 (later waves) got green at steps 0-1 but never a switch.
    const switches = (name: string) => cluster(name).requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/services/ledger') && r.status === 200);
    expect(switches('prod-k8s-cluster-01')).toHaveLength(2);
    expect(switches('prod-k8s-cluster-03')).toEqual([]);
    expect(switches('prod-k8s-cluster-04')).toEqual([]);
  });

  it('rolling update, big-bang (recreate) and feature-flag (ship dark) in staging; transient 409/429/500 and resets are retried', async () => {
    const staging = [cluster('staging-k8s-cluster-01')];
    const [stage] = staging as [KubernetesStandIn];
    await workload('web', staging);
    stage.rejectNext(1, 409, (r) => r.method === 'PATCH');
    stage.rejectNext(1, 429, (r) => r.method === 'PATCH');
    stage.dropNext(1, (r) => r.method === 'GET' && r.path.endsWith('/deployments/web'));
    stage.rejectNext(1, 500, (r) => r.method === 'GET' && r.path.endsWith('/services/web'));
    await due('cr-rolling', 'web', 'staging', 'rolling-update');
    expect((await run('cr-rolling')).type).toBe('DeploymentSucceeded');
    expect(imageIn(stage, 'web')).toBe('registry.example/web:2.0.0');
    expect(stage.requests.filter((r) => r.status === 409 || r.status === 429 || r.status === 500 || r.status === 0)).toHaveLength(4);
    expect((stage.deployment(NS, 'web')?.['spec'] as Data)['strategy']).toBeUndefined();

    await workload('batch', staging);
    await due('cr-bigbang', 'batch', 'staging', 'big-bang');
    expect((await run('cr-bigbang')).type).toBe('DeploymentSucceeded');
    expect((stage.deployment(NS, 'batch')?.['spec'] as Data)['strategy']).toEqual({ type: 'Recreate' });
    expect(imageIn(stage, 'batch')).toBe('registry.example/batch:2.0.0');

    await workload('promo', staging);
    // The flag a feature-flag deployment ramps, bound to the service by someone allowed to deploy to staging.
    await host.commandsAs({ subject: 'quinn', roles: ['qa'] }).send('flags', 'changeFlag', {
      commandId: 'bind-promo-banner',
      name: 'promo-banner',
      environment: 'staging',
      mode: 'replace',
      change: { service: 'promo', enabled: false, rollout: { strategy: 'percentage', percentage: 0 } },
    });
    let afterShipping: string | undefined;
    await due('cr-flag', 'promo', 'staging', 'feature-flag');
    const end = await run('cr-flag', (index) => {
      if (index === 0) afterShipping = imageIn(stage, 'promo');
    });
    expect(end.type).toBe('DeploymentSucceeded');
    // Shipped dark at step 0 (the flag's ramp is the flags service's); later steps change nothing on the cluster.
    expect(afterShipping).toBe('registry.example/promo:2.0.0');
    expect(patchesTo(stage, 'promo')).toBe(1);
    // The ramp itself happened on the flag: its last step's percentage is 100.
    const ramps = (await store.readStream('flag-promo-banner')).filter((e) => e.type === 'FeatureFlagRamped');
    expect(ramps.length).toBeGreaterThan(1);
    expect((ramps.at(-1)!.data as { percentage: number }).percentage).toBe(100);
    const annotations = (stage.service(NS, 'promo')?.['metadata'] as { annotations: Record<string, string> }).annotations;
    expect(JSON.parse(annotations[ANNOTATION_PREVIOUS]!)).toMatchObject({ image: 'registry.example/promo:1.0.0', replicas: REPLICAS, selector: { app: 'promo' } });
  });

  it('a controller that stops making progress fails the step at the executor\'s deadline, naming the object; the rollback restores the image', async () => {
    const [stage] = [cluster('staging-k8s-cluster-01')] as [KubernetesStandIn];
    await workload('feed', [stage]);
    stage.stall();
    try {
      await due('cr-stall', 'feed', 'staging', 'rolling-update');
      const failed = await waitFor(async () => (await clusterEvents('cr-stall')).find((e) => e.type === 'KubernetesClusterStepFailed'));
      expect(failed.data).toMatchObject({ cluster: 'staging-k8s-cluster-01', object: 'deployment/default/feed', reason: expect.stringMatching(/^rollout not complete after 3000 ms: the controller has not observed generation 2 \(observed 1\)$/) });
    } finally {
      stage.stall(false);
    }
    expect((await run('cr-stall')).type).toBe('DeploymentFailed');
    expect(imageIn(stage, 'feed')).toBe('registry.example/feed:1.0.0');
  });

  it('refuses at start, naming the cluster: a policy cluster without a kubeconfig context, and an unreachable cluster', async () => {
    const partial = writeKubeconfig(path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-k8s-')), 'kubeconfig'), clusters.filter((c) => c.name !== 'prod-k8s-cluster-04'));
    const ctx = { store, policies, logger: quietLogger, name: 'deployments' } as unknown as Parameters<typeof createKubernetesTarget>[0];
    expect(() => createKubernetesTarget(ctx, partial)).toThrow("cluster 'prod-k8s-cluster-04' of environment 'production' has no kubeconfig context 'prod-k8s-cluster-04'");

    await workload('mail', production());
    const down = await KubernetesStandIn.start({ name: 'prod-k8s-cluster-03' });
    await down.close();
    const unreachable = writeKubeconfig(path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-k8s-')), 'kubeconfig'), clusters.map((c) => (c.name === 'prod-k8s-cluster-03' ? down : c)));
    // A system of its own (store, policies, service) whose kubeconfig points cluster-03 at a closed port.
    const ownStore = await createInMemoryEventStore();
    const ownPolicies = await PolicyRegistry.activateFromDirectory(ownStore, POLICIES, clock);
    const second = await startEmbeddedServices([createDeploymentsService({ target: (c) => createKubernetesTarget(c, unreachable, { pollIntervalMs: 5, retry: { baseDelayMs: 1, attempts: 2 } }), tickIntervalMs: 5 })], { store: ownStore, clock, policies: ownPolicies, logger: quietLogger, pollIntervalMs: 5 });
    try {
      await ownStore.appendToStream('schedule-cr-down', [{ type: 'DeploymentDue', data: { changeRequestId: 'cr-down', releaseId: 'rel-down', service: 'mail', version: '2.0.0', environment: 'production', changeType: 'normal', strategy: 'canary', dueAt: clock.now().toISOString() } }]);
      const dueEvent = (await ownStore.readStream('schedule-cr-down'))[0]!;
      const refused = await waitFor(async () => (await ownStore.readStream(`kubernetes-${dueEvent.id}`)).find((e) => e.type === 'KubernetesDeploymentRefused'));
      expect((refused.data as Data)['reason']).toMatch(/^cluster prod-k8s-cluster-03: the API server \(\/version\): /);
      expect(await ownStore.readStream('deployment-cr-down')).toEqual([]);
      for (const c of production()) expect(c.requests.filter((r) => r.method !== 'GET' && r.path.includes('mail'))).toEqual([]);
    } finally {
      await second.stop();
      await ownStore.close();
    }
  });
});

// In this file rather than a unit spec of its own: loading @kubernetes/client-node is most of a suite's time.
describe('choosing the deployment target from the environment', () => {
  let ctx: ServiceContext;
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-target-'));
  const kubeconfig = (contexts: string[]) => {
    const file = path.join(dir, `${contexts.length}.kubeconfig`);
    writeFileSync(file, kubeconfigFor(contexts.map((context, i) => ({ context, server: `http://127.0.0.1:${40_000 + i}` }))));
    return file;
  };
  beforeAll(async () => {
    const store = await createInMemoryEventStore();
    const clock = settableClock('2026-12-01T10:00:00Z');
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    ctx = { name: 'deployments', store, clock, policies, logger: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } } as unknown as ServiceContext;
  });

  it('KUBECONFIG unset (or empty): the in-process sandbox, as `npm start` has always run', async () => {
    expect(await targetFromEnvironment({})(ctx)).toBeInstanceOf(SandboxTarget);
    expect(await targetFromEnvironment({ KUBECONFIG: '' })(ctx)).toBeInstanceOf(SandboxTarget);
  });

  it('KUBECONFIG set: the Kubernetes executor, once every policy cluster has a context', async () => {
    const executor = await targetFromEnvironment({ KUBECONFIG: kubeconfig(ALL) })(ctx);
    expect(executor).toBeInstanceOf(KubernetesTarget);
    // A step waits for clusters one after another: its intent is not resumed by another replica for 20 minutes.
    expect(executor.effectLeaseMs).toBe(20 * 60_000);
    await expect(targetFromEnvironment({ KUBECONFIG: kubeconfig(ALL.slice(0, 3)) })(ctx)).rejects.toThrow(/^cluster 'prod-k8s-cluster-02' of environment 'production' has no kubeconfig context 'prod-k8s-cluster-02' \(contexts: dev-k8s-cluster-01, staging-k8s-cluster-01, prod-k8s-cluster-01\)$/);
    expect(() => targetFromEnvironment({ KUBECONFIG: kubeconfig(ALL), GATEHOUSE_K8S_POLL_MS: 'soon' })).toThrow("GATEHOUSE_K8S_POLL_MS must be a positive number of ms, got 'soon'");
  });

  it('sizes a canary by replica ratio and swaps only the image tag', () => {
    expect([5, 25, 50, 100].map((p) => canaryReplicas(20, p))).toEqual([1, 7, 20, 20]);
    expect(canaryReplicas(4, 5)).toBe(1);
    expect(withVersion('registry.example:5000/team/cart:1.0.0', '2.0.0')).toBe('registry.example:5000/team/cart:2.0.0');
    expect(withVersion('registry.example:5000/team/cart', '2.0.0')).toBe('registry.example:5000/team/cart:2.0.0');
    expect(withVersion('cart:1.0.0@sha256:abc', '2.0.0')).toBe('cart:2.0.0');
  });
});
