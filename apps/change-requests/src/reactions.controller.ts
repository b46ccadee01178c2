import { HOTFIX_CATEGORY, HotfixEventSchemas, RELEASE_PLAN_CATEGORY, ReleasePlanEventSchemas } from '@gatehouse/contracts';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busConsumer, busEvents, commandMetrics, type EventRpcContext, SERVICE_CONTEXT, type ServiceContext, timerIndexConsumer } from '@gatehouse/service-kit';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ServiceTimers } from './timers.provider.js';
import { HOTFIX_DEADLINES_CONSUMER, HOTFIX_LANE_CATEGORIES, HOTFIX_LANE_CONSUMER, type HotfixLane, HotfixLaneEventSchemas, hotfixLaneReactions } from './hotfix-process.js';
import { changeLifecycleReaction, CONSUMED_CATEGORIES, CONSUMER_NAME, ConsumedEventSchemas } from './process-managers.js';
import { RELEASE_PLAN_DEADLINES_CONSUMER, releasePlanDeadlines } from './release-plan-commands.js';
import { VALIDATION_DEADLINE_EVENTS, VALIDATION_DEADLINES_CONSUMER, validationDeadlines } from './validation-timeouts.js';

const TIMERS = timerIndexConsumer('change-requests');

/**
 * The reactions of change-requests: the change lifecycle, hotfix lane and deadline workflows (durable
 * consumers run by the workflow runner; the deadline workflows arm and cancel timers), the index of the
 * service's timers (a replay subscription feeding the timer runner provider). The post-deployment validation's
 * timeout is one of those deadlines.
 */
@Controller()
export class ChangeRequestReactionsController {
  private readonly lifecycle: ReturnType<typeof changeLifecycleReaction>;
  private readonly hotfixLane: HotfixLane;
  private readonly releasePlanDeadlines: ReturnType<typeof releasePlanDeadlines>;
  private readonly validationDeadlines: ReturnType<typeof validationDeadlines>;

  constructor(
    @Inject(SERVICE_CONTEXT) ctx: ServiceContext,
    @Inject(ServiceTimers) private readonly timers: ServiceTimers,
  ) {
    const metrics = commandMetrics(ctx.metrics, ctx.name);
    this.lifecycle = changeLifecycleReaction(ctx, metrics);
    this.hotfixLane = hotfixLaneReactions(ctx, metrics);
    this.releasePlanDeadlines = releasePlanDeadlines(ctx);
    this.validationDeadlines = validationDeadlines(ctx);
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

  /** libs/domain `hotfixDeadlinesWorkflow`: the SLA, staging validation cap and post-incident review timers. */
  @EventPattern(busConsumer(HOTFIX_DEADLINES_CONSUMER), busEvents({ categories: [HOTFIX_CATEGORY], eventTypes: Object.keys(HotfixEventSchemas), dataSchemas: HotfixEventSchemas }))
  armHotfixDeadlines(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.hotfixLane.onHotfixEvent(rpc.getReceived());
  }

  /** libs/domain `releasePlanDeadlinesWorkflow`: a timer per pending prerequisite. */
  @EventPattern(busConsumer(RELEASE_PLAN_DEADLINES_CONSUMER), busEvents({ categories: [RELEASE_PLAN_CATEGORY], eventTypes: Object.keys(ReleasePlanEventSchemas), dataSchemas: ReleasePlanEventSchemas }))
  armPrerequisiteDeadlines(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.releasePlanDeadlines(rpc.getReceived());
  }

  /** The timers this service owns, armed and not yet fired or cancelled: what its timer runner fires. */
  @EventPattern(busConsumer(TIMERS.name), busEvents({ replay: TIMERS.replay, categories: TIMERS.categories, eventTypes: TIMERS.eventTypes }))
  indexTimers(@Payload() event: StoredEvent): void {
    this.timers.runner.onTimerEvent(event);
  }

  /** libs/domain `validationTimeoutWorkflow`: a timer per change validating where its environment names checks. */
  @EventPattern(busConsumer(VALIDATION_DEADLINES_CONSUMER), busEvents({ categories: ['changeRequest'], eventTypes: Object.keys(VALIDATION_DEADLINE_EVENTS), dataSchemas: VALIDATION_DEADLINE_EVENTS }))
  armValidationTimeouts(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.validationDeadlines(rpc.getReceived());
  }
}
