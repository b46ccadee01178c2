import { HOTFIX_CATEGORY, RELEASE_PLAN_CATEGORY, ReleasePlanEventSchemas } from '@gatehouse/contracts';
import { RELEASE_PLAN_EVENT_TYPES } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busConsumer, busEvents, commandMetrics, type EventRpcContext, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject, type OnModuleDestroy } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { HOTFIX_DEADLINES_CONSUMER, HOTFIX_LANE_CATEGORIES, HOTFIX_LANE_CONSUMER, type HotfixLane, HotfixLaneEventSchemas, startHotfixLane } from './hotfix-process.js';
import { changeLifecycleReaction, CONSUMED_CATEGORIES, CONSUMER_NAME, ConsumedEventSchemas } from './process-managers.js';
import { RELEASE_PLAN_DEADLINES_CONSUMER, type ReleasePlanDeadlines, startReleasePlanDeadlines } from './release-plan-commands.js';

/**
 * The reactions of change-requests: the change lifecycle and hotfix lane workflows (durable consumers run
 * by the workflow runner), and the hotfix and release plan deadlines (replay subscriptions feeding their
 * tickers, stopped with the module).
 */
@Controller()
export class ChangeRequestReactionsController implements OnModuleDestroy {
  private readonly lifecycle: ReturnType<typeof changeLifecycleReaction>;
  private readonly hotfixLane: HotfixLane;
  private readonly releasePlanDeadlines: ReleasePlanDeadlines;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const metrics = commandMetrics(ctx.metrics, ctx.name);
    this.lifecycle = changeLifecycleReaction(ctx, metrics);
    this.hotfixLane = startHotfixLane(ctx, metrics);
    this.releasePlanDeadlines = startReleasePlanDeadlines(ctx, metrics);
  }

  /** How a change and its release follow approvals, scheduling, deployments and monitoring (libs/domain `changeLifecycleWorkflow`). */
  @EventPattern(busConsumer(CONSUMER_NAME), busEvents({ categories: CONSUMED_CATEGORIES, eventTypes: Object.keys(ConsumedEventSchemas), dataSchemas: ConsumedEventSchemas }))
  followLifecycle(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.lifecycle(rpc.getReceived());
  }

  @EventPattern(busConsumer(HOTFIX_LANE_CONSUMER), busEvents({ categories: HOTFIX_LANE_CATEGORIES, eventTypes: Object.keys(HotfixLaneEventSchemas), dataSchemas: HotfixLaneEventSchemas }))
  followHotfixLane(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.hotfixLane.onLaneEvent(rpc.getReceived());
  }

  @EventPattern(busConsumer(HOTFIX_DEADLINES_CONSUMER), busEvents({ replay: true, categories: [HOTFIX_CATEGORY] }))
  trackHotfixDeadlines(@Payload() event: StoredEvent): void {
    this.hotfixLane.onHotfixEvent(event);
  }

  @EventPattern(busConsumer(RELEASE_PLAN_DEADLINES_CONSUMER), busEvents({ replay: true, categories: [RELEASE_PLAN_CATEGORY], eventTypes: [...RELEASE_PLAN_EVENT_TYPES], dataSchemas: ReleasePlanEventSchemas }))
  trackPrerequisiteDeadlines(@Payload() event: StoredEvent): void {
    this.releasePlanDeadlines.on(event);
  }

  async onModuleDestroy(): Promise<void> {
    await this.hotfixLane.stop();
    await this.releasePlanDeadlines.stop();
  }
}
