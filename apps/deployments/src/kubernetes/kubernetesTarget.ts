import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, VersionApi, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { Deployment as DeploymentModel } from 'kubernetes-models/apps/v1/Deployment';
import { Service as ServiceModel } from 'kubernetes-models/v1/Service';
import { deploymentWaves, getEnvironmentPolicy, type ClusterTarget, type DeploymentStrategy, type PolicySet } from '@gatehouse/policy';
import type { Clock } from '@gatehouse/domain';
import type { DeploymentTarget, TargetStatus, TargetStep, WorkloadRef } from '../target.js';
import { ClusterStepError, ClusterUnreachableError, describe, InvalidManifestError, UnknownClusterError } from './errors.js';
import { type RetryOptions, statusOf, withRetry } from './retry.js';

/** Labels and annotations Gatehouse puts on the objects it manages (the cluster keeps the rollout's state). */
export const LABEL_COLOR = 'gatehouse.dev/color';
export const LABEL_TRACK = 'gatehouse.dev/track';
export const LABEL_DEPLOYMENT = 'gatehouse.dev/deployment-id';
export const LABEL_WORKLOAD = 'gatehouse.dev/workload';
/** On the Service: the revision before this deployment (image, replicas, selector), written before any change. */
export const ANNOTATION_PREVIOUS = 'gatehouse.dev/previous-revision';
/** On the Service: the last step of a deployment completed on this cluster. */
export const ANNOTATION_STEP = 'gatehouse.dev/step';
/** On the Service: the step that could not complete on this cluster, and why. */
export const ANNOTATION_FAILURE = 'gatehouse.dev/failure';
/** On a blue-green colour the Service no longer selects: kept scaled for rollback until this instant, then scaled to 0. */
export const ANNOTATION_RETIRE_AT = 'gatehouse.dev/scale-down-at';
export const LABEL_RETIRED = 'gatehouse.dev/retired';
const ANNOTATION_RETIRED_BY = 'gatehouse.dev/retired-by';
/** Without a manual rollback window in the policy, the old colour is kept this long. */
const DEFAULT_KEEP_OLD_COLOR_MINUTES = 60;
const MS_PER_MINUTE = 60_000;

/** Container states that mean the new version will not become ready by waiting. */
const CRASH_REASONS = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName']);
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
const FULL_TRAFFIC = 100;

/** Previous revision of one cluster, recorded before the deployment changes anything there. */
export interface PreviousRevision {
  deploymentId: string;
  /** The Deployment that served all traffic. */
  deployment: string;
  image: string;
  replicas: number;
  /** The Service's selector. */
  selector: Record<string, string>;
  version: string | null;
}

interface StepMark {
  deploymentId: string;
  index: number;
  trafficPercent: number;
  version: string;
}

/** What the executor saw and did on a cluster: each becomes an event on `kubernetes-<deploymentId>`. */
export type ClusterObservation =
  | { type: 'KubernetesWaveStarted'; data: WaveFact & { clusters: string[] } }
  | { type: 'KubernetesWaveCompleted'; data: WaveFact & { clusters: string[] } }
  | { type: 'KubernetesPreviousRevisionRecorded'; data: ClusterFact & { revision: PreviousRevision } }
  | { type: 'KubernetesClusterStepApplied'; data: ClusterFact & WaveFact & { objects: string[]; observed: Record<string, unknown> } }
  | { type: 'KubernetesClusterStepFailed'; data: ClusterFact & WaveFact & { object: string; reason: string; observed: Record<string, unknown> } }
  | { type: 'KubernetesClusterRolledBack'; data: ClusterFact & { restored: PreviousRevision | null; removed: string[]; observed: Record<string, unknown> } }
  | { type: 'KubernetesClusterRollbackSkipped'; data: ClusterFact & { reason: string } }
  | { type: 'KubernetesClusterRollbackFailed'; data: ClusterFact & { object: string; reason: string } }
  | { type: 'KubernetesOldColorScaledDown'; data: ClusterFact & { object: string; keptUntil: string; replicas: number } };
interface WaveFact {
  deploymentId: string;
  service: string;
  environment: string;
  stepIndex: number;
  stepName: string;
  trafficPercent: number;
  wave: number;
  region: string;
}
interface ClusterFact {
  deploymentId: string;
  service: string;
  environment: string;
  cluster: string;
  context: string;
  region: string;
  namespace: string;
}

