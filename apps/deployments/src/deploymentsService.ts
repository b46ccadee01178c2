import { AbortDeploymentPayload, PromoteDeploymentPayload, RollbackDeploymentPayload, watchStreamId, type DeploymentCommandResult } from '@gatehouse/contracts';
import { type CommandContext, requireCaller, type VerifiedCaller } from '@gatehouse/bus';
import {
  analyseStep,
  deploymentDecider,
  deploymentEffects,
  deploymentStreamId,
  DomainError,
  openDeploymentIntents,
  parseOrThrow,
  rollbackWorkflow,
  type AnalysisDecisionRules,
  type AnalysisResult,
  type DeploymentCommand,
  type DeploymentEvent,
  type DeploymentProgress,
  type DeploymentState,
  type RollbackInput,
} from '@gatehouse/domain';
import type { EventMetadata, StoredEvent } from '@gatehouse/eventstore';
import { getEnvironmentPolicy, planDeployment, type DeploymentStrategy } from '@gatehouse/policy';
import { createEffectRunner, handleCommand, registeredCounter, type ServiceContext, startTicker } from '@gatehouse/service-kit';
import type { Registry } from 'prom-client';
import { type DeploymentTarget, SandboxTarget } from './target.js';
import { clusterEffects } from './targetEffects.js';
import { kubernetesStreamId } from './kubernetes/fromEnvironment.js';
import { busFlagsPort, featureFlagEffects } from './flagEffects.js';
import { refusalCommandId, refusalRecorder } from './startRefusal.js';

/** How often the runner advances active deployments (step readiness, analysis deadlines), in ms. */
export const DEPLOYMENT_TICK_INTERVAL_MS = 1_000;
const ACTOR = 'deployments';
/** Automatic rollbacks are recorded as done on monitoring's trigger. */
const TRIGGER_ACTOR = 'monitoring';

export interface DeploymentsServiceOptions {
  /** The cluster the plans run on. @defaultValue a SandboxTarget on the service's clock */
  target?: DeploymentTarget | ((ctx: ServiceContext) => DeploymentTarget | Promise<DeploymentTarget>);
  /** @defaultValue DEPLOYMENT_TICK_INTERVAL_MS */
  tickIntervalMs?: number;
  /** How long an intent's performer is trusted to finish it before another attempt is claimed. @defaultValue the target's `effectLeaseMs`, else DEFAULT_EFFECT_LEASE_MS (30 s) */
  effectLeaseMs?: number;
}

type DueData = { changeRequestId: string; releaseId: string; service: string; version: string; environment: string; strategy: DeploymentStrategy };
type TriggerData = { changeRequestId: string; triggerId: string; action: string; reason: string; evidence: Record<string, unknown> };
type WatchAbortedData = { changeRequestId: string; reason: string; actor: string; analysis: Record<string, unknown> };
/** Events after which a deployment has work left for the runner (steps to take, an intent to complete). */
const ACTIVATING = new Set(['DeploymentStarted', 'DeploymentRollbackRequested']);

/** What the controller (deployments.controller.ts) hands over: reactions, commands, and the runner's stop. */
export interface Deployments {
  onRunnerEvent(event: StoredEvent): Promise<void>;
  onRollbackTrigger(event: StoredEvent): Promise<void>;
  abort(raw: unknown, meta: CommandContext): Promise<DeploymentCommandResult>;
  promote(raw: unknown, meta: CommandContext): Promise<DeploymentCommandResult>;
  rollback(raw: unknown, meta: CommandContext): Promise<DeploymentCommandResult>;
  /** Stops the runner's tick (deployments in progress resume from the log at the next start). */
  stop(): Promise<void>;
}

