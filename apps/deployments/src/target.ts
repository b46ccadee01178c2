import type { Clock } from '@gatehouse/domain';

/** Where a service runs: one workload per service and environment. */
export interface WorkloadRef {
  service: string;
  environment: string;
}

/** One plan step as the target executes it. */
export interface TargetStep extends WorkloadRef {
  deploymentId: string;
  version: string;
  index: number;
  name: string;
  trafficPercent: number;
}

export type RolloutState = 'idle' | 'progressing' | 'ready' | 'failed';

export interface TargetStatus {
  /** Version serving all traffic outside the rollout (null before the first deployment). */
  stableVersion: string | null;
  state: RolloutState;
  /** The rollout in progress: which deployment's which step, at what traffic share. */
  rollout?: { deploymentId: string; version: string; stepIndex: number; trafficPercent: number };
  reason?: string;
}

/**
 * The execution target of a deployment plan (a cluster). `apply` starts a step and returns once the
 * target accepted it; `status` says whether it is ready; `rollback` restores a version for all traffic.
 */
export interface DeploymentTarget {
  apply(step: TargetStep): Promise<void>;
  rollback(to: WorkloadRef & { deploymentId: string; version: string | null }): Promise<void>;
  status(workload: WorkloadRef): Promise<TargetStatus>;
}

/** Seconds a sandbox step takes to roll out (new pods scheduled, pulled, ready). */
export const DEFAULT_SANDBOX_ROLLOUT_SECONDS = 45;

export interface SandboxTargetOptions {
  clock: Clock;
  /** @defaultValue DEFAULT_SANDBOX_ROLLOUT_SECONDS */
  rolloutSeconds?: number;
  /** Version already running per `service/environment` before Gatehouse deploys anything. */
  initialVersions?: Readonly<Record<string, string>>;
}

interface Workload {
  stableVersion: string | null;
  rollout?: { deploymentId: string; version: string; stepIndex: number; trafficPercent: number; readyAt: number };
  failure?: string;
}

/**
 * A cluster stand-in: each applied step becomes ready `rolloutSeconds` later on the injected clock,
 * so tests fast-forward instead of sleeping; `failStep` makes a step's rollout fail.
 */
export class SandboxTarget implements DeploymentTarget {
  private readonly workloads = new Map<string, Workload>();
  private readonly failures = new Map<string, string>();
  /** Every step applied and every rollback, in order: what the cluster was asked to do. */
  readonly operations: ({ kind: 'apply'; step: TargetStep } | { kind: 'rollback'; deploymentId: string; service: string; environment: string; version: string | null })[] = [];
  private readonly clock: Clock;
  private readonly rolloutMs: number;

  constructor({ clock, rolloutSeconds = DEFAULT_SANDBOX_ROLLOUT_SECONDS, initialVersions = {} }: SandboxTargetOptions) {
    this.clock = clock;
    this.rolloutMs = rolloutSeconds * 1_000;
    for (const [key, version] of Object.entries(initialVersions)) this.workloads.set(key, { stableVersion: version });
  }

  /** The rollout of this step will fail with `reason`. */
  failStep(workload: WorkloadRef, index: number, reason = 'pods crash-looping (CrashLoopBackOff)'): void {
    this.failures.set(`${keyOf(workload)}#${index}`, reason);
  }

  async apply(step: TargetStep): Promise<void> {
    this.operations.push({ kind: 'apply', step: { ...step } });
    const workload = this.workload(step);
    const failure = this.failures.get(`${keyOf(step)}#${step.index}`);
    workload.rollout = { deploymentId: step.deploymentId, version: step.version, stepIndex: step.index, trafficPercent: step.trafficPercent, readyAt: this.clock.now().getTime() + this.rolloutMs };
    if (failure !== undefined) workload.failure = failure;
    else delete workload.failure;
  }

  async rollback(to: WorkloadRef & { deploymentId: string; version: string | null }): Promise<void> {
    this.operations.push({ kind: 'rollback', deploymentId: to.deploymentId, service: to.service, environment: to.environment, version: to.version });
    this.workloads.set(keyOf(to), { stableVersion: to.version });
  }

  async status(ref: WorkloadRef): Promise<TargetStatus> {
    const workload = this.workload(ref);
    const { rollout } = workload;
    if (rollout === undefined) return { stableVersion: workload.stableVersion, state: 'idle' };
    const { readyAt, ...shown } = rollout;
    const ready = this.clock.now().getTime() >= readyAt;
    if (ready && workload.failure !== undefined) return { stableVersion: workload.stableVersion, state: 'failed', rollout: shown, reason: workload.failure };
    if (ready && rollout.trafficPercent === 100) workload.stableVersion = rollout.version;
    return { stableVersion: workload.stableVersion, state: ready ? 'ready' : 'progressing', rollout: shown };
  }

  private workload(ref: WorkloadRef): Workload {
    const key = keyOf(ref);
    let workload = this.workloads.get(key);
    if (workload === undefined) {
      workload = { stableVersion: null };
      this.workloads.set(key, workload);
    }
    return workload;
  }
}

const keyOf = (ref: WorkloadRef): string => `${ref.service}/${ref.environment}`;
