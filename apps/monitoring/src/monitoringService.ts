import { DecideWatchPayload, MONITORING_CONTEXT, RecordSamplesPayload, watchStreamId, type DecideWatchResult, type RecordSamplesResult } from '@gatehouse/contracts';
import { requireCaller } from '@gatehouse/bus';
import { DomainError, NoActiveWatchError, parseOrThrow, watchDecider, watchRulesFor, type WatchCommand } from '@gatehouse/domain';
import type { EventMetadata, StoredEvent } from '@gatehouse/eventstore';
import { getEnvironmentPolicy } from '@gatehouse/policy';
import { handleCommand, registeredCounter, type ServiceContext, type ServiceDefinition, startTicker } from '@gatehouse/service-kit';
import type { Registry } from 'prom-client';
import {
  DEPLOYMENT_ENDINGS,
  DeploymentEndedData,
  DeploymentStartedData,
  DeploymentSucceededData,
  EMERGENCY_KIND,
  type DeploymentEnding,
} from './inbound.js';
import { WatchIndex } from './watchIndex.js';

export const MONITORING_ACTOR = 'monitoring';
/** How often due watch timers are checked against the clock. */
export const DEFAULT_TIMER_CHECK_INTERVAL_MS = 1_000;

export interface MonitoringServiceOptions {
  /** @defaultValue DEFAULT_TIMER_CHECK_INTERVAL_MS */
  timerCheckIntervalMs?: number;
}

/**
 * Monitoring: watches every deployment (stream `watch-<changeRequestId>`), records pushed metric samples,
 * fires rollback triggers and alerts (deployments owns the rollback they ask for), and completes the watch on its timer.
 */
