/**
 * Effects on the outside world as typed workflow outputs. A workflow never performs anything: it decides
 * commands (with deterministic ids derived from the causing event) and its deciders record an **intent**
 * event for each effect. The effect runner (libs/service-kit `effect-runner.ts`) performs the intent
 * idempotently and records the **outcome** — or, when the outside world refused it for good, its **failure
 * outcome**; an intent without either is resumed after a restart.
 *
 * Every intent event, and every claim of another attempt at it, carries `data.effectId`: that is how the
 * runner finds when an intent was last claimed (its lease).
 */

/** What every effect has: its kind and the id its intent, claims and outcome carry. */
export interface EffectShape {
  readonly kind: string;
  readonly effectId: string;
}

/** Starts one plan step on the cluster (traffic share of the new version). */
export interface ApplyDeploymentStep {
  readonly kind: 'ApplyDeploymentStep';
  readonly effectId: string;
  readonly changeRequestId: string;
  readonly step: Readonly<{ deploymentId: string; service: string; environment: string; version: string; strategy: string; index: number; name: string; trafficPercent: number }>;
}

/** Restores one version for all traffic of a workload (null: the workload had no version before). */
export interface RollBackWorkload {
  readonly kind: 'RollBackWorkload';
  readonly effectId: string;
  readonly changeRequestId: string;
  readonly to: Readonly<{ deploymentId: string; service: string; environment: string; version: string | null }>;
}

export type DeploymentEffect = ApplyDeploymentStep | RollBackWorkload;
/** Every effect a Gatehouse workflow may ask for. */
export type Effect = DeploymentEffect;

/** An intent recorded and not yet followed by its outcome; `attempt` counts the claims on it (1 = the intent itself). */
export interface OpenIntent<E extends EffectShape = Effect> {
  readonly effect: E;
  readonly attempt: number;
}

/**
 * How a decider exposes its effects to the runner, purely: which intents are open in a state, the command
 * that records an effect's outcome, the command that records its failure when the outside world refused it for
 * good (the intent is then closed, never retried), and the command that claims another attempt at an open intent
 * (appended with the expected stream version, so of two replicas only one performs it).
 */
export interface EffectProtocol<Command, State, E extends EffectShape = Effect> {
  openIntents(state: State): readonly OpenIntent<E>[];
  recordOutcome(effect: E, now: Date): Command;
  recordFailure(intent: OpenIntent<E>, reason: string, now: Date): Command;
  claimAttempt(intent: OpenIntent<E>, now: Date): Command;
}
