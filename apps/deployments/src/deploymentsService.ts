import { AbortDeploymentPayload, DEPLOYMENTS_CONTEXT, PromoteDeploymentPayload, RollbackDeploymentPayload, type DeploymentCommandResult } from '@gatehouse/contracts';
import { DomainError, parseOrThrow } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { getEnvironmentPolicy, planDeployment, type DeploymentStrategy } from '@gatehouse/policy';
import { handleCommand, registeredCounter, type ServiceContext, type ServiceDefinition, startTicker } from '@gatehouse/service-kit';
import type { Registry } from 'prom-client';
import { deploymentDecider, deploymentStreamId, idsOf, type DeploymentCommand, type DeploymentProgress, type DeploymentState } from '@gatehouse/domain';
import { type DeploymentTarget, SandboxTarget } from './target.js';

/** How often the runner advances active deployments (step readiness, analysis deadlines), in ms. */
export const DEPLOYMENT_TICK_INTERVAL_MS = 1_000;
const ACTOR = 'deployments';

export interface DeploymentsServiceOptions {
  /** The cluster the plans run on. @defaultValue a SandboxTarget on the service's clock */
  target?: DeploymentTarget | ((ctx: ServiceContext) => DeploymentTarget);
  /** @defaultValue DEPLOYMENT_TICK_INTERVAL_MS */
  tickIntervalMs?: number;
}

type DueData = { changeRequestId: string; releaseId: string; service: string; version: string; environment: string; strategy: DeploymentStrategy };

