import { DecideWatchPayload, monitoringEventSchemas, READ_MODEL_ADMIN_ROLES, RecordSamplesPayload, WatchIndexRebuildPayload, watchStreamId, type DecideWatchResult, type RecordSamplesResult } from '@gatehouse/contracts';
import { type CommandContext, OutOfOrderError, requireCaller } from '@gatehouse/bus';
import {
  alertDeliveryDecider,
  alertDeliveryEffects,
  alertDeliveryStreamId,
  deploymentStreamId,
  DomainError,
  NoActiveWatchError,
  parseOrThrow,
  watchDecider,
  watchRulesFor,
  type AlertMessage,
  type WatchCommand,
  WATCH_DEADLINE_EVENT_TYPES,
  WATCH_TIMER_TARGET,
  watchDeadlineFacts,
  watchDeadlinesWorkflow,
  type WatchDeadlineEvent,
  type WatchEvent,
  type WatchState,
} from '@gatehouse/domain';
import type { ReceivedEvent } from '@gatehouse/bus';
import type { EventMetadata, StoredEvent } from '@gatehouse/eventstore';
import { getEnvironmentPolicy, prometheusPolicyOf } from '@gatehouse/policy';
import { createEffectRunner, createTimerRunner, handleCommand, registeredCounter, type ServiceContext, startTicker, type TimerTarget, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';
import { Histogram, type Registry } from 'prom-client';
import { alertDeliveryConfigFromEnv, webhookAlertPort, type AlertDeliveryConfig } from './alerts/webhooks.js';
import { createPrometheusClient } from './prometheus/client.js';
import { createPrometheusSource } from './prometheus/source.js';
import {
  AlertRaisedData,
  RollbackLimitReachedData,
  DEPLOYMENT_ENDINGS,
  DeploymentEndedData,
  DeploymentStartedData,
  DeploymentSucceededData,
  EMERGENCY_KIND,
  type DeploymentEnding,
} from './inbound.js';
import { WatchIndex, type WatchIndexRebuildReport } from './watchIndex.js';

export const MONITORING_ACTOR = 'monitoring';
/** The watch events whose deadlines the workflow follows, with their schemas. */
export const WATCH_DEADLINE_SCHEMAS = Object.fromEntries(WATCH_DEADLINE_EVENT_TYPES.map((type) => [type, monitoringEventSchemas[type]])) as {
  [T in (typeof WATCH_DEADLINE_EVENT_TYPES)[number]]: (typeof monitoringEventSchemas)[T];
};
/** How often due watch timers are checked against the clock. */
export const DEFAULT_TIMER_CHECK_INTERVAL_MS = 1_000;
/** Durable consumer of the workflow that arms and disarms the watches' end and decision timers. */
export const WATCH_DEADLINES_CONSUMER = 'monitoring-watch-deadlines';
/** Category of the alert delivery streams (`alert-delivery-<alertId>`), whose open intents any replica resumes. */
export const ALERT_DELIVERY_CATEGORY = 'alert';
export const ALERT_DELIVERY_EVENT_TYPES = ['AlertDeliveryIntended', 'AlertDelivered', 'AlertDeliveryFailed'] as const;

/** What a watch timer sends (armed by `watchDeadlinesWorkflow`); its `now` is the instant it fired. */
const WatchTimerCommandSchema = z.object({ type: z.enum(['CompleteWatch', 'ExpireWatchDecision']), data: z.object({ changeRequestId: z.string().min(1) }) });

export interface MonitoringServiceOptions {
  /** @defaultValue DEFAULT_TIMER_CHECK_INTERVAL_MS */
  timerCheckIntervalMs?: number;
  /** Prometheus base URL: the watches' triggers are read from it. @defaultValue env PROMETHEUS_URL; unset: pushed samples only */
  prometheusUrl?: string;
  /** How often due Prometheus queries are looked for, in ms. @defaultValue timerCheckIntervalMs */
  prometheusCheckIntervalMs?: number;
  /** Alert channels (webhooks). @defaultValue alertDeliveryConfigFromEnv(env) */
  alertDelivery?: AlertDeliveryConfig;
  /** How long a delivery's performer is trusted to finish it before another replica (or a restart) claims it. @defaultValue DEFAULT_EFFECT_LEASE_MS (30 s) */
  effectLeaseMs?: number;
  /** Where the defaults above are read. @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What the controller (monitoring.controller.ts) hands over: reactions, commands, and the timers' stop. */
export interface Monitoring {
  onDeploymentEvent(event: StoredEvent): Promise<void>;
  onAlertEvent(event: StoredEvent): Promise<void>;
  /** libs/domain `watchDeadlinesWorkflow`, as the handler of its durable consumer. */
  onWatchDeadlineEvent(received: ReceivedEvent): Promise<void>;
  /** The service's workflow timers (a replay of the `workflowTimer` streams): what its timer runner fires. */
  onTimerEvent(event: StoredEvent): void;
  /** Alert delivery streams (a replay of their events): those with an intent left open are resumed. */
  onAlertDeliveryEvent(event: StoredEvent): void;
  decideWatch(raw: unknown, meta: CommandContext): Promise<DecideWatchResult>;
  recordSamples(raw: unknown): Promise<RecordSamplesResult>;
  /** Rebuilds the watch index from the whole log (sre, release_engineer). */
  rebuildWatchIndex(raw: unknown, meta: CommandContext): Promise<WatchIndexRebuildReport & { requestedBy: string }>;
  /** Stops the timer runner and loops (watch timers, Prometheus queries, alert delivery resumption). */
  stop(): Promise<void>;
}

/**
 * Monitoring: watches every deployment (stream `watch-<changeRequestId>`), records pushed metric samples,
 * fires rollback triggers and alerts (deployments owns the rollback they ask for), and completes the watch on its timer.
 * Catches its watch index up and starts the timer runner and loops; the controller routes commands and events here.
 * The watch's end and the deadline of a decision on a paused watch are workflow timers (`watchDeadlinesWorkflow`),
 * fired by the service's timer runner under the id `<timerId>:<generation>:fire`, so two replicas complete a watch once.
 */
export async function startMonitoring(ctx: ServiceContext, options: MonitoringServiceOptions = {}): Promise<Monitoring> {
  const { timerCheckIntervalMs, env = process.env } = options;
  const prometheusUrl = options.prometheusUrl ?? (env['PROMETHEUS_URL'] || undefined);
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
    const target = { service: data.service, environment: data.environment, version: data.version, ...(data.previousVersion !== undefined && { stableVersion: data.previousVersion }) };
    const limit = policy.rollback.automatic.maxConsecutiveRollbacks;
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
          rules: watchRulesFor(policy, enhanced, target),
          ...(data.previousVersion !== undefined && { stableVersion: data.previousVersion }),
          ...(limit !== undefined && {
            automaticRollbacks: { max: limit, consecutive: index.consecutiveAutomaticRollbacks(data.service, data.environment), pageChannels: [...policy.rollback.automatic.pageChannels] },
          }),
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

  /**
   * A deployment's success or ending can arrive before its start: JetStream redelivers a start this process took
   * and never acknowledged (killed meanwhile) only after its ack wait, while later events flow. The watch decider
   * does nothing with a success on a watch not started, so taking it then would lose it for good (the watch would
   * end only on the provisional timer, which waits for that success: the change stayed validating). When the
   * decision found the watch not started (nothing was written) while the deployment has started, wait instead: the
   * event is retried with back-off until the start was handled.
   */
  async function awaitWatchStarted(watch: WatchState, changeRequestId: string, event: StoredEvent): Promise<void> {
    if (watch.status !== 'not_started') return;
    const deployment = await store.readStream(deploymentStreamId(changeRequestId), { maxCount: 1 });
    if (deployment[0]?.type !== 'DeploymentStarted') return;
    throw new OutOfOrderError(`${event.type} ${event.id} of ${changeRequestId} came before its watch started (DeploymentStarted ${deployment[0].id} not handled yet)`);
  }

  async function onDeploymentSucceeded(event: StoredEvent): Promise<void> {
    const data = DeploymentSucceededData.parse(event.data);
    const result = await decide('ArmWatchTimer', data.changeRequestId, { type: 'ArmWatchTimerOnCompletion', data: { completedAt: data.completedAt } }, `${event.id}:ArmWatchTimer`, metadataOf(event));
    await awaitWatchStarted(result.state, data.changeRequestId, event);
  }

  async function onDeploymentEnded(event: StoredEvent): Promise<void> {
    const data = DeploymentEndedData.parse(event.data);
    const reason = DEPLOYMENT_ENDINGS[event.type as DeploymentEnding];
    const result = await decide('EndWatch', data.changeRequestId, { type: 'EndWatch', data: { reason, now: clock.now() } }, `${event.id}:EndWatch`, metadataOf(event));
    await awaitWatchStarted(result.state, data.changeRequestId, event);
  }

  async function onDeploymentEvent(event: StoredEvent): Promise<void> {
    if (event.type === 'DeploymentStarted') await onDeploymentStarted(event);
    else if (event.type === 'DeploymentSucceeded') await onDeploymentSucceeded(event);
    else if (event.type in DEPLOYMENT_ENDINGS) await onDeploymentEnded(event);
  }

  async function decideWatch(raw: unknown, meta: CommandContext): Promise<DecideWatchResult> {
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
  }

  async function recordSamples(raw: unknown): Promise<RecordSamplesResult> {
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
  }

  // ---------------------------------------------------------------- watch deadlines (workflow timers)
  const watchDeadlines = workflowReaction({
    name: WATCH_DEADLINES_CONSUMER,
    dataSchemas: WATCH_DEADLINE_SCHEMAS,
    workflow: watchDeadlinesWorkflow,
    prepare: async (stored) => {
      const event = { type: stored.type, data: stored.data } as WatchDeadlineEvent;
      const history = await store.readStream(watchStreamId(event.data.changeRequestId));
      return { input: { event, watch: watchDeadlineFacts(history.map((e) => ({ type: e.type, data: e.data }) as WatchEvent)) }, state: null };
    },
    timers: { store, owner: ctx.name, clock },
    logger,
    metrics: ctx.metrics,
  });
  /** The `watch` timer target: a fired end completes the watch (or pauses it, inconclusive), a fired decision deadline aborts it. */
  const watchTimerTarget: TimerTarget = async (raw, { commandId, firedAt, correlationId }) => {
    const { type, data } = parseOrThrow(WatchTimerCommandSchema, raw, 'watch timer command');
    const result = await decide(type, data.changeRequestId, { type, data: { now: firedAt } }, commandId, { actor: MONITORING_ACTOR, correlationId });
    return result.events.map((e) => e.type);
  };
  const timers = createTimerRunner({
    owner: ctx.name,
    store,
    clock,
    targets: { [WATCH_TIMER_TARGET]: watchTimerTarget },
    ...((timerCheckIntervalMs ?? ctx.tickIntervalMs) !== undefined && { intervalMs: timerCheckIntervalMs ?? ctx.tickIntervalMs }),
    logger,
    metrics: ctx.metrics,
  });

  // ---------------------------------------------------------------- the Prometheus metric source
  const prometheus =
    prometheusUrl === undefined
      ? undefined
      : createPrometheusSource({
          client: createPrometheusClient({ url: prometheusUrl }),
          clock,
          minPointsFor: (environment) => prometheusPolicyOf(getEnvironmentPolicy(ctx.policies.current, environment)).minPoints,
          decide: (commandName, changeRequestId, command, commandId) =>
            decide(commandName, changeRequestId, command, commandId, { actor: MONITORING_ACTOR, correlationId: commandId }).catch((error: unknown) => {
              // The watch ended meanwhile, or a replica appended first: the next window is evaluated anyway.
              if (!(error instanceof DomainError)) throw error;
            }),
          onEvaluated: (outcome, ms) => metrics.prometheusQueries.observe({ outcome }, ms / 1000),
        });
  const prometheusTicker =
    prometheus === undefined
      ? undefined
      : startTicker(
          options.prometheusCheckIntervalMs ?? timerCheckIntervalMs ?? ctx.tickIntervalMs ?? DEFAULT_TIMER_CHECK_INTERVAL_MS,
          async () => {
            await index.catchUp();
            await prometheus.evaluate(index.openWatches());
          },
          (error) => logger.error({ error: String(error) }, 'Prometheus evaluation failed; retrying at the next interval'),
        );
  if (prometheusUrl !== undefined) logger.info({ prometheusUrl }, 'reading watch triggers from Prometheus');

  // ---------------------------------------------------------------- alert delivery (effect runner: intent, webhook, record)
  const alertPort = webhookAlertPort(options.alertDelivery ?? alertDeliveryConfigFromEnv(env));
  const alertEffects = createEffectRunner({
    store,
    decider: alertDeliveryDecider,
    protocol: alertDeliveryEffects((effectId) => alertPort.outcomeOf(effectId)),
    port: alertPort,
    clock,
    actor: MONITORING_ACTOR,
    logger,
    ...(options.effectLeaseMs !== undefined && { leaseMs: options.effectLeaseMs }),
    onSettled: (effect) => metrics.alertDeliveries.inc({ channel: effect.channel }),
  });
  /**
   * Delivery streams with an intent left open (a failed webhook, a crash mid-delivery), by stream: the open effect ids.
   * Folded from the store's delivery events (a replay at every start), whichever replica recorded them, so any replica
   * resumes them; resuming claims an attempt with the expected version, so only one performs it.
   */
  const openDeliveries = new Map<string, Set<string>>();
  function onAlertDeliveryEvent(event: StoredEvent): void {
    const { effectId } = event.data as { effectId?: unknown };
    if (typeof effectId !== 'string') return;
    const open = openDeliveries.get(event.streamId) ?? new Set<string>();
    if (event.type === 'AlertDeliveryIntended') open.add(effectId);
    else open.delete(effectId);
    if (open.size > 0) openDeliveries.set(event.streamId, open);
    else openDeliveries.delete(event.streamId);
  }
  async function deliver(event: StoredEvent, message: AlertMessage, channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    await alertEffects.decide(alertDeliveryStreamId(event.id), { type: 'RequestAlertDelivery', data: { message, channels, now: clock.now() } }, `${event.id}:deliver`, metadataOf(event));
  }
  async function onAlertEvent(event: StoredEvent): Promise<void> {
    if (event.type === 'AlertRaised') {
      const a = AlertRaisedData.parse(event.data);
      const message: AlertMessage = { alertId: event.id, kind: 'alert', rule: a.rule, severity: a.severity, changeRequestId: a.changeRequestId, service: a.service, environment: a.environment, summary: a.reason, raisedAt: a.raisedAt };
      await deliver(event, message, a.channels);
    } else {
      const p = RollbackLimitReachedData.parse(event.data);
      const message: AlertMessage = { alertId: event.id, kind: 'page', rule: p.triggerId, severity: 'critical', changeRequestId: p.changeRequestId, service: p.service, environment: p.environment, summary: p.reason, raisedAt: p.at };
      await deliver(event, message, p.pageChannels);
    }
  }
  const deliveryTicker = startTicker(
    timerCheckIntervalMs ?? ctx.tickIntervalMs ?? DEFAULT_TIMER_CHECK_INTERVAL_MS,
    async () => {
      for (const streamId of [...openDeliveries.keys()]) {
        // Only intents whose lease ran out are claimed (the replica performing one holds it meanwhile).
        await alertEffects.resume(streamId);
      }
    },
    (error) => logger.error({ error: String(error) }, 'alert delivery resume failed'),
  );

  timers.start();

  async function rebuildWatchIndex(raw: unknown, meta: CommandContext): Promise<WatchIndexRebuildReport & { requestedBy: string }> {
    const caller = requireCaller(meta);
    if (!caller.roles.some((role) => READ_MODEL_ADMIN_ROLES.includes(role))) throw new RebuildForbiddenError(caller.subject);
    parseOrThrow(WatchIndexRebuildPayload, raw, 'monitoring.rebuildWatchIndex');
    logger.info({ requestedBy: caller.subject }, 'watch index rebuild requested');
    const report = await index.rebuild();
    logger.info({ requestedBy: caller.subject, ...report }, 'watch index rebuilt from the log');
    return { ...report, requestedBy: caller.subject };
  }

  return {
    onDeploymentEvent,
    onAlertEvent,
    onWatchDeadlineEvent: watchDeadlines,
    onTimerEvent: (event) => timers.onTimerEvent(event),
    onAlertDeliveryEvent,
    decideWatch,
    recordSamples,
    rebuildWatchIndex,
    async stop() {
      await prometheusTicker?.stop();
      await deliveryTicker.stop();
      await timers.stop();
    },
  };
}

/** The caller holds none of READ_MODEL_ADMIN_ROLES; nothing was rebuilt. */
export class RebuildForbiddenError extends DomainError {
  override readonly name = 'RebuildForbiddenError';
  readonly code = 'REBUILD_FORBIDDEN' as const;
  constructor(readonly subject: string) {
    super(`${subject} may not rebuild the watch index: it takes one of the roles ${READ_MODEL_ADMIN_ROLES.join(', ')}`);
  }
}

function monitoringMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    commands: counter('gatehouse_monitoring_commands_total', 'Watch commands handled, by command and outcome', ['command', 'outcome']),
    eventsAppended: counter('gatehouse_monitoring_events_appended_total', 'Events appended to watch streams, by type', ['type']),
    samplesRecorded: counter('gatehouse_monitoring_samples_recorded_total', 'Metric samples recorded, by environment', ['environment']),
    rollbacksRequested: counter('gatehouse_monitoring_rollbacks_requested_total', 'Rollback triggers fired (deployments performs the rollback), by environment', ['environment']),
    alertDeliveries: counter('gatehouse_monitoring_alert_deliveries_total', 'Alert deliveries settled (sent or failed after their attempts), by channel', ['channel']),
    prometheusQueries:
      (registry.getSingleMetric('gatehouse_monitoring_prometheus_query_seconds') as Histogram<'outcome'> | undefined) ??
      new Histogram({ name: 'gatehouse_monitoring_prometheus_query_seconds', help: 'Prometheus range queries of watch triggers: time to answer, by outcome (samples or inconclusive)', labelNames: ['outcome'], registers: [registry] }),
  };
}
