import { RELEASE_PLAN_CATEGORY, RequestSlotPayload, ReschedulePayload, SCHEDULING_CONTEXT, type SlotBookedResult } from '@gatehouse/contracts';
import { DomainError, parseOrThrow } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, busConsumer, busEvents, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { CONSUMED_EVENTS, SchedulingShell } from './schedulingService.js';

/** `scheduling.*` commands and the planner's reactions, both handed to the shell. */
@Controller()
export class SchedulingController {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(SchedulingShell) private readonly shell: SchedulingShell,
  ) {}

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
   * every reaction is idempotent (deterministic command ids), so replayed events change nothing.
   */
  @EventPattern(
    busConsumer('scheduling-planner'),
    busEvents({ replay: true, categories: ['release', 'changeRequest', 'approval', 'schedule', 'timer', 'policy', 'gates', RELEASE_PLAN_CATEGORY], dataSchemas: CONSUMED_EVENTS }),
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