export function createDeploymentsService(options: DeploymentsServiceOptions = {}): ServiceDefinition {
  return {
    name: DEPLOYMENTS_CONTEXT,
    async start(ctx) {
      const target = typeof options.target === 'function' ? options.target(ctx) : (options.target ?? new SandboxTarget({ clock: ctx.clock }));
      const metrics = deploymentMetrics(ctx.metrics);
      /** Change requests whose deployment is running, rebuilt from the log at start. */
      const active = new Set<string>();

      const decide = async (changeRequestId: string, command: DeploymentCommand, commandId: string, metadata: Record<string, unknown> = {}) => {
        const result = await handleCommand({ store: ctx.store, decider: deploymentDecider, streamId: deploymentStreamId(changeRequestId), command, commandId, metadata: { actor: ACTOR, ...metadata } });
        result.events.forEach((e) => metrics.appended.inc({ type: e.type }));
        return result;
      };
      const load = async (changeRequestId: string) => {
        const history = await ctx.store.readStream(deploymentStreamId(changeRequestId));
        return { history, state: history.reduce<DeploymentState>((s, e) => deploymentDecider.evolve(s, e as never), deploymentDecider.initialState()) };
      };

      async function startDeployment(event: StoredEvent<string, DueData>): Promise<void> {
        const due = event.data;
        const { state } = await load(due.changeRequestId);
        if (state.status !== 'not_started') return;
        const policy = getEnvironmentPolicy(ctx.policies.current, due.environment);
        const now = ctx.clock.now();
        const plan = planDeployment(policy.strategy, due.strategy, { start: now });
        const before = await target.status(due);
        await decide(
          due.changeRequestId,
          {
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
          `${event.id}:StartDeployment`,
          { correlationId: (event.metadata.correlationId as string | undefined) ?? event.id, policyVersion: ctx.policies.current.policyVersion },
        );
        active.add(due.changeRequestId);
      }

      /** One move of one deployment: start the next step, wait for it, complete it, or finish. Steps are applied once. */
      async function advance(changeRequestId: string): Promise<void> {
        const { state } = await load(changeRequestId);
        if (state.status !== 'running') {
          active.delete(changeRequestId);
          return;
        }
        const now = ctx.clock.now();
        const id = state.deploymentId;
        if (state.current === undefined) {
          if (state.completedSteps >= state.steps.length) {
            await decide(changeRequestId, { type: 'SucceedDeployment', data: { changeRequestId, now } }, `${id}:succeed`);
            metrics.outcomes.inc({ outcome: 'succeeded' });
            return;
          }
          const index = state.completedSteps;
          const started = await decide(changeRequestId, { type: 'StartDeploymentStep', data: { changeRequestId, index, now } }, `${id}:step-${index}:start`);
          if (started.events.length > 0) await applyStep(state, index);
          return;
        }
        const { index, analysisUntil } = state.current;
        const status = await target.status(state);
        const applied = status.rollout?.deploymentId === id && status.rollout.stepIndex === index;
        // Recorded but never applied: the service stopped between the two. Apply it now, once.
        if (!applied) return applyStep(state, index);
        if (status.state === 'failed') {
          await decide(changeRequestId, { type: 'FailDeployment', data: { changeRequestId, reason: `step ${index} (${state.steps[index]?.name}) failed: ${status.reason ?? 'unknown'}`, now } }, `${id}:step-${index}:fail`);
          await target.rollback({ ...state, deploymentId: id, version: state.previousVersion ?? null });
          metrics.outcomes.inc({ outcome: 'failed' });
          return;
        }
        if (status.state === 'ready' && now.getTime() >= Date.parse(analysisUntil)) {
          await decide(changeRequestId, { type: 'CompleteDeploymentStep', data: { changeRequestId, index, now } }, `${id}:step-${index}:complete`);
        }
      }

      async function applyStep(state: DeploymentProgress, index: number): Promise<void> {
        const step = state.steps[index];
        if (step === undefined) return;
        await target.apply({ ...idsOf(state), index, name: step.name, trafficPercent: step.trafficPercent });
        metrics.steps.inc({ environment: state.environment });
      }

      async function rollBack(payload: RollbackDeploymentPayload, commandId: string): Promise<DeploymentCommandResult> {
        const { changeRequestId } = payload;
        const { history, state } = await load(changeRequestId);
        const duplicate = history.some((e) => e.metadata.causationId === commandId);
        const command: DeploymentCommand = {
          type: 'RollBackDeployment',
          data: {
            changeRequestId,
            reason: payload.reason,
            initiator: payload.initiator,
            actor: payload.actor,
            ...(payload.evidence ? { evidence: payload.evidence } : {}),
            ...(payload.incidentReviewRef ? { incidentReviewRef: payload.incidentReviewRef } : {}),
            policy: state.status === 'not_started' ? { beyondWindow: 'allowed' } : getEnvironmentPolicy(ctx.policies.current, state.environment).rollback,
            now: ctx.clock.now(),
          },
        };
        // Decide first (window rules, state): a refused rollback touches neither the target nor the log.
        const decided = duplicate ? [] : deploymentDecider.decide(command, state);
        if (decided.length > 0 && state.status !== 'not_started') {
          await target.rollback({ ...state, version: state.previousVersion ?? null });
        }
        const result = await decide(changeRequestId, command, commandId, { actor: payload.actor, ...(payload.correlationId ? { correlationId: payload.correlationId } : {}) });
        active.delete(changeRequestId);
        return replyOf(changeRequestId, result.state, result.duplicate);
      }

      const consumer = await ctx.events.consume({
        // Replayed from the start at every start, with no durable state: the set of running deployments is rebuilt;
        // reactions are idempotent.
        name: 'deployments-runner',
        replay: true,
        categories: ['schedule', 'deployment', 'watch'],
        eventTypes: ['DeploymentDue', 'DeploymentStarted', 'DeploymentSucceeded', 'DeploymentFailed', 'DeploymentAborted', 'DeploymentRolledBack', 'RollbackTriggerFired'],
        handler: async ({ event }) => {
          try {
            switch (event.type) {
              case 'DeploymentDue':
                return await startDeployment(event as StoredEvent<string, DueData>);
              case 'DeploymentStarted':
                active.add((event.data as { changeRequestId: string }).changeRequestId);
                return;
              case 'RollbackTriggerFired': {
                const data = event.data as { action: string; triggerId: string; evidence: Record<string, unknown> };
                if (data.action !== 'rollback') return;
                const changeRequestId = event.streamId.slice(event.streamId.indexOf('-') + 1);
                const { state } = await load(changeRequestId);
                if (state.status === 'not_started' || state.status === 'rolled_back') return;
                await rollBack(
                  { commandId: `${event.id}:RollBack`, changeRequestId, reason: `automatic rollback: trigger ${data.triggerId} fired`, initiator: 'automatic', evidence: { triggerId: data.triggerId, ...data.evidence }, actor: 'monitoring', ...(typeof event.metadata.correlationId === 'string' ? { correlationId: event.metadata.correlationId } : {}) },
                  `${event.id}:RollBack`,
                );
                return;
              }
              default:
                active.delete((event.data as { changeRequestId: string }).changeRequestId);
            }
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            ctx.logger.warn({ eventId: event.id, type: event.type, code: error.code, error: error.message }, 'deployment reaction refused');
          }
        },
      });

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
        },
        (error) => ctx.logger.error({ error: String(error) }, 'deployment tick failed'),
      );

      const handle = <P>(command: string, schema: Parameters<typeof parseOrThrow>[0], run: (payload: P) => Promise<DeploymentCommandResult>) => async (raw: unknown) => {
        try {
          const result = await run(parseOrThrow(schema, raw, `deployments.${command}`) as P);
          metrics.commands.inc({ command, outcome: 'ok' });
          return result;
        } catch (error) {
          metrics.commands.inc({ command, outcome: error instanceof DomainError ? error.name : 'error' });
          throw error;
        }
      };
      const unregister = [
        await ctx.commands.register(
          DEPLOYMENTS_CONTEXT,
          'abort',
          handle('abort', AbortDeploymentPayload, async (p: AbortDeploymentPayload) => {
            const { history, state } = await load(p.changeRequestId);
            const command: DeploymentCommand = { type: 'AbortDeployment', data: { changeRequestId: p.changeRequestId, reason: p.reason, actor: p.actor, now: ctx.clock.now() } };
            const duplicate = history.some((e) => e.metadata.causationId === p.commandId);
            // Abort stops the plan and restores the version it replaced, so no user stays on a half-shifted canary.
            if (!duplicate && deploymentDecider.decide(command, state).length > 0 && state.status !== 'not_started') {
              await target.rollback({ ...state, version: state.previousVersion ?? null });
            }
            const result = await decide(p.changeRequestId, command, p.commandId, { actor: p.actor, ...(p.correlationId ? { correlationId: p.correlationId } : {}) });
            active.delete(p.changeRequestId);
            return replyOf(p.changeRequestId, result.state, result.duplicate);
          }),
        ),
        await ctx.commands.register(
          DEPLOYMENTS_CONTEXT,
          'promote',
          handle('promote', PromoteDeploymentPayload, async (p: PromoteDeploymentPayload) => {
            const result = await decide(p.changeRequestId, { type: 'PromoteDeployment', data: { changeRequestId: p.changeRequestId, actor: p.actor, now: ctx.clock.now() } }, p.commandId, {
              actor: p.actor,
              ...(p.correlationId ? { correlationId: p.correlationId } : {}),
            });
            return replyOf(p.changeRequestId, result.state, result.duplicate);
          }),
        ),
        await ctx.commands.register(DEPLOYMENTS_CONTEXT, 'rollback', handle('rollback', RollbackDeploymentPayload, (p: RollbackDeploymentPayload) => rollBack(p, p.commandId))),
      ];

      return {
        stop: async () => {
          await ticker.stop();
          await Promise.all(unregister.map((u) => u()));
          await consumer.stop();
        },
      };
    },
  };
}

export const deploymentsService: ServiceDefinition = createDeploymentsService();

function replyOf(changeRequestId: string, state: DeploymentState, duplicate: boolean): DeploymentCommandResult {
  return { changeRequestId, deploymentId: state.status === 'not_started' ? '' : state.deploymentId, status: state.status, duplicate };
}

function deploymentMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    commands: counter('gatehouse_deployments_commands_total', 'Deployment commands handled, by command and outcome', ['command', 'outcome']),
    appended: counter('gatehouse_deployments_events_appended_total', 'Events appended by deployments, by type', ['type']),
    steps: counter('gatehouse_deployments_steps_applied_total', 'Plan steps applied to the target, by environment', ['environment']),
    outcomes: counter('gatehouse_deployments_finished_total', 'Deployments finished by the runner, by outcome', ['outcome']),
  };
}
