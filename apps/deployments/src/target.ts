import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Clock } from '@gatehouse/domain';
import type { DeploymentStrategy } from '@gatehouse/policy';

/** Where a service runs: one workload per service and environment. */
export interface WorkloadRef {
  service: string;
  environment: string;
}

/** One plan step as the target executes it. */
export interface TargetStep extends WorkloadRef {
  deploymentId: string;
  version: string;
  /** The plan's strategy (what a step means on a cluster); a sandbox ignores it. */
  strategy?: DeploymentStrategy | string;
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
  /** Checks, before a deployment starts, that every cluster it needs answers and has the workload; throws naming the one that does not. */
  preflight?(workload: WorkloadRef): Promise<void>;
  /** How long one effect may take on this target, in ms: the effect runner's lease (another replica resumes the intent only after it). */
  readonly effectLeaseMs?: number;
  /** Housekeeping the target does on its own schedule (e.g. scaling down an old blue-green colour after the rollback window); called every tick. */
  sweep?(): Promise<void>;
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
  /**
   * Keeps the stand-in cluster's state in this JSON file (and every operation in `<file>.operations.jsonl`),
   * so it outlives the deployments process like a real cluster would: a restarted service finds its
   * rollouts where they were, and replicas sharing the file see one cluster (read before every operation).
   * @defaultValue in memory only
   */
  stateFile?: string;
}

type Operation = { kind: 'apply'; step: TargetStep } | { kind: 'rollback'; deploymentId: string; service: string; environment: string; version: string | null };

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
  readonly operations: Operation[] = [];
  private readonly clock: Clock;
  private readonly rolloutMs: number;
  private readonly stateFile: string | undefined;

  constructor({ clock, rolloutSeconds = DEFAULT_SANDBOX_ROLLOUT_SECONDS, initialVersions = {}, stateFile }: SandboxTargetOptions) {
    this.clock = clock;
    this.rolloutMs = rolloutSeconds * 1_000;
    this.stateFile = stateFile;
    for (const [key, version] of Object.entries(initialVersions)) this.workloads.set(key, { stableVersion: version });
    this.reload();
  }

  /** Reads what the state file holds (another replica may have changed the cluster since), like asking a real cluster. */
  private reload(): void {
    if (this.stateFile === undefined || !existsSync(this.stateFile)) return;
    const saved = JSON.parse(readFileSync(this.stateFile, 'utf8')) as { workloads: Record<string, Workload> };
    for (const [key, workload] of Object.entries(saved.workloads)) this.workloads.set(key, workload);
  }

  /** Operations recorded in a state file's log, by every process that used it (tests count them). */
  static operationsIn(stateFile: string): Operation[] {
    const log = `${stateFile}.operations.jsonl`;
    if (!existsSync(log)) return [];
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Operation);
  }

  private record(operation: Operation): void {
    this.operations.push(operation);
    if (this.stateFile === undefined) return;
    this.save();
    appendFileSync(`${this.stateFile}.operations.jsonl`, `${JSON.stringify(operation)}\n`);
  }

  /** Write-then-rename: a crash leaves the old state or the new one, never half of one. */
  private save(): void {
    if (this.stateFile === undefined) return;
    const temporary = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify({ workloads: Object.fromEntries(this.workloads) }));
    renameSync(temporary, this.stateFile);
  }

  /** The rollout of this step will fail with `reason`. */
  failStep(workload: WorkloadRef, index: number, reason = 'pods crash-looping (CrashLoopBackOff)'): void {
    this.failures.set(`${keyOf(workload)}#${index}`, reason);
  }

  async apply(step: TargetStep): Promise<void> {
    this.reload();
    const workload = this.workload(step);
    const failure = this.failures.get(`${keyOf(step)}#${step.index}`);
    workload.rollout = { deploymentId: step.deploymentId, version: step.version, stepIndex: step.index, trafficPercent: step.trafficPercent, readyAt: this.clock.now().getTime() + this.rolloutMs };
    if (failure !== undefined) workload.failure = failure;
    else delete workload.failure;
    this.record({ kind: 'apply', step: { ...step } });
  }

  async rollback(to: WorkloadRef & { deploymentId: string; version: string | null }): Promise<void> {
    this.reload();
    this.workloads.set(keyOf(to), { stableVersion: to.version });
    this.record({ kind: 'rollback', deploymentId: to.deploymentId, service: to.service, environment: to.environment, version: to.version });
  }

  async status(ref: WorkloadRef): Promise<TargetStatus> {
    this.reload();
    const workload = this.workload(ref);
    const { rollout } = workload;
    if (rollout === undefined) return { stableVersion: workload.stableVersion, state: 'idle' };
    const { readyAt, ...shown } = rollout;
    const ready = this.clock.now().getTime() >= readyAt;
    if (ready && workload.failure !== undefined) return { stableVersion: workload.stableVersion, state: 'failed', rollout: shown, reason: workload.failure };
    if (ready && rollout.trafficPercent === 100 && workload.stableVersion !== rollout.version) {
      workload.stableVersion = rollout.version;
      this.save();
    }
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
