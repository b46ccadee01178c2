import { CHANGE_REQUESTS_CONTEXT, ChangeRequestEventSchemas, type ChangeView, ReleaseEventSchemas } from '@gatehouse/contracts';
import { approvalDecider, type ApprovalCommand, DomainError, invalidationFor, type ReleaseApprovalsInvalidated } from '@gatehouse/domain';
import type { EventMetadata, StoredEvent } from '@gatehouse/eventstore';
import { busConsumer, busEvents, type CommandMetrics, commandMetrics, handleCommand, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { APPROVALS_CONSUMERS, approvalsOfRelease, approvalStream, loadApproval, PROCESS_MANAGER_ACTOR, recomputedRequirements, requestApprovalsFor } from './approvals.js';

const RequestTriggerSchemas = {
  ChangeRequestSubmitted: ChangeRequestEventSchemas.ChangeRequestSubmitted,
  ChangeReviewCompleted: ChangeRequestEventSchemas.ChangeReviewCompleted,
} as const;

/** The process managers: approvals are requested when a change starts waiting for them, and collected again when its release changes. */
@Controller()
export class ApprovalReactionsController {
  private readonly metrics: CommandMetrics;

  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {
    this.metrics = commandMetrics(ctx.metrics, ctx.name);
  }

  /** A change waits for approvals from submission when it is an emergency (no review stage), otherwise once its review completes. */
  @EventPattern(busConsumer(APPROVALS_CONSUMERS[0]), busEvents({ categories: ['changeRequest'], eventTypes: Object.keys(RequestTriggerSchemas), dataSchemas: RequestTriggerSchemas }))
  async requestOnChange(@Payload() event: StoredEvent): Promise<void> {
    if (event.type === 'ChangeRequestSubmitted' && (event.data as { kind: string }).kind !== 'emergency') return;
    const changeRequestId = (event.data as { changeRequestId: string }).changeRequestId;
    // Ask the owner for the change and its release rather than reading its streams.
    const change = await this.ctx.commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId });
    if (change.status !== 'awaiting_approval') return;
    const policySet = this.ctx.policies.current;
    const request = requestApprovalsFor(change, policySet, this.ctx.clock.now());
    if (request instanceof DomainError) {
      this.ctx.logger.warn({ err: request.message, code: request.code, changeRequestId }, 'approvals not requested');
      return;
    }
    await this.run(event, changeRequestId, request, policySet.policyVersion);
  }

  @EventPattern(busConsumer(APPROVALS_CONSUMERS[1]), busEvents({ categories: ['release'], eventTypes: ['ReleaseApprovalsInvalidated'], dataSchemas: { ReleaseApprovalsInvalidated: ReleaseEventSchemas.ReleaseApprovalsInvalidated } }))
  async invalidateOnReleaseRevision(@Payload() event: StoredEvent): Promise<void> {
    const invalidated = { type: 'ReleaseApprovalsInvalidated', data: event.data } as ReleaseApprovalsInvalidated;
    const now = this.ctx.clock.now();
    // The approval that approved the release (domain glue) and every other open approval collected for it.
    const approvalIds = new Set(await approvalsOfRelease(this.ctx.store, invalidated.data.releaseId, event.globalPosition));
    if (invalidated.data.approvalId !== null) approvalIds.add(invalidated.data.approvalId);
    for (const approvalId of approvalIds) {
      const state = await loadApproval(this.ctx.store, approvalId);
      if (state.status !== 'pending' && state.status !== 'approved') continue;
      if (state.subject.revision >= invalidated.data.revision) continue;
      // The approvals are collected again for the release as it now is: a migration added to it needs the DBA.
      const change = await this.ctx.commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId: approvalId });
      const policySet = this.ctx.policies.current;
      const command = invalidationFor({ ...invalidated, data: { ...invalidated.data, approvalId } }, now, recomputedRequirements(change, policySet, now));
      if (command !== null) await this.run(event, approvalId, command, policySet.policyVersion);
    }
  }

  private async run(event: StoredEvent, changeRequestId: string, command: ApprovalCommand, policyVersion?: string): Promise<void> {
    const metadata: EventMetadata = {
      actor: PROCESS_MANAGER_ACTOR,
      correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : event.id,
      ...(policyVersion === undefined ? {} : { policyVersion }),
    };
    try {
      const result = await handleCommand({ store: this.ctx.store, decider: approvalDecider, streamId: approvalStream(changeRequestId), command, commandId: `${event.id}:${command.type}`, metadata });
      this.metrics.eventsAppended(result.events.map((e) => e.type));
    } catch (error) {
      // A refusal will not change on redelivery: record it and move on; anything else is retried.
      if (!(error instanceof DomainError)) throw error;
      this.ctx.logger.warn({ err: error.message, code: error.code, eventId: event.id, eventType: event.type, command: command.type, changeRequestId }, 'process manager command refused');
    }
  }
}
