import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { KubernetesStandIn, writeKubeconfig } from '@gatehouse/testing';
import { withRetry } from './retry.js';

/** The stand-in API server as @kubernetes/client-node (unmodified) sees it: the subset the executor relies on. */
const deployment = (name: string, image: string, replicas = 3) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default', labels: { app: name } },
  spec: { replicas, progressDeadlineSeconds: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } } },
});

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the Kubernetes stand-in API server, through @kubernetes/client-node', () => {
  let standIn: KubernetesStandIn;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let kubeconfig: KubeConfig;

  beforeAll(async () => {
    standIn = await KubernetesStandIn.start({ name: 'test-cluster', podReadyMs: 5, msPerDeadlineSecond: 50 });
    const file = writeKubeconfig(path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-k8s-')), 'kubeconfig'), [standIn]);
    kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(file);
    apps = kubeconfig.makeApiClient(AppsV1Api);
    core = kubeconfig.makeApiClient(CoreV1Api);
  });
  afterAll(() => standIn.close());
  afterEach(() => standIn.clearFaults());

  it('creates a Deployment and its controller rolls it out: status, ReplicaSet, ready pods', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', 'shop/web:1.0.0') });
    expect(created.metadata).toMatchObject({ name: 'web', generation: 1 });
    const ready = await until(async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
      return d.status?.readyReplicas === 3 ? d : undefined;
    });
    expect(ready.status).toMatchObject({ observedGeneration: 1, updatedReplicas: 3, availableReplicas: 3 });
    expect(ready.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    const sets = await apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=web' });
    expect(sets.items.map((rs) => rs.status?.readyReplicas)).toEqual([3]);
    const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    expect(pods.items.map((p) => p.status?.containerStatuses?.[0]?.ready)).toEqual([true, true, true]);
    await expect(apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', 'shop/web:1.0.0') })).rejects.toMatchObject({ code: 409 });
  });

  it('applies strategic merge (containers by name), JSON merge and JSON patches; a patch moves the generation', async () => {
    const strategic = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/web:1.1.0' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.spec?.template.spec?.containers).toEqual([{ name: 'app', image: 'shop/web:1.1.0' }]);
    expect(strategic.metadata?.generation).toBe(2);
    const merged = await apps.patchNamespacedDeployment({ name: 'web', namespace: 'default', body: { metadata: { annotations: { a: '1' } }, spec: { replicas: 4 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(merged.spec?.replicas).toBe(4);
    const patched = await apps.patchNamespacedDeployment({ name: 'web', namespace: 'default', body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    expect(patched.spec?.replicas).toBe(2);
    // A JSON merge patch replaces a list: the containers list becomes the one given.
    const service = await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
    expect(service.spec?.selector).toEqual({ app: 'web' });
  });

  it('refuses a write with a stale resourceVersion (409) and takes the current one', async () => {
    const read = await core.readNamespacedService({ name: 'web', namespace: 'default' });
    await core.replaceNamespacedService({ name: 'web', namespace: 'default', body: { ...read, spec: { ...read.spec, selector: { app: 'web', color: 'green' } } } });
    await expect(core.replaceNamespacedService({ name: 'web', namespace: 'default', body: { ...read, spec: { ...read.spec, selector: { app: 'web', color: 'blue' } } } })).rejects.toMatchObject({ code: 409 });
    expect(standIn.service('default', 'web')?.['spec']).toMatchObject({ selector: { app: 'web', color: 'green' } });
  });

  it('streams Deployment changes to a watch', async () => {
    const seen: { type: string; image: string | undefined }[] = [];
    const watch = new Watch(kubeconfig);
    const request = await watch.watch('/apis/apps/v1/namespaces/default/deployments', {}, (type, object: { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }) => seen.push({ type, image: object.spec?.template?.spec?.containers?.[0]?.image }), () => {});
    await until(() => (seen.some((e) => e.type === 'ADDED') ? true : undefined));
    await apps.patchNamespacedDeployment({ name: 'web', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/web:1.2.0' }] } } } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    await until(() => (seen.some((e) => e.type === 'MODIFIED' && e.image === 'shop/web:1.2.0') ? true : undefined));
    request.abort();
  });

  it('fault knobs: crash-looping pods miss the progress deadline; a stalled controller observes nothing', async () => {
    standIn.failPods('shop/web:9.9.9');
    await apps.patchNamespacedDeployment({ name: 'web', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/web:9.9.9' }] } } } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    const pods = await until(async () => {
      const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
      return list.items.find((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    });
    expect(pods.status?.containerStatuses?.[0]).toMatchObject({ image: 'shop/web:9.9.9', ready: false, restartCount: 3 });
    const stuck = await until(async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
      return d.status?.conditions?.find((c) => c.reason === 'ProgressDeadlineExceeded');
    });
    expect(stuck.status).toBe('False');

    standIn.clearFaults();
    standIn.stall();
    const before = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    const patched = await apps.patchNamespacedDeployment({ name: 'web', namespace: 'default', body: { spec: { replicas: 5 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await apps.readNamespacedDeployment({ name: 'web', namespace: 'default' });
    expect(after.status?.observedGeneration).toBe(before.status?.observedGeneration);
    expect(after.metadata?.generation).toBe(patched.metadata?.generation);
  });

  it('fault knobs: rejected requests (429/500/409) and dropped connections, which the executor retries with backoff', async () => {
    standIn.rejectNext(1, 429);
    await expect(apps.readNamespacedDeployment({ name: 'web', namespace: 'default' })).rejects.toMatchObject({ code: 429 });
    standIn.dropNext(1);
    await expect(apps.readNamespacedDeployment({ name: 'web', namespace: 'default' })).rejects.toThrow();

    standIn.rejectNext(1, 500);
    standIn.dropNext(1);
    standIn.rejectNext(1, 409);
    const retries: number[] = [];
    const read = await withRetry('test-cluster', 'deployment/default/web', () => apps.readNamespacedDeployment({ name: 'web', namespace: 'default' }), { baseDelayMs: 1 }, (attempt) => retries.push(attempt));
    expect(read.metadata?.name).toBe('web');
    expect(retries).toEqual([1, 2, 3]);
    expect(standIn.requests.slice(-4).map((r) => r.status)).toEqual([500, 0, 409, 200]);

    standIn.rejectNext(10, 503);
    await expect(withRetry('test-cluster', 'deployment/default/web', () => apps.readNamespacedDeployment({ name: 'web', namespace: 'default' }), { attempts: 3, baseDelayMs: 1 })).rejects.toMatchObject({
      name: 'ClusterUnreachableError',
      cluster: 'test-cluster',
      object: 'deployment/default/web',
    });
    standIn.clearFaults();
    // A 404 is an answer, not a transient failure: no retry.
    const before = standIn.requests.length;
    await expect(withRetry('test-cluster', 'deployment/default/nope', () => apps.readNamespacedDeployment({ name: 'nope', namespace: 'default' }), { baseDelayMs: 1 })).rejects.toMatchObject({ code: 404 });
    expect(standIn.requests.length - before).toBe(1);
  });
});