export function createMonitoringService({ timerCheckIntervalMs }: MonitoringServiceOptions = {}): ServiceDefinition {
  return {
    name: MONITORING_CONTEXT,
    async start(ctx) {
      const { store, clock, logger } = ctx;
      const metrics = monitoringMetrics(ctx.metrics);
      // Which watch is open for a service and environment, read from the store (every replica's appends), so
      // any replica serves any watch; caught up before each use.
      const index = new WatchIndex(store);
      await index.catchUp();

      async function decide(commandName: string, changeRequestId: string, command: WatchCommand, commandId: string, metadata: Omit<EventMetadata, 'causationId'>) {
        try {
          const result = await handleCommand({ store, decider: watchDecider, streamId: watchStreamId(changeRequestId), command, commandId, metadata });
          for (const event of result.events) {
            index.apply(event);
            metrics.eventsAppended.inc({ type: event.type });
            if (event.type === 'RollbackTriggerFired' && (event.data as { action: string }).action === 'rollback') metrics.rollbacksRequested.inc({ environment: (event.data as { environment: string }).environment });
          }
          metrics.commands.inc({ command: commandName, outcome: result.duplicate ? 'duplicate' : 'accepted' });
          return result;
        } catch (error) {
          metrics.commands.inc({ command: commandName, outcome: error instanceof DomainError ? 'refused' : 'error' });
          throw error;
        }
      }

      const metadataOf = (event: StoredEvent, extra: Omit<EventMetadata, 'causationId'> = {}) => ({
        actor: MONITORING_ACTOR,
        ...(event.metadata.correlationId !== undefined && { correlationId: event.metadata.correlationId }),
        ...extra,
      });

      async function onDeploymentStarted(event: StoredEvent): Promise<void> {
        const data = DeploymentStartedData.parse(event.data);
        const policies = ctx.policies.current;
        const policy = getEnvironmentPolicy(policies, data.environment);
        await index.catchUp();
        const enhanced = index.changeKind(data.changeRequestId) === EMERGENCY_KIND && policy.emergency.enhancedMonitoring;
        await decide(
          'StartWatch',
          data.changeRequestId,
          {
            type: 'StartWatch',
            data: {
              changeRequestId: data.changeRequestId,
              deploymentId: data.deploymentId,
              service: data.service,
              version: data.version,
              environment: data.environment,
              enhanced,
              rules: watchRulesFor(policy, enhanced),
              postDeploymentHours: policy.monitoring.postDeploymentHours,
              expectedDurationMinutes: data.steps.reduce((sum, s) => sum + s.durationMinutes, 0),
              ...(policy.monitoring.analysis !== undefined && { analysis: policy.monitoring.analysis }),
              now: clock.now(),
            },
          },
          `${event.id}:StartWatch`,
          metadataOf(event, { policyVersion: policies.policyVersion }),
        );
      }

      async function onDeploymentSucceeded(event: StoredEvent): Promise<void> {
        const data = DeploymentSucceededData.parse(event.data);
        await decide('ArmWatchTimer', data.changeRequestId, { type: 'ArmWatchTimerOnCompletion', data: { completedAt: data.completedAt } }, `${event.id}:ArmWatchTimer`, metadataOf(event));
      }

      async function onDeploymentEnded(event: StoredEvent): Promise<void> {
        const data = DeploymentEndedData.parse(event.data);
        const reason = DEPLOYMENT_ENDINGS[event.type as DeploymentEnding];
        await decide('EndWatch', data.changeRequestId, { type: 'EndWatch', data: { reason, now: clock.now() } }, `${event.id}:EndWatch`, metadataOf(event));
      }

      const deploymentConsumer = await ctx.events.consume({
        name: 'monitoring-deployments',
        categories: ['deployment'],
        eventTypes: ['DeploymentStarted', 'DeploymentSucceeded', ...Object.keys(DEPLOYMENT_ENDINGS)],
        handler: async ({ event }) => {
          if (event.type === 'DeploymentStarted') await onDeploymentStarted(event);
          else if (event.type === 'DeploymentSucceeded') await onDeploymentSucceeded(event);
          else if (event.type in DEPLOYMENT_ENDINGS) await onDeploymentEnded(event);
        },
      });

      const unregisterDecision = await ctx.commands.register<unknown, DecideWatchResult>(MONITORING_CONTEXT, 'decideWatch', async (raw, meta) => {
        const p = parseOrThrow(DecideWatchPayload, raw, 'monitoring.decideWatch');
        // The decider checks the roles: they are the verified caller's, never the payload's.
        const { roles } = requireCaller(meta);
        const result = await decide(
          'DecideWatch',
          p.changeRequestId,
          { type: 'DecideWatch', data: { decision: p.decision, actor: p.actor, actorRoles: [...roles], ...(p.reason !== undefined && { reason: p.reason }), now: clock.now() } },
          p.commandId,
          { actor: p.actor, ...(p.correlationId !== undefined && { correlationId: p.correlationId }) },
        );
        return { changeRequestId: p.changeRequestId, status: result.state.status, duplicate: result.duplicate };
      });

      const unregister = await ctx.commands.register<unknown, RecordSamplesResult>(MONITORING_CONTEXT, 'recordSamples', async (raw) => {
        const payload = parseOrThrow(RecordSamplesPayload, raw, 'monitoring.recordSamples');
        await index.catchUp();
        const changeRequestId = index.activeWatch(payload.service, payload.environment);
        if (changeRequestId === undefined) {
          metrics.commands.inc({ command: 'RecordSamples', outcome: 'refused' });
          throw new NoActiveWatchError(payload.service, payload.environment);
        }
        const result = await decide(
          'RecordSamples',
          changeRequestId,
          { type: 'RecordSamples', data: { service: payload.service, environment: payload.environment, samples: payload.samples, now: clock.now() } },
          payload.commandId,
          { actor: payload.actor ?? MONITORING_ACTOR, correlationId: payload.correlationId ?? payload.commandId },
        );
        metrics.samplesRecorded.inc({ environment: payload.environment }, result.duplicate ? 0 : payload.samples.length);
        const fired = result.decided.flatMap((e) =>
          e.type === 'RollbackTriggerFired' ? [{ triggerId: e.data.triggerId, action: e.data.action }] : e.type === 'AlertRaised' ? [{ triggerId: e.data.rule, action: 'alert' as const }] : [],
        );
        const last = result.events.at(-1);
        return { changeRequestId, recorded: payload.samples.length, fired, position: last === undefined ? null : String(last.globalPosition), duplicate: result.duplicate };
      });

      // Watch timers: checked against ctx.clock; CompleteWatch appends with the expected version and
      // a command id derived from the arming event, so a timer completes its watch once.
      const ticker = startTicker(
        timerCheckIntervalMs ?? ctx.tickIntervalMs ?? DEFAULT_TIMER_CHECK_INTERVAL_MS,
        async () => {
          await index.catchUp();
          const now = clock.now();
          for (const { changeRequestId, armedBy } of index.dueTimers(now)) {
            await decide('CompleteWatch', changeRequestId, { type: 'CompleteWatch', data: { now } }, `${armedBy}:CompleteWatch`, { actor: MONITORING_ACTOR }).catch((error: unknown) =>
              logger.error({ changeRequestId, error: String(error) }, 'watch timer could not complete the watch; retrying on the next check'),
            );
          }
          // A watch paused on an inconclusive analysis is aborted (and so rolled back) when nobody decided in time.
          for (const { changeRequestId, pausedBy } of index.expiredDecisions(now)) {
            await decide('ExpireWatchDecision', changeRequestId, { type: 'ExpireWatchDecision', data: { now } }, `${pausedBy}:ExpireWatchDecision`, { actor: MONITORING_ACTOR }).catch((error: unknown) =>
              logger.error({ changeRequestId, error: String(error) }, 'paused watch could not be aborted; retrying on the next check'),
            );
          }
        },
        (error) => logger.error({ error: String(error) }, 'watch timer check failed'),
      );

      return {
        async stop() {
          await ticker.stop();
          await unregister();
          await unregisterDecision();
          await deploymentConsumer.stop();
        },
      };
    },
  };
}

export const monitoringService: ServiceDefinition = createMonitoringService();

function monitoringMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    commands: counter('gatehouse_monitoring_commands_total', 'Watch commands handled, by command and outcome', ['command', 'outcome']),
    eventsAppended: counter('gatehouse_monitoring_events_appended_total', 'Events appended to watch streams, by type', ['type']),
    samplesRecorded: counter('gatehouse_monitoring_samples_recorded_total', 'Metric samples recorded, by environment', ['environment']),
    rollbacksRequested: counter('gatehouse_monitoring_rollbacks_requested_total', 'Rollback triggers fired (deployments performs the rollback), by environment', ['environment']),
  };
}
