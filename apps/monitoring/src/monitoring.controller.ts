import { MONITORING_CONTEXT, type DecideWatchResult, type RecordSamplesResult } from '@gatehouse/contracts';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, busConsumer, busEvents, type CommandRpcContext } from '@gatehouse/service-kit';
import { Controller, Inject, type OnModuleDestroy } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { DEPLOYMENT_ENDINGS } from './inbound.js';
import { type Monitoring } from './monitoringService.js';
import type { WatchIndexRebuildReport } from './watchIndex.js';

export const MONITORING = 'MONITORING';

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

  onModuleDestroy(): Promise<void> {
    return this.monitoring.stop();
  }
}