/** Deployment execution: the cluster effects, the runner that advances active deployments on its tick, rollbacks. */
export async function startDeployments(ctx: ServiceContext, options: DeploymentsServiceOptions = {}): Promise<Deployments> {
  const target: DeploymentTarget = typeof options.target === 'function' ? await options.target(ctx) : (options.target ?? new SandboxTarget({ clock: ctx.clock }));
  const metrics = deploymentMetrics(ctx.metrics);
  const leaseMs = options.effectLeaseMs ?? target.effectLeaseMs;
  /** Change requests whose deployment has work left, rebuilt from the log at start. */
  const active = new Set<string>();
  // Every effect on the cluster goes through here: intent recorded, cluster checked, effect performed, outcome recorded.
  const effects = createEffectRunner({
    store: ctx.store,
    decider: deploymentDecider,
    protocol: deploymentEffects,
    // A feature-flag deployment's steps also ramp the flags bound to its service (flags.* on change-requests).
    port: featureFlagEffects(clusterEffects(target), async (changeRequestId) => strategyOf(await load(changeRequestId)), busFlagsPort(ctx.commands)),
    clock: ctx.clock,
    actor: ACTOR,
    logger: ctx.logger,
    ...(leaseMs !== undefined && { leaseMs }),
    onSettled: (effect, performed) => {
      if (!performed) return;
      if (effect.kind === 'ApplyDeploymentStep') metrics.steps.inc({ environment: effect.step.environment });
      else metrics.rollbacks.inc({ environment: effect.to.environment });
    },
    // A step refused for good fails the deployment (its restore is the failure outcome's intent).
    onFailed: (effect) => {
      if (effect.kind === 'ApplyDeploymentStep') metrics.outcomes.inc({ outcome: 'failed' });
    },
  });

  const count = (events: readonly StoredEvent[]) => events.forEach((e) => metrics.appended.inc({ type: e.type }));
  /** A command that may record an intent: the runner performs it before returning. */
  const decide = async (changeRequestId: string, command: DeploymentCommand, commandId: string, metadata: Omit<EventMetadata, 'causationId'> = {}) => {
    const result = await effects.decide(deploymentStreamId(changeRequestId), command, commandId, { actor: ACTOR, ...metadata });
    count(result.events);
    return result;
  };
  const load = async (changeRequestId: string) => {
    const history = await ctx.store.readStream(deploymentStreamId(changeRequestId));
    return history.reduce<DeploymentState>((s, e) => deploymentDecider.evolve(s, e as unknown as DeploymentEvent), deploymentDecider.initialState());
  };
  const rollbackRules = (state: DeploymentState) => (state.status === 'not_started' ? { beyondWindow: 'allowed' as const } : getEnvironmentPolicy(ctx.policies.current, state.environment).rollback);

  async function startDeployment(event: StoredEvent<string, DueData>): Promise<void> {
    const due = event.data;
    const state = await load(due.changeRequestId);
    if (state.status !== 'not_started') return;
    const policy = getEnvironmentPolicy(ctx.policies.current, due.environment);
    try {
      await target.preflight?.(due);
    } catch (error) {
      // Refused at start, naming the cluster (unknown, unreachable, workload missing): nothing was changed anywhere.
      // The due event is replayed at the next start, so the deployment starts once the cluster is back.
      const reason = error instanceof Error ? error.message : String(error);
      ctx.logger.warn({ changeRequestId: due.changeRequestId, environment: due.environment, reason }, 'deployment refused at start by its target');
      // Recorded once however many replicas (or redeliveries) see this due event refused for this reason.
      await handleCommand({
        store: ctx.store,
        decider: refusalRecorder,
        streamId: kubernetesStreamId(event.id),
        command: { type: 'KubernetesDeploymentRefused', data: { deploymentId: event.id, changeRequestId: due.changeRequestId, service: due.service, version: due.version, environment: due.environment, reason, at: ctx.clock.now().toISOString() } },
        commandId: refusalCommandId(event.id, reason),
        metadata: { actor: ACTOR, correlationId: (event.metadata.correlationId as string | undefined) ?? event.id },
      });
      return;
    }
    const now = ctx.clock.now();
    const plan = planDeployment(policy.strategy, due.strategy, { start: now });
    const before = await target.status(due);
    const result = await handleCommand({
      store: ctx.store,
      decider: deploymentDecider,
      streamId: deploymentStreamId(due.changeRequestId),
      command: {
        type: 'StartDeployment',
        data: {
          deploymentId: event.id,
          changeRequestId: due.changeRequestId,
          releaseId: due.releaseId,
          service: due.service,
          version: due.version,
          environment: due.environment,
          strategy: due.strategy,
          steps: plan.steps.map(({ name, trafficPercent, durationMinutes, analysis }, index) => ({ index, name, trafficPercent, durationMinutes, analysis })),
          ...(before.stableVersion !== null ? { previousVersion: before.stableVersion } : {}),
          now,
        },
      },
      commandId: `${event.id}:StartDeployment`,
      metadata: { actor: ACTOR, correlationId: (event.metadata.correlationId as string | undefined) ?? event.id, policyVersion: ctx.policies.current.policyVersion },
    });
    count(result.events);
    active.add(due.changeRequestId);
  }

  /**
   * One move of one deployment: resume an intent left without outcome, then start the next step, complete
   * the step in progress, fail it, or finish. Every replica may call this: a step is claimed by appending
   * its intent with the expected stream version, and only the replica whose append won applies it.
   */
  async function advance(changeRequestId: string): Promise<void> {
    let state = await load(changeRequestId);
    if (openDeploymentIntents(state).length > 0) {
      // An intent without outcome: its performer is at it, or stopped (then, after the lease, it is resumed here).
      const resumed = await effects.resume(deploymentStreamId(changeRequestId));
      if (resumed.length === 0) return;
      count(resumed);
      state = await load(changeRequestId);
    }
    const now = ctx.clock.now();
    if (state.status === 'paused') {
      // Waiting for a person's decision; when the policy's time for it runs out, abort (and roll back).
      if (state.paused !== undefined && now.getTime() >= Date.parse(state.paused.decideBy)) {
        await decide(changeRequestId, { type: 'ExpireAnalysisDecision', data: { changeRequestId, now } }, `${state.deploymentId}:step-${state.paused.index}:decision-expired`);
      }
      return;
    }
    if (state.status !== 'running') {
      if (state.status !== 'restoring') active.delete(changeRequestId);
      return;
    }
    const id = state.deploymentId;
    if (state.current === undefined) {
      if (state.completedSteps >= state.steps.length) {
        const result = await decide(changeRequestId, { type: 'SucceedDeployment', data: { changeRequestId, now } }, `${id}:succeed`);
        if (result.events.length > 0) metrics.outcomes.inc({ outcome: 'succeeded' });
        return;
      }
      const index = state.completedSteps;
      await decide(changeRequestId, { type: 'StartDeploymentStep', data: { changeRequestId, index, now } }, `${id}:step-${index}:start`);
      return;
    }
    const { index, analysisUntil } = state.current;
    const status = await target.status(state);
    if (status.state === 'failed') {
      const reason = `step ${index} (${state.steps[index]?.name}) failed: ${status.reason ?? 'unknown'}`;
      const result = await decide(changeRequestId, { type: 'FailDeployment', data: { changeRequestId, reason, now } }, `${id}:step-${index}:fail`);
      if (result.events.length > 0) metrics.outcomes.inc({ outcome: 'failed' });
      return;
    }
    if (status.state === 'ready' && now.getTime() >= Date.parse(analysisUntil)) {
      const analysed = await stepAnalysis(state, index);
      // A failed analysis is a fired rollback trigger: the rollback workflow restores the previous version.
      if (analysed?.analysis.phase === 'Failed') return;
      await decide(changeRequestId, { type: 'CompleteDeploymentStep', data: { changeRequestId, index, ...analysed, now } }, `${id}:step-${index}:complete`);
    }
  }

  /**
   * The analysis of a step whose plan asks for one, where the environment's policy gates on samples: the
   * step's samples and trigger firings, read from its watch stream in the store (libs/domain `analyse`).
   */
  async function stepAnalysis(state: DeploymentProgress, index: number): Promise<{ analysis: AnalysisResult; decision: AnalysisDecisionRules } | undefined> {
    const step = state.steps[index];
    const policy = getEnvironmentPolicy(ctx.policies.current, state.environment);
    const rules = policy.monitoring.analysis;
    if (step?.analysis !== true || rules === undefined || state.current === undefined) return undefined;
    const watch = await ctx.store.readStream(watchStreamId(state.changeRequestId));
    const { startedAt: from, analysisUntil: until } = state.current;
    const analysis = analyseStep({ watch, triggers: policy.rollback.automatic.triggers, from, until, policy: rules });
    return { analysis, decision: { decisionRoles: rules.decisionRoles, decisionTimeoutMinutes: rules.decisionTimeoutMinutes } };
  }

  /** The one rollback reaction (libs/domain `rollbackWorkflow`), for a trigger and for a person's request alike. */
  async function rollBack(changeRequestId: string, input: (state: DeploymentState) => RollbackInput, metadata: Omit<EventMetadata, 'causationId'>) {
    const state = await load(changeRequestId);
    let result: Awaited<ReturnType<typeof decide>> | undefined;
    for (const output of rollbackWorkflow.decide(input(state), state)) {
      result = await decide(changeRequestId, output.command, output.commandId, metadata);
    }
    return { changeRequestId, state: result?.state ?? state, duplicate: result?.duplicate ?? false };
  }

  async function onRunnerEvent(event: StoredEvent): Promise<void> {
    try {
      if (event.type === 'DeploymentDue') return await startDeployment(event as StoredEvent<string, DueData>);
      const { changeRequestId } = event.data as { changeRequestId: string };
      if (ACTIVATING.has(event.type)) active.add(changeRequestId);
      else active.delete(changeRequestId);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      ctx.logger.warn({ eventId: event.id, type: event.type, code: error.code, error: error.message }, 'deployment reaction refused');
    }
  }

  async function onRollbackTrigger(event: StoredEvent): Promise<void> {
    const data = event.data as { changeRequestId: string };
    const correlation = typeof event.metadata.correlationId === 'string' ? { correlationId: event.metadata.correlationId } : {};
    try {
      if (event.type === 'PostDeploymentWatchAborted') {
        const aborted = event.data as WatchAbortedData;
        await rollBack(data.changeRequestId, (state) => ({ type: 'WatchAborted', eventId: event.id, data: aborted, policy: rollbackRules(state), now: ctx.clock.now() }), { actor: aborted.actor, ...correlation });
        return;
      }
      await rollBack(
        data.changeRequestId,
        (state) => ({ type: 'RollbackTriggered', eventId: event.id, data: event.data as TriggerData, actor: TRIGGER_ACTOR, policy: rollbackRules(state), now: ctx.clock.now() }),
        { actor: TRIGGER_ACTOR, ...correlation },
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      ctx.logger.warn({ eventId: event.id, changeRequestId: data.changeRequestId, code: error.code, error: error.message }, 'automatic rollback refused');
    }
  }

  const ticker = startTicker(
    options.tickIntervalMs ?? ctx.tickIntervalMs ?? DEPLOYMENT_TICK_INTERVAL_MS,
    async () => {
      for (const changeRequestId of [...active]) {
        try {
          await advance(changeRequestId);
        } catch (error) {
          ctx.logger.error({ changeRequestId, error: String(error) }, 'deployment step failed to advance; retrying on the next tick');
        }
      }
      try {
        await target.sweep?.();
      } catch (error) {
        ctx.logger.error({ error: String(error) }, 'target housekeeping failed; retrying on the next tick');
      }
    },
    (error) => ctx.logger.error({ error: String(error) }, 'deployment tick failed'),
  );

  const handle = <P>(command: string, schema: Parameters<typeof parseOrThrow>[0], run: (payload: P, caller: VerifiedCaller) => Promise<DeploymentCommandResult>) => async (raw: unknown, meta: CommandContext) => {
    try {
      // Who acts, and in which roles, is the verified caller's (the gateway signed it from the JWT), never the payload's.
      const result = await run(parseOrThrow(schema, raw, `deployments.${command}`) as P, requireCaller(meta));
      metrics.commands.inc({ command, outcome: 'ok' });
      return result;
    } catch (error) {
      metrics.commands.inc({ command, outcome: error instanceof DomainError ? error.name : 'error' });
      throw error;
    }
  };
  return {
    onRunnerEvent,
    onRollbackTrigger,
    abort: handle('abort', AbortDeploymentPayload, async (p: AbortDeploymentPayload, caller) => {
      // Abort stops the plan and restores the version it replaced, so no user stays on a half-shifted canary.
      const command: DeploymentCommand = {
        type: 'AbortDeployment',
        data: { changeRequestId: p.changeRequestId, reason: p.reason, actor: p.actor, actorRoles: [...caller.roles], now: ctx.clock.now() },
      };
      const result = await decide(p.changeRequestId, command, p.commandId, { actor: p.actor, ...(p.correlationId ? { correlationId: p.correlationId } : {}) });
      return replyOf(p.changeRequestId, result.state, result.duplicate);
    }),
    promote: handle('promote', PromoteDeploymentPayload, async (p: PromoteDeploymentPayload, caller) => {
      const command: DeploymentCommand = {
        type: 'PromoteDeployment',
        data: { changeRequestId: p.changeRequestId, actor: p.actor, actorRoles: [...caller.roles], ...(p.reason !== undefined && { reason: p.reason }), now: ctx.clock.now() },
      };
      const result = await decide(p.changeRequestId, command, p.commandId, {
        actor: p.actor,
        ...(p.correlationId ? { correlationId: p.correlationId } : {}),
      });
      return replyOf(p.changeRequestId, result.state, result.duplicate);
    }),
    rollback: handle('rollback', RollbackDeploymentPayload, async (p: RollbackDeploymentPayload) => {
      const { changeRequestId, reason, initiator, actor, evidence, incidentReviewRef } = p;
      const result = await rollBack(
        changeRequestId,
        (state) => ({
          type: 'RollbackRequested',
          commandId: p.commandId,
          data: { changeRequestId, reason, initiator, actor, ...(evidence !== undefined && { evidence }), ...(incidentReviewRef !== undefined && { incidentReviewRef }) },
          policy: rollbackRules(state),
          now: ctx.clock.now(),
    }),
        { actor, ...(p.correlationId ? { correlationId: p.correlationId } : {}) },
      );
      return replyOf(changeRequestId, result.state, result.duplicate);
    }),
    stop: () => ticker.stop(),
  };
}

function strategyOf(state: DeploymentState): DeploymentStrategy | null {
  return state.status === 'not_started' ? null : state.strategy;
}

function replyOf(changeRequestId: string, state: DeploymentState, duplicate: boolean): DeploymentCommandResult {
  return { changeRequestId, deploymentId: state.status === 'not_started' ? '' : state.deploymentId, status: state.status, duplicate };
}

function deploymentMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    commands: counter('gatehouse_deployments_commands_total', 'Deployment commands handled, by command and outcome', ['command', 'outcome']),
    appended: counter('gatehouse_deployments_events_appended_total', 'Events appended by deployments, by type', ['type']),
    steps: counter('gatehouse_deployments_steps_applied_total', 'Plan steps applied to the target, by environment', ['environment']),
    rollbacks: counter('gatehouse_deployments_rollbacks_performed_total', 'Versions restored on the target (rollback, failure, abort), by environment', ['environment']),
    outcomes: counter('gatehouse_deployments_finished_total', 'Deployments finished by the runner, by outcome', ['outcome']),
  };
}