export interface KubernetesTargetOptions {
  kubeconfig: KubeConfig;
  /** The active policies (clusters, regions, contexts); read at every step, so a policy change applies to the next one. */
  policies: () => PolicySet;
  /** Namespace of the governed workloads (Deployment and Service named after the service). @defaultValue 'default' */
  namespace?: string;
  /** Period of the readiness polls while a cluster rolls out, in ms. @defaultValue 1000 */
  pollIntervalMs?: number;
  /** Longest wait for one cluster's rollout, in ms. @defaultValue the Deployment's progressDeadlineSeconds + 30 s */
  readyTimeoutMs?: number;
  retry?: RetryOptions;
  /** Receives every wave and cluster step, with what was observed (the service records them as events). */
  observe?: (observation: ClusterObservation) => Promise<void>;
  logger?: { warn(obj: object, msg: string): void };
  /** The governance clock (rollback windows). @defaultValue the system clock */
  clock?: Clock;
  /** Least time between two sweeps for old colours to scale down, in ms of wall time. @defaultValue 60000 */
  sweepIntervalMs?: number;
  /**
   * How long a step may take across all clusters before another deployments replica resumes it (a step blocks
   * its replica while the clusters roll out one after another). @defaultValue DEFAULT_KUBERNETES_EFFECT_LEASE_MS (20 min)
   */
  effectLeaseMs?: number;
}

/** A step's waves take minutes per cluster: the effect lease must outlast them, or a second replica would apply the same step alongside. */
export const DEFAULT_KUBERNETES_EFFECT_LEASE_MS = 20 * 60_000;

interface ClusterClient extends ClusterTarget {
  apps: AppsV1Api;
  core: CoreV1Api;
  version: VersionApi;
}

/**
 * The deployment target on Kubernetes clusters (`@kubernetes/client-node`): the environment's clusters in
 * waves (region by region, cluster by cluster), each step applied to one cluster and followed until ready
 * before the next; a cluster that fails stops the waves. The rollout's state lives on the governed Service's
 * annotations, so a restarted executor (or another replica) reads where each cluster is, and re-applying a
 * step a cluster already completed changes nothing.
 */
export class KubernetesTarget implements DeploymentTarget {
  private readonly clients = new Map<string, ClusterClient>();
  private readonly namespace: string;
  private readonly pollIntervalMs: number;
  /** Clusters this process changed per deployment: an unreachable cluster it never touched needs no rollback. */
  private readonly touched = new Map<string, Set<string>>();

  readonly effectLeaseMs: number;

