/**
 * Kubernetes executor: time from a due deployment (scheduling's `DeploymentDue` appended) to the executor's
 * first PATCH of the workload's Deployment on the cluster, through the deployments service (embedded, in-memory
 * store) and an unmodified @kubernetes/client-node against a stand-in API server (libs/testing) over HTTP.
 *
 * Measured twice: with the service's default tick (DEPLOYMENT_TICK_INTERVAL_MS, what a deployment waits for in
 * production) and with a 10 ms tick (what the executor itself costs). The floor, in the same run: a bare
 * client-node strategic-merge PATCH round trip to the same stand-in (its HTTP and JSON overhead).
 *
 *   npm run bench:k8s     (K8S_BENCH_SAMPLES=20, K8S_BENCH_DEFAULT_TICK_SAMPLES=5)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { createDeploymentsService, DEPLOYMENT_TICK_INTERVAL_MS, targetFromEnvironment } from '@gatehouse/deployments';
import { settableClock } from '@gatehouse/domain';
import { createInMemoryEventStore } from '@gatehouse/eventstore';
import { PolicyRegistry, type ServiceLogger, startEmbeddedServices } from '@gatehouse/service-kit';
import { type KubernetesStandIn, startKubernetesStandIns, writeKubeconfig } from '@gatehouse/testing';

// Run from bench/dist: the repository's policies are two folders up.
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/policies');
const CLUSTERS = ['dev-k8s-cluster-01', 'staging-k8s-cluster-01', 'prod-k8s-cluster-01', 'prod-k8s-cluster-02', 'prod-k8s-cluster-03', 'prod-k8s-cluster-04'];
const FAST_TICK_MS = 10;
const samples = Number(process.env['K8S_BENCH_SAMPLES'] ?? 20);
const defaultTickSamples = Number(process.env['K8S_BENCH_DEFAULT_TICK_SAMPLES'] ?? 5);
const quiet: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const f = (n: number) => n.toFixed(1);
  return `n=${sorted.length} p50=${f(at(0.5))} ms p90=${f(at(0.9))} ms max=${f(sorted.at(-1) ?? NaN)} ms`;
}

function seed(standIn: KubernetesStandIn, service: string): void {
  standIn.seed('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: service, namespace: 'default', labels: { app: service } },
    spec: { replicas: 3, selector: { matchLabels: { app: service } }, template: { metadata: { labels: { app: service } }, spec: { containers: [{ name: 'app', image: `registry.example/${service}:1.0.0` }] } } },
  });
  standIn.seed('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: service, namespace: 'default' }, spec: { selector: { app: service }, ports: [{ port: 80 }] } });
}

/** API requests the executor made before its first PATCH of the Deployment, per deployment (the round trips in the figure). */
const requestsBeforePatch: number[] = [];

/** One system per sample, so no earlier deployment's status polls share the stand-in with the one measured. */
async function dueToFirstPatch(tickIntervalMs: number, count: number, clusters: KubernetesStandIn[], kubeconfig: string, prefix: string): Promise<number[]> {
  const staging = clusters.find((c) => c.name === 'staging-k8s-cluster-01')!;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const store = await createInMemoryEventStore();
    const clock = settableClock('2026-12-01T10:00:00Z');
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const host = await startEmbeddedServices([createDeploymentsService({ target: targetFromEnvironment({ KUBECONFIG: kubeconfig, GATEHOUSE_K8S_POLL_MS: '5' }), tickIntervalMs })], { store, clock, policies, logger: quiet, pollIntervalMs: 5 });
    try {
      const service = `${prefix}-${i}`;
      seed(staging, service);
      const patched = staging.nextRequest((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/${service}`));
      const before = staging.requests.length;
      const start = performance.now();
      await store.appendToStream(`schedule-cr-${service}`, [
        { type: 'DeploymentDue', data: { changeRequestId: `cr-${service}`, releaseId: `rel-${service}`, service, version: '2.0.0', environment: 'staging', changeType: 'normal', strategy: 'rolling-update', dueAt: clock.now().toISOString() } },
      ]);
      const patch = await patched;
      times.push(patch.at - start);
      requestsBeforePatch.push(staging.requests.slice(before).indexOf(patch) + 1);
    } finally {
      await host.stop();
      await store.close();
    }
  }
  return times;
}

async function barePatchFloor(standIn: KubernetesStandIn, kubeconfigPath: string, count: number): Promise<number[]> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  config.setCurrentContext(standIn.name);
  const apps = config.makeApiClient(AppsV1Api);
  seed(standIn, 'floor');
  const times: number[] = [];
  for (let i = 0; i < count + 5; i++) {
    const start = performance.now();
    await apps.patchNamespacedDeployment({ name: 'floor', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'app', image: `registry.example/floor:${i}` }] } } } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    if (i >= 5) times.push(performance.now() - start); // the first few warm the connection pool
  }
  return times;
}

async function main(): Promise<void> {
  const clusters = await startKubernetesStandIns(CLUSTERS, { podReadyMs: 5 });
  const kubeconfig = writeKubeconfig(path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-k8s-bench-')), 'kubeconfig'), clusters);
  try {
    const floor = await barePatchFloor(clusters[1]!, kubeconfig, samples);
    const fast = await dueToFirstPatch(FAST_TICK_MS, samples, clusters, kubeconfig, 'fast');
    const slow = await dueToFirstPatch(DEPLOYMENT_TICK_INTERVAL_MS, defaultTickSamples, clusters, kubeconfig, 'default');
    process.stdout.write(
      [
        'Kubernetes executor: due deployment → first PATCH of the Deployment (staging, rolling update, one stand-in cluster)',
        `  floor: bare client-node PATCH round trip to the stand-in   ${summary(floor)}`,
        `  due → first patch, ${FAST_TICK_MS} ms tick                           ${summary(fast)}`,
        `  due → first patch, default ${DEPLOYMENT_TICK_INTERVAL_MS} ms tick                      ${summary(slow)}`,
        `  executor's own cost over the floor (p50, ${FAST_TICK_MS} ms tick): ${(median(fast) - median(floor)).toFixed(1)} ms; API round trips up to and including the patch: ${median(requestsBeforePatch)} (p50)`,
        `  (preflight: version, Service, Deployment; status before start and before the step; the Service read per wave; the revision recorded on the Service; the read before the patch)`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all(clusters.map((c) => c.close()));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error instanceof Error ? error.stack : error)}\n`);
  process.exitCode = 1;
});
