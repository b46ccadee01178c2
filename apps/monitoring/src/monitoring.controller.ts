import { MONITORING_CONTEXT, type DecideWatchResult, type RecordSamplesResult } from '@gatehouse/contracts';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, busConsumer, busEvents, type CommandRpcContext, type EventRpcContext, timerIndexConsumer } from '@gatehouse/service-kit';
import { Controller, Inject, type OnModuleDestroy } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { DEPLOYMENT_ENDINGS } from './inbound.js';
import { ALERT_DELIVERY_CATEGORY, ALERT_DELIVERY_EVENT_TYPES, type Monitoring, WATCH_DEADLINE_SCHEMAS, WATCH_DEADLINES_CONSUMER } from './monitoringService.js';
import type { WatchIndexRebuildReport } from './watchIndex.js';

export const MONITORING = 'MONITORING';
const TIMERS = timerIndexConsumer('monitoring');

/** `monitoring.*` commands and the reactions to deployments and alerts, handed to the monitoring runtime (monitoringService.ts). */
@Controller()
export class MonitoringController implements OnModuleDestroy {
  constructor(@Inject(MONITORING) private readonly monitoring: Monitoring) {}

  @MessagePattern(busCommand(MONITORING_CONTEXT, 'decideWatch'))
  decideWatch(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<DecideWatchResult> {
    return this.monitoring.decideWatch(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(MONITORING_CONTEXT, 'recordSamples'))
  recordSamples(@Payload() raw: unknown): Promise<RecordSamplesResult> {
    return this.monitoring.recordSamples(raw);
  }

  @MessagePattern(busCommand(MONITORING_CONTEXT, 'rebuildWatchIndex'))
  rebuildWatchIndex(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<WatchIndexRebuildReport & { requestedBy: string }> {
    return this.monitoring.rebuildWatchIndex(raw, rpc.getCommand());
  }

  /** A watch opens with each deployment, is armed when it succeeds, and ends with it otherwise. */
  @EventPattern(busConsumer('monitoring-deployments'), busEvents({ categories: ['deployment'], eventTypes: ['DeploymentStarted', 'DeploymentSucceeded', ...Object.keys(DEPLOYMENT_ENDINGS)] }))
  onDeployment(@Payload() event: StoredEvent): Promise<void> {
    return this.monitoring.onDeploymentEvent(event);
  }

  /** Alerts and rollback-limit pages are delivered to their channels (intent, webhook, outcome). */
  @EventPattern(busConsumer('monitoring-alerts'), busEvents({ categories: ['watch'], eventTypes: ['AlertRaised', 'AutomaticRollbackLimitReached'] }))
  onAlert(@Payload() event: StoredEvent): Promise<void> {
    return this.monitoring.onAlertEvent(event);
  }

  /** libs/domain `watchDeadlinesWorkflow`: a timer for each watch's end and for a paused watch's decision deadline. */
  @EventPattern(busConsumer(WATCH_DEADLINES_CONSUMER), busEvents({ categories: ['watch'], eventTypes: Object.keys(WATCH_DEADLINE_SCHEMAS), dataSchemas: WATCH_DEADLINE_SCHEMAS }))
  armWatchDeadlines(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.monitoring.onWatchDeadlineEvent(rpc.getReceived());
  }

  /** The timers this service owns, armed and not yet fired or cancelled: what its timer runner fires. */
  @EventPattern(busConsumer(TIMERS.name), busEvents({ replay: TIMERS.replay, categories: TIMERS.categories, eventTypes: TIMERS.eventTypes }))
  indexTimers(@Payload() event: StoredEvent): void {
    this.monitoring.onTimerEvent(event);
  }

  /** Alert deliveries with an intent left open, from the store (any replica resumes them). */
  @EventPattern(busConsumer('monitoring-alert-deliveries'), busEvents({ replay: true, categories: [ALERT_DELIVERY_CATEGORY], eventTypes: [...ALERT_DELIVERY_EVENT_TYPES] }))
  indexAlertDeliveries(@Payload() event: StoredEvent): void {
    this.monitoring.onAlertDeliveryEvent(event);
  }

  onModuleDestroy(): Promise<void> {
    return this.monitoring.stop();
  }
}