  constructor(private readonly options: KubernetesTargetOptions) {
    this.effectLeaseMs = options.effectLeaseMs ?? DEFAULT_KUBERNETES_EFFECT_LEASE_MS;
    this.namespace = options.namespace ?? 'default';
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /** Every cluster of every environment must have a kubeconfig context: refused here, naming the cluster, before any deployment. */
  verifyClusters(policies: PolicySet = this.options.policies()): void {
    const known = this.options.kubeconfig.getContexts().map((c) => c.name);
    for (const [environment, policy] of Object.entries(policies.environments)) {
      for (const wave of deploymentWaves(policy)) {
        for (const cluster of wave.clusters) {
          if (!known.includes(cluster.context)) {
            throw new UnknownClusterError(environment, cluster.name, `cluster '${cluster.name}' of environment '${environment}' has no kubeconfig context '${cluster.context}' (contexts: ${known.join(', ') || 'none'})`);
          }
        }
      }
    }
  }

  /** Before a deployment starts: every cluster of the environment answers and has the workload (Service and Deployment). */
  async preflight(ref: WorkloadRef): Promise<void> {
    for (const cluster of this.clustersOf(ref.environment)) {
      await withRetry(cluster.name, 'the API server (/version)', () => cluster.version.getCode(), this.options.retry);
      const service = await this.readService(cluster, ref.service);
      await this.readDeployment(cluster, stableDeploymentOf(service, ref.service));
    }
  }

  async apply(step: TargetStep): Promise<void> {
    const strategy = strategyOf(step.strategy);
    for (const wave of this.waves(step.environment)) {
      const fact: WaveFact = { deploymentId: step.deploymentId, service: step.service, environment: step.environment, stepIndex: step.index, stepName: step.name, trafficPercent: step.trafficPercent, wave: wave.index, region: wave.region };
      const clusters = wave.clusters.map((c) => c.name);
      const marks: (StepMark | undefined)[] = [];
      for (const cluster of wave.clusters) {
        try {
          marks.push(stepMarkOf(await this.readService(cluster, step.service)));
        } catch (error) {
          return this.failStep(step, fact, cluster, error);
        }
      }
      // Resumed after a crash: the clusters that completed the step are not touched again.
      if (marks.every((mark) => sameStep(mark, step))) continue;
      await this.observe({ type: 'KubernetesWaveStarted', data: { ...fact, clusters } });
      for (const [i, cluster] of wave.clusters.entries()) {
        if (sameStep(marks[i], step)) continue;
        try {
          const { objects, observed } = await this.applyOnCluster(cluster, step, strategy);
          await this.markStep(cluster, step);
          await this.observe({ type: 'KubernetesClusterStepApplied', data: { ...fact, ...this.clusterFact(cluster, step), objects, observed } });
        } catch (error) {
          // The waves stop here: later clusters and regions are not touched.
          return this.failStep(step, fact, cluster, error);
        }
      }
      await this.observe({ type: 'KubernetesWaveCompleted', data: { ...fact, clusters } });
    }
  }

  /** A step that cannot complete on a cluster: an event naming cluster and object, and the failure kept (memory and Service) for `status`. */
  private async failStep(step: TargetStep, fact: WaveFact, cluster: ClusterClient, error: unknown): Promise<void> {
    const failure =
      error instanceof ClusterStepError
        ? error
        : error instanceof ClusterUnreachableError
          ? new ClusterStepError(cluster.name, error.object, describe(error.cause))
          : error instanceof InvalidManifestError
            ? new ClusterStepError(cluster.name, error.object, error.message)
            : undefined;
    if (failure === undefined) throw error;
    this.failures.set(step.deploymentId, failure.message);
    await this.observe({ type: 'KubernetesClusterStepFailed', data: { ...fact, ...this.clusterFact(cluster, step), object: failure.object, reason: failure.reason, observed: failure.observed } });
    await this.markFailure(cluster, step, failure).catch((markError: unknown) => this.options.logger?.warn({ cluster: cluster.name, error: describe(markError) }, 'could not record the failure on the cluster; it is kept in memory'));
  }

  /** Failures seen by this process (also on the Service's annotation, for other processes). */
  private readonly failures = new Map<string, string>();

  async status(ref: WorkloadRef & { deploymentId?: string }): Promise<TargetStatus> {
    const clusters = this.clustersOf(ref.environment);
    const seen = await Promise.all(
      clusters.map(async (cluster) => {
        const service = await this.readService(cluster, ref.service);
        const stable = await this.readDeployment(cluster, stableDeploymentOf(service, ref.service));
        return { cluster, mark: stepMarkOf(service), failure: failureOf(service), version: versionOf(imageOf(stable)) };
      }),
    );
    const stableVersion = seen[0]?.version ?? null;
    const id = ref.deploymentId;
    if (id === undefined) return { stableVersion, state: 'idle' };
    const ours = seen.map((s) => (s.mark?.deploymentId === id ? s.mark : undefined));
    const failed = seen.find((s) => s.failure?.deploymentId === id);
    const remembered = this.failures.get(id);
    const reached = ours.filter((m): m is StepMark => m !== undefined);
    if (reached.length === 0 && failed === undefined && remembered === undefined) return { stableVersion, state: 'idle' };
    const first = reached[0] ?? failed?.failure ?? { deploymentId: id, index: -1, trafficPercent: 0, version: '' };
    // The step is in place only when every cluster completed it; otherwise the lowest step reached (-1: a cluster has none).
    const stepIndex = ours.some((m) => m === undefined) ? -1 : Math.min(...reached.map((m) => m.index));
    const rollout = { deploymentId: id, version: first.version, stepIndex, trafficPercent: first.trafficPercent };
    if (failed !== undefined || remembered !== undefined) {
      return { stableVersion, state: 'failed', rollout, reason: remembered ?? `cluster ${failed?.cluster.name}: ${failed?.failure?.reason}` };
    }
    return { stableVersion, state: stepIndex >= 0 ? 'ready' : 'progressing', rollout };
  }

  /** Restores every cluster this deployment changed (last wave first) to its recorded revision; a no-op where already restored. */
  async rollback(to: WorkloadRef & { deploymentId: string; version: string | null }): Promise<void> {
    const clusters = this.clustersOf(to.environment).reverse();
    for (const cluster of clusters) {
      const fact = this.clusterFact(cluster, to);
      let service: V1Service;
      try {
        service = await this.readService(cluster, to.service);
      } catch (error) {
        if (error instanceof ClusterUnreachableError && !this.touched.get(to.deploymentId)?.has(cluster.name)) {
          await this.observe({ type: 'KubernetesClusterRollbackSkipped', data: { ...fact, reason: `unreachable (${describe(error.cause)}) and never changed by this deployment` } });
          continue;
        }
        await this.observe({ type: 'KubernetesClusterRollbackFailed', data: { ...fact, object: `service/${this.namespace}/${to.service}`, reason: describe(error) } });
        throw error;
      }
      try {
        await this.restoreCluster(cluster, service, to, fact);
      } catch (error) {
        const object = error instanceof ClusterStepError || error instanceof ClusterUnreachableError || error instanceof InvalidManifestError ? error.object : `service/${this.namespace}/${to.service}`;
        await this.observe({ type: 'KubernetesClusterRollbackFailed', data: { ...fact, object, reason: describe(error) } });
        throw error;
      }
    }
    this.failures.delete(to.deploymentId);
  }

  /** One cluster back to its recorded revision; nothing to do where this deployment changed nothing. */
  private async restoreCluster(cluster: ClusterClient, service: V1Service, to: WorkloadRef & { deploymentId: string }, fact: ClusterFact): Promise<void> {
    const previous = previousRevisionOf(service);
    const mark = stepMarkOf(service);
    const failure = failureOf(service);
    const ours = previous?.deploymentId === to.deploymentId;
    const pending = mark?.deploymentId === to.deploymentId || failure?.deploymentId === to.deploymentId;
    if (!ours) return;
    const removed: string[] = [];
    // The recorded revision back on the Deployment that served before (image, replicas), then the Service's selector.
    const restored = await this.patchDeployment(cluster, previous.deployment, (d) => {
      setImage(d, previous.image);
      d.spec!.replicas = previous.replicas;
    });
    if (restored.metadata?.labels?.[LABEL_RETIRED] !== undefined) await this.patchDeploymentMetadata(cluster, previous.deployment, { labels: { [LABEL_RETIRED]: null }, annotations: { [ANNOTATION_RETIRE_AT]: null } });
    await this.replaceService(cluster, to.service, (s) => {
      s.spec!.selector = { ...previous.selector };
    });
    for (const name of await this.deploymentsCreatedBy(cluster, to.deploymentId)) {
      if (name === previous.deployment) continue;
      await this.deleteDeployment(cluster, name);
      removed.push(`deployment/${this.namespace}/${name}`);
    }
    if (pending) {
      await this.patchServiceAnnotations(cluster, to.service, { [ANNOTATION_STEP]: null, [ANNOTATION_FAILURE]: null });
      await this.observe({ type: 'KubernetesClusterRolledBack', data: { ...fact, restored: previous, removed, observed: observedOf(restored) } });
    }
  }

  private lastSweep = Number.NEGATIVE_INFINITY;

  /**
   * Scales to 0 the old blue-green colours whose rollback window is over (at most once per `sweepIntervalMs`):
   * a Deployment labelled retired, past its `scale-down-at`, that its Service does not select.
   */
  async sweep(): Promise<void> {
    if (Date.now() - this.lastSweep < (this.options.sweepIntervalMs ?? 60_000)) return;
    this.lastSweep = Date.now();
    const now = this.now();
    const policies = this.options.policies();
    for (const environment of Object.keys(policies.environments)) {
      for (const wave of deploymentWaves(getEnvironmentPolicy(policies, environment))) {
        for (const target of wave.clusters) {
          const cluster = this.client(environment, target);
          const list = await withRetry(cluster.name, `deployments labelled ${LABEL_RETIRED}`, () => cluster.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: `${LABEL_RETIRED}=true` }), this.options.retry);
          for (const deployment of list.items) {
            const name = deployment.metadata!.name!;
            const keptUntil = deployment.metadata?.annotations?.[ANNOTATION_RETIRE_AT];
            if (keptUntil === undefined || Date.parse(keptUntil) > now.getTime()) continue;
            const workload = deployment.metadata?.labels?.[LABEL_WORKLOAD] ?? name;
            const service = await this.readService(cluster, workload).catch(() => undefined);
            if (service !== undefined && stableDeploymentOf(service, workload) === name) continue;
            const replicas = deployment.spec?.replicas ?? 0;
            await this.patchDeployment(cluster, name, (d) => {
              d.spec!.replicas = 0;
            });
            await this.patchDeploymentMetadata(cluster, name, { labels: { [LABEL_RETIRED]: null }, annotations: { [ANNOTATION_RETIRE_AT]: null } });
            const deploymentId = deployment.metadata?.annotations?.[ANNOTATION_RETIRED_BY] ?? 'unknown';
            await this.observe({
              type: 'KubernetesOldColorScaledDown',
              data: { ...this.clusterFact(cluster, { deploymentId, service: workload, environment }), object: `deployment/${this.namespace}/${name}`, keptUntil, replicas },
            });
          }
        }
      }
    }
  }

  /** Marks the colour the Service no longer selects, to be scaled down once the rollback window is over. */
  private async retire(cluster: ClusterClient, name: string, step: TargetStep): Promise<string> {
    const policy = getEnvironmentPolicy(this.options.policies(), step.environment);
    const minutes = policy.rollback.manualWindowMinutes ?? DEFAULT_KEEP_OLD_COLOR_MINUTES;
    const current = await this.readDeployment(cluster, name);
    const recorded = current.metadata?.annotations?.[ANNOTATION_RETIRE_AT];
    if (recorded !== undefined && current.metadata?.annotations?.[ANNOTATION_RETIRED_BY] === step.deploymentId) return recorded;
    const keptUntil = new Date(this.now().getTime() + minutes * MS_PER_MINUTE).toISOString();
    await this.patchDeploymentMetadata(cluster, name, { labels: { [LABEL_RETIRED]: 'true', [LABEL_WORKLOAD]: step.service }, annotations: { [ANNOTATION_RETIRE_AT]: keptUntil, [ANNOTATION_RETIRED_BY]: step.deploymentId } });
    return keptUntil;
  }

  private async patchDeploymentMetadata(cluster: ClusterClient, name: string, metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> }): Promise<void> {
    await withRetry(
      cluster.name,
      `deployment/${this.namespace}/${name}`,
      () => cluster.apps.patchNamespacedDeployment({ name, namespace: this.namespace, body: { metadata } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      this.options.retry,
    );
  }

  private now(): Date {
    return this.options.clock?.now() ?? new Date();
  }

  // ---- one cluster ----

  private async applyOnCluster(cluster: ClusterClient, step: TargetStep, strategy: DeploymentStrategy): Promise<{ objects: string[]; observed: Record<string, unknown> }> {
    const service = await this.readService(cluster, step.service);
    const previous = await this.recordPrevious(cluster, service, step);
    const name = (suffix: string) => `${step.service}-${suffix}`;
    const image = withVersion(previous.image, step.version);
    switch (strategy) {
      case 'rolling-update':
      case 'feature-flag':
      case 'big-bang': {
        // Feature flag: the version ships dark (flag off) at step 0; the flag's ramp is the flags service's, the cluster only stays ready.
        const recreate = strategy === 'big-bang';
        const patched = await this.patchDeployment(cluster, previous.deployment, (d) => {
          setImage(d, image);
          if (recreate) d.spec!.strategy = { type: 'Recreate' };
        });
        const observed = await this.waitReady(cluster, patched, image);
        return { objects: [`deployment/${this.namespace}/${previous.deployment}`], observed };
      }
      case 'canary': {
        if (step.trafficPercent < FULL_TRAFFIC) {
          // Without a traffic router the share is the replica ratio: canary pods behind the same Service as the stable ones.
          const stable = await this.readDeployment(cluster, previous.deployment);
          const replicas = canaryReplicas(previous.replicas, step.trafficPercent);
          const canary = await this.upsertDeployment(cluster, derivedDeployment(stable, name('canary'), image, replicas, { [LABEL_TRACK]: 'canary', [LABEL_DEPLOYMENT]: step.deploymentId }, false));
          const observed = await this.waitReady(cluster, canary, image);
          return { objects: [`deployment/${this.namespace}/${name('canary')}`], observed: { ...observed, canaryReplicas: replicas, stableReplicas: previous.replicas, canarySharePercent: Math.round((100 * replicas) / (replicas + previous.replicas)) } };
        }
        const promoted = await this.patchDeployment(cluster, previous.deployment, (d) => setImage(d, image));
        const observed = await this.waitReady(cluster, promoted, image);
        await this.deleteDeployment(cluster, name('canary'));
        return { objects: [`deployment/${this.namespace}/${previous.deployment}`, `deployment/${this.namespace}/${name('canary')} (removed)`], observed };
      }
      case 'blue-green': {
        const color = previous.selector[LABEL_COLOR] === 'green' ? 'blue' : 'green';
        const stable = await this.readDeployment(cluster, previous.deployment);
        // The new colour's pods match no selector of the Service until the switch: no traffic before it.
        const next = await this.upsertDeployment(cluster, derivedDeployment(stable, name(color), image, previous.replicas, { [LABEL_COLOR]: color, [LABEL_WORKLOAD]: step.service, [LABEL_DEPLOYMENT]: step.deploymentId }, true));
        const observed = await this.waitReady(cluster, next, image);
        if (step.trafficPercent < FULL_TRAFFIC) return { objects: [`deployment/${this.namespace}/${name(color)}`], observed };
        await this.replaceService(cluster, step.service, (s) => {
          s.spec!.selector = { [LABEL_WORKLOAD]: step.service, [LABEL_COLOR]: color };
        });
        // The old colour stays scaled (the rollback target) until the environment's manual rollback window is over.
        const keptUntil = await this.retire(cluster, previous.deployment, step);
        return {
          objects: [`deployment/${this.namespace}/${name(color)}`, `service/${this.namespace}/${step.service} (selector ${LABEL_COLOR}=${color})`],
          observed: { ...observed, keptForRollback: `deployment/${this.namespace}/${previous.deployment}`, keptUntil },
        };
      }
    }
  }

  /** Before the first change of a deployment on a cluster: the revision to restore, on the Service and as an event. */
  private async recordPrevious(cluster: ClusterClient, service: V1Service, step: TargetStep): Promise<PreviousRevision> {
    const recorded = previousRevisionOf(service);
    if (recorded?.deploymentId === step.deploymentId) return recorded;
    const deployment = stableDeploymentOf(service, step.service);
    const stable = await this.readDeployment(cluster, deployment);
    const image = imageOf(stable);
    const revision: PreviousRevision = { deploymentId: step.deploymentId, deployment, image, replicas: stable.spec?.replicas ?? 1, selector: { ...(service.spec?.selector ?? {}) }, version: versionOf(image) };
    await this.patchServiceAnnotations(cluster, step.service, { [ANNOTATION_PREVIOUS]: JSON.stringify(revision), [ANNOTATION_FAILURE]: null });
    this.touched.set(step.deploymentId, (this.touched.get(step.deploymentId) ?? new Set()).add(cluster.name));
    await this.observe({ type: 'KubernetesPreviousRevisionRecorded', data: { ...this.clusterFact(cluster, step), revision } });
    return revision;
  }

  /** Follows the Deployment's status until the rollout completed, failed (deadline, crash-looping pods) or timed out. */
  private async waitReady(cluster: ClusterClient, written: V1Deployment, image: string): Promise<Record<string, unknown>> {
    const name = written.metadata!.name!;
    const object = `deployment/${this.namespace}/${name}`;
    const generation = written.metadata?.generation ?? 0;
    const deadlineSeconds = written.spec?.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
    const timeoutMs = this.options.readyTimeoutMs ?? deadlineSeconds * 1_000 + 30_000;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const current = await this.readDeployment(cluster, name);
      const observed = observedOf(current);
      const status = current.status ?? {};
      const replicas = current.spec?.replicas ?? 1;
      const progressing = status.conditions?.find((c) => c.type === 'Progressing');
      // Crash-looping pods of the new version fail the step at once, without waiting for the deadline.
      const crashing = await this.crashingPod(cluster, current, image);
      if (crashing !== undefined) throw new ClusterStepError(cluster.name, object, `pod ${crashing.pod} of ${image} is ${crashing.reason}`, { ...observed, pod: crashing.pod, podReason: crashing.reason });
      if ((status.observedGeneration ?? 0) >= generation) {
        if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
          throw new ClusterStepError(cluster.name, object, `rollout exceeded its progress deadline (${deadlineSeconds}s): ${progressing.message ?? ''}`.trim(), observed);
        }
        if ((status.updatedReplicas ?? 0) === replicas && (status.availableReplicas ?? 0) === replicas && (status.readyReplicas ?? 0) === replicas && (status.replicas ?? 0) === replicas) return observed;
      }
      if (Date.now() >= until) {
        const why = (status.observedGeneration ?? 0) < generation ? `the controller has not observed generation ${generation} (observed ${status.observedGeneration ?? 0})` : `${status.readyReplicas ?? 0}/${replicas} replicas ready`;
        throw new ClusterStepError(cluster.name, object, `rollout not complete after ${timeoutMs} ms: ${why}`, observed);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollIntervalMs));
    }
  }

  private async crashingPod(cluster: ClusterClient, deployment: V1Deployment, image: string): Promise<{ pod: string; reason: string } | undefined> {
    const selector = deployment.spec?.template?.metadata?.labels ?? {};
    const labelSelector = Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = await withRetry(cluster.name, `pods of deployment/${this.namespace}/${deployment.metadata?.name}`, () => cluster.core.listNamespacedPod({ namespace: this.namespace, labelSelector }), this.options.retry);
    for (const pod of pods.items) {
      for (const container of pod.status?.containerStatuses ?? []) {
        const reason = container.state?.waiting?.reason;
        if (container.image === image && reason !== undefined && CRASH_REASONS.has(reason)) return { pod: pod.metadata?.name ?? '?', reason };
      }
    }
    return undefined;
  }

  // ---- API calls (each retried; each manifest validated before it is sent) ----

  private async readService(cluster: ClusterClient, name: string): Promise<V1Service> {
    const object = `service/${this.namespace}/${name}`;
    try {
      return await withRetry(cluster.name, object, () => cluster.core.readNamespacedService({ name, namespace: this.namespace }), this.options.retry);
    } catch (error) {
      if (statusOf(error) === 404) throw new ClusterStepError(cluster.name, object, 'not found: the workload must exist before Gatehouse deploys it');
      throw error;
    }
  }

  private async readDeployment(cluster: ClusterClient, name: string): Promise<V1Deployment> {
    const object = `deployment/${this.namespace}/${name}`;
    try {
      return await withRetry(cluster.name, object, () => cluster.apps.readNamespacedDeployment({ name, namespace: this.namespace }), this.options.retry);
    } catch (error) {
      if (statusOf(error) === 404) throw new ClusterStepError(cluster.name, object, 'not found');
      throw error;
    }
  }

  /** Reads, changes a copy, validates it, sends the change as a strategic merge patch; unchanged → nothing sent. */
  private async patchDeployment(cluster: ClusterClient, name: string, change: (d: V1Deployment) => void): Promise<V1Deployment> {
    const object = `deployment/${this.namespace}/${name}`;
    const current = await this.readDeployment(cluster, name);
    const desired = structuredClone(current);
    change(desired);
    validateDeployment(object, desired);
    if (JSON.stringify(desired.spec) === JSON.stringify(current.spec)) return current;
    const container = desired.spec!.template!.spec!.containers[0]!;
    const patch = {
      spec: {
        replicas: desired.spec!.replicas,
        ...(desired.spec!.strategy?.type === 'Recreate' ? { strategy: { type: 'Recreate', rollingUpdate: null } } : {}),
        template: { spec: { containers: [{ name: container.name, image: container.image }] } },
      },
    };
    return withRetry(cluster.name, object, () => cluster.apps.patchNamespacedDeployment({ name, namespace: this.namespace, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)), this.options.retry);
  }

  /** Creates the Deployment, or replaces its spec (with the resourceVersion read: a concurrent writer makes it 409 and it is re-read). */
  private async upsertDeployment(cluster: ClusterClient, manifest: V1Deployment): Promise<V1Deployment> {
    const name = manifest.metadata!.name!;
    const object = `deployment/${this.namespace}/${name}`;
    validateDeployment(object, manifest);
    return withRetry(
      cluster.name,
      object,
      async () => {
        let existing: V1Deployment | undefined;
        try {
          existing = await cluster.apps.readNamespacedDeployment({ name, namespace: this.namespace });
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
        if (existing === undefined) return cluster.apps.createNamespacedDeployment({ namespace: this.namespace, body: manifest });
        if (JSON.stringify(existing.spec?.template) === JSON.stringify(manifest.spec?.template) && existing.spec?.replicas === manifest.spec?.replicas) return existing;
        const replacement: V1Deployment = { ...manifest, metadata: { ...manifest.metadata, resourceVersion: existing.metadata?.resourceVersion } };
        return cluster.apps.replaceNamespacedDeployment({ name, namespace: this.namespace, body: replacement });
      },
      this.options.retry,
    );
  }

  /** Read-modify-replace with the resourceVersion read (409 on a concurrent change: re-read, re-applied); unchanged → nothing sent. */
  private async replaceService(cluster: ClusterClient, name: string, change: (s: V1Service) => void): Promise<void> {
    const object = `service/${this.namespace}/${name}`;
    await withRetry(
      cluster.name,
      object,
      async () => {
        const current = await cluster.core.readNamespacedService({ name, namespace: this.namespace });
        const desired = structuredClone(current);
        change(desired);
        if (JSON.stringify(desired.spec) === JSON.stringify(current.spec)) return;
        validateService(object, desired);
        await cluster.core.replaceNamespacedService({ name, namespace: this.namespace, body: desired });
      },
      this.options.retry,
    );
  }

  private async patchServiceAnnotations(cluster: ClusterClient, name: string, annotations: Record<string, string | null>): Promise<void> {
    await withRetry(
      cluster.name,
      `service/${this.namespace}/${name}`,
      () => cluster.core.patchNamespacedService({ name, namespace: this.namespace, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      this.options.retry,
    );
  }

  private async deleteDeployment(cluster: ClusterClient, name: string): Promise<void> {
    await withRetry(
      cluster.name,
      `deployment/${this.namespace}/${name}`,
      async () => {
        try {
          await cluster.apps.deleteNamespacedDeployment({ name, namespace: this.namespace });
        } catch (error) {
          if (statusOf(error) !== 404) throw error;
        }
      },
      this.options.retry,
    );
  }

  private async deploymentsCreatedBy(cluster: ClusterClient, deploymentId: string): Promise<string[]> {
    const list = await withRetry(cluster.name, `deployments labelled ${LABEL_DEPLOYMENT}=${deploymentId}`, () => cluster.apps.listNamespacedDeployment({ namespace: this.namespace, labelSelector: `${LABEL_DEPLOYMENT}=${deploymentId}` }), this.options.retry);
    return list.items.map((d) => d.metadata!.name!);
  }

  private async markStep(cluster: ClusterClient, step: TargetStep): Promise<void> {
    const mark: StepMark = { deploymentId: step.deploymentId, index: step.index, trafficPercent: step.trafficPercent, version: step.version };
    await this.patchServiceAnnotations(cluster, step.service, { [ANNOTATION_STEP]: JSON.stringify(mark) });
  }

  private async markFailure(cluster: ClusterClient, step: TargetStep, failure: ClusterStepError): Promise<void> {
    const mark = { deploymentId: step.deploymentId, index: step.index, trafficPercent: step.trafficPercent, version: step.version, object: failure.object, reason: failure.reason };
    await this.patchServiceAnnotations(cluster, step.service, { [ANNOTATION_FAILURE]: JSON.stringify(mark) });
  }

  // ---- clusters ----

  private waves(environment: string) {
    const waves = deploymentWaves(getEnvironmentPolicy(this.options.policies(), environment));
    if (waves.length === 0) throw new UnknownClusterError(environment, '(none)', `environment '${environment}' lists no cluster: nothing to deploy to with the Kubernetes executor`);
    return waves.map((wave) => ({ ...wave, clusters: wave.clusters.map((c) => this.client(environment, c)) }));
  }

  private clustersOf(environment: string): ClusterClient[] {
    return this.waves(environment).flatMap((wave) => wave.clusters);
  }

  private client(environment: string, cluster: ClusterTarget): ClusterClient {
    const cached = this.clients.get(cluster.context);
    if (cached !== undefined) return { ...cached, ...cluster };
    const source = this.options.kubeconfig;
    if (source.getContextObject(cluster.context) === null) {
      throw new UnknownClusterError(environment, cluster.name, `cluster '${cluster.name}' of environment '${environment}' has no kubeconfig context '${cluster.context}'`);
    }
    const config = new KubeConfig();
    config.loadFromOptions({ clusters: source.clusters, users: source.users, contexts: source.contexts, currentContext: cluster.context });
    const client: ClusterClient = { ...cluster, apps: config.makeApiClient(AppsV1Api), core: config.makeApiClient(CoreV1Api), version: config.makeApiClient(VersionApi) };
    this.clients.set(cluster.context, client);
    return client;
  }

  private clusterFact(cluster: ClusterClient, ref: WorkloadRef & { deploymentId: string }): ClusterFact {
    return { deploymentId: ref.deploymentId, service: ref.service, environment: ref.environment, cluster: cluster.name, context: cluster.context, region: cluster.region, namespace: this.namespace };
  }

  private async observe(observation: ClusterObservation): Promise<void> {
    await this.options.observe?.(observation);
  }
}

const STRATEGIES: readonly DeploymentStrategy[] = ['rolling-update', 'blue-green', 'canary', 'feature-flag', 'big-bang'];
function strategyOf(strategy: string | undefined): DeploymentStrategy {
  const known = STRATEGIES.find((s) => s === strategy);
  if (known === undefined) throw new Error(`unknown deployment strategy '${String(strategy)}' (known: ${STRATEGIES.join(', ')})`);
  return known;
}

/** Canary replicas for a traffic share with the stable replicas kept: share = canary / (canary + stable). */
export function canaryReplicas(stableReplicas: number, percent: number): number {
  if (percent >= FULL_TRAFFIC) return stableReplicas;
  return Math.max(1, Math.round((stableReplicas * percent) / (FULL_TRAFFIC - percent)));
}

/** The Deployment serving traffic: the colour the Service selects after a blue-green switch, else the one named after the service. */
function stableDeploymentOf(service: V1Service, workload: string): string {
  const color = service.spec?.selector?.[LABEL_COLOR];
  return color === undefined ? workload : `${workload}-${color}`;
}

/** A Deployment like `stable` (same pod spec) running `image`, with `labels` added to its pods and selector. */
function derivedDeployment(stable: V1Deployment, name: string, image: string, replicas: number, labels: Record<string, string>, ownSelector: boolean): V1Deployment {
  const template = structuredClone(stable.spec!.template);
  const baseLabels = template.metadata?.labels ?? {};
  // A blue-green colour keeps the pod labels but those the Service selects on, so it gets no traffic before the switch.
  const podLabels = ownSelector ? { ...withoutKeys(baseLabels, Object.keys(stable.spec!.selector.matchLabels ?? {})), ...labels } : { ...baseLabels, ...labels };
  template.metadata = { ...(template.metadata ?? {}), labels: podLabels };
  template.spec!.containers[0]!.image = image;
  const matchLabels = ownSelector ? { ...labels } : { ...(stable.spec!.selector.matchLabels ?? {}), ...labels };
  delete matchLabels[LABEL_DEPLOYMENT];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: stable.metadata?.namespace, labels: { ...labels } },
    spec: {
      replicas,
      selector: { matchLabels },
      template,
      ...(stable.spec?.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: stable.spec.progressDeadlineSeconds } : {}),
    },
  };
}

