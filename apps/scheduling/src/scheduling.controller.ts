import { RELEASE_PLAN_CATEGORY, RequestSlotPayload, ReschedulePayload, SCHEDULE_CATEGORY, SCHEDULING_CONTEXT, type SlotBookedResult } from '@gatehouse/contracts';
import { DomainError, parseOrThrow, TIMER_CATEGORY, WORKFLOW_TIMER_CATEGORY } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, busConsumer, busEvents, type EventRpcContext, SERVICE_CONTEXT, type ServiceContext, timerIndexConsumer } from '@gatehouse/service-kit';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { CONSUMED_EVENTS, SchedulingShell } from './schedulingService.js';
import { START_TIMER_EVENTS, START_TIMERS_CONSUMER, startTimers } from './start-timers.js';
import { SchedulingTimers } from './timers.provider.js';

const TIMERS = timerIndexConsumer('scheduling');

/** `scheduling.*` commands and the planner's reactions, both handed to the shell; the start timers' workflow and index. */
@Controller()
export class SchedulingController {
  private readonly startTimers: ReturnType<typeof startTimers>;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(SchedulingShell) private readonly shell: SchedulingShell,
    @Inject(SchedulingTimers) private readonly timers: SchedulingTimers,
  ) {
    this.startTimers = startTimers(ctx);
  }

  @MessagePattern(busCommand(SCHEDULING_CONTEXT, 'requestSlot'))
  requestSlot(@Payload() raw: unknown): Promise<SlotBookedResult> {
    return this.counted('requestSlot', () => this.shell.requestSlot(parseOrThrow(RequestSlotPayload, raw, 'scheduling.requestSlot')));
  }

  @MessagePattern(busCommand(SCHEDULING_CONTEXT, 'reschedule'))
  reschedule(@Payload() raw: unknown): Promise<SlotBookedResult> {
    return this.counted('reschedule', () => this.shell.reschedule(parseOrThrow(ReschedulePayload, raw, 'scheduling.reschedule')));
  }

  /**
   * The read model is rebuilt by replaying the log at every start (no durable state is kept or left behind);
   * every reaction is idempotent (deterministic command ids), so replayed events change nothing. The start timers'
   * `TimerFired` comes through here too, so the start is decided after every fact before it.
   */
  @EventPattern(
    busConsumer('scheduling-planner'),
    busEvents({
      replay: true,
      categories: ['release', 'changeRequest', 'approval', SCHEDULE_CATEGORY, TIMER_CATEGORY, WORKFLOW_TIMER_CATEGORY, 'policy', 'gates', RELEASE_PLAN_CATEGORY],
      dataSchemas: CONSUMED_EVENTS,
    }),
  )
  async plan(@Payload() event: StoredEvent): Promise<void> {
    try {
      await this.shell.on(event);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // A refusal by our own deciders is final for this event: log it rather than retry.
      this.ctx.logger.warn({ eventId: event.id, type: event.type, error: error.message, code: error.code }, 'scheduling reaction refused');
    }
  }

  /** libs/domain `deploymentStartWorkflow`: a timer per booked instant, disarmed when the booking moves or is cancelled. */
  @EventPattern(busConsumer(START_TIMERS_CONSUMER), busEvents({ categories: [SCHEDULE_CATEGORY], eventTypes: Object.keys(START_TIMER_EVENTS), dataSchemas: START_TIMER_EVENTS }))
  armStartTimers(@Ctx() rpc: EventRpcContext): Promise<void> {
    return this.startTimers(rpc.getReceived());
  }

  /** The timers this service owns, armed and not yet fired or cancelled: what its timer runner fires. */
  @EventPattern(busConsumer(TIMERS.name), busEvents({ replay: TIMERS.replay, categories: TIMERS.categories, eventTypes: TIMERS.eventTypes }))
  indexTimers(@Payload() event: StoredEvent): void {
    this.timers.runner.onTimerEvent(event);
  }

  private async counted(command: string, run: () => Promise<SlotBookedResult>): Promise<SlotBookedResult> {
    try {
      const result = await run();
      this.shell.metrics.commands.inc({ command, outcome: 'ok' });
      return result;
    } catch (error) {
      this.shell.metrics.commands.inc({ command, outcome: error instanceof DomainError ? error.name : 'error' });
      throw error;
    }
  }
}