function withoutKeys(labels: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !keys.includes(k)));
}

function imageOf(deployment: V1Deployment): string {
  return deployment.spec?.template?.spec?.containers[0]?.image ?? '';
}

function setImage(deployment: V1Deployment, image: string): void {
  deployment.spec!.template!.spec!.containers[0]!.image = image;
}

/** `registry/app:1.0.0` with another tag (a digest is dropped: the version names the image). */
export function withVersion(image: string, version: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}:${version}`;
}

function versionOf(image: string): string | null {
  const withoutDigest = image.split('@')[0] ?? image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(colon + 1) : null;
}

function sameStep(mark: StepMark | undefined, step: TargetStep): boolean {
  return mark !== undefined && mark.deploymentId === step.deploymentId && mark.index === step.index;
}

function annotation<T>(service: V1Service, key: string): T | undefined {
  const raw = service.metadata?.annotations?.[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}
const stepMarkOf = (service: V1Service) => annotation<StepMark>(service, ANNOTATION_STEP);
const failureOf = (service: V1Service) => annotation<StepMark & { object: string; reason: string }>(service, ANNOTATION_FAILURE);
const previousRevisionOf = (service: V1Service) => annotation<PreviousRevision>(service, ANNOTATION_PREVIOUS);

function observedOf(deployment: V1Deployment): Record<string, unknown> {
  const status = deployment.status ?? {};
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  return {
    deployment: deployment.metadata?.name,
    image: imageOf(deployment),
    generation: deployment.metadata?.generation,
    observedGeneration: status.observedGeneration,
    replicas: deployment.spec?.replicas,
    updatedReplicas: status.updatedReplicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
    ...(progressing !== undefined ? { progressing: { status: progressing.status, reason: progressing.reason } } : {}),
  };
}

/** The manifest as the API would receive it (no server-set fields), checked against the Kubernetes schema. */
function validateDeployment(object: string, deployment: V1Deployment): void {
  const { metadata, spec } = deployment;
  try {
    new DeploymentModel(JSON.parse(JSON.stringify({ metadata: { name: metadata?.name, ...(metadata?.labels ? { labels: metadata.labels } : {}) }, spec }))).validate();
  } catch (error) {
    throw new InvalidManifestError(object, describe(error));
  }
}

function validateService(object: string, service: V1Service): void {
  const { metadata, spec } = service;
  try {
    new ServiceModel(JSON.parse(JSON.stringify({ metadata: { name: metadata?.name, ...(metadata?.annotations ? { annotations: metadata.annotations } : {}) }, spec }))).validate();
  } catch (error) {
    throw new InvalidManifestError(object, describe(error));
  }
}
