/**
 * The post-deployment validation's timeout, as a timer: workflow `validationTimeoutWorkflow` (libs/domain
 * `workflows/deadlines.ts`), run as durable consumer `change-requests-validation-deadlines`, arms timer
 * `changeRequest-<id>:validation-timeout` (reactions.controller.ts) when a change whose environment names post-deployment checks begins
 * validating (`ChangeImplemented`), at `timeoutMinutes` after its deployment succeeded, and cancels it when the
 * change is validated or failed, rolled back, closed or timed out. The service's timer runner sends the fired
 * timer's `TimeOutPostDeploymentValidation` to the `changeRequest` target (`validationTimerTarget`) once, across
 * restarts and replicas: with a check or sign-off still missing the change fails (onTimeout fail) or goes on
 * with a warning (warn); with nothing missing (only the watch awaited) it is refused and the timer records that.
 */
import type { ReceivedEvent } from '@gatehouse/bus';
import { ChangeRequestEventSchemas } from '@gatehouse/contracts';
import { type ChangeRequestCommand, changeRequestDecider, parseOrThrow, VALIDATION_TIMEOUT_EVENT_TYPES, type ValidationTimeoutEvent, validationTimeoutWorkflow } from '@gatehouse/domain';
import { PostDeploymentValidation } from '@gatehouse/policy';
import { type CommandMetrics, handleCommand, type ServiceContext, type TimerTarget, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';
import { loadChange } from './streams.js';

export const VALIDATION_DEADLINES_CONSUMER = 'change-requests-validation-deadlines';

export const VALIDATION_DEADLINE_EVENTS = Object.fromEntries(VALIDATION_TIMEOUT_EVENT_TYPES.map((type) => [type, ChangeRequestEventSchemas[type]])) as {
  [T in (typeof VALIDATION_TIMEOUT_EVENT_TYPES)[number]]: (typeof ChangeRequestEventSchemas)[T];
};

/** What a validation timeout timer sends (armed by `validationTimeoutWorkflow`); its time is the instant it fired. */
const TimeOutTimerCommand = z.object({
  type: z.literal('TimeOutPostDeploymentValidation'),
  data: z.object({ changeRequestId: z.string().min(1), environment: z.string(), validation: PostDeploymentValidation, closedBy: z.string().min(1) }),
});

/** The `changeRequest` timer target: a fired validation timeout decides the validation on the instant it fired. */
export function validationTimerTarget(ctx: ServiceContext, metrics: CommandMetrics): TimerTarget {
  return async (raw, { commandId, timer, firedAt, correlationId }) => {
    const { data } = parseOrThrow(TimeOutTimerCommand, raw, 'validation timeout timer command');
    const command: ChangeRequestCommand = { type: 'TimeOutPostDeploymentValidation', data: { ...data, now: firedAt } };
    const result = await handleCommand({ store: ctx.store, decider: changeRequestDecider, streamId: timer.streamId, command, commandId, metadata: { actor: data.closedBy, correlationId } });
    const types = result.events.map((e) => e.type);
    metrics.eventsAppended(types);
    return types;
  };
}

/** The workflow that arms and cancels the validation timeouts, as the handler of its durable consumer. */
export function validationDeadlines(ctx: ServiceContext): (received: ReceivedEvent) => Promise<void> {
  return workflowReaction({
    name: VALIDATION_DEADLINES_CONSUMER,
    dataSchemas: VALIDATION_DEADLINE_EVENTS,
    workflow: validationTimeoutWorkflow,
    prepare: async (stored) => {
      const event = { type: stored.type, data: stored.data } as ValidationTimeoutEvent;
      if (event.type !== 'ChangeImplemented') return { input: { event, policy: null }, state: null };
      const change = await loadChange(ctx.store, event.data.changeRequestId);
      if (change.status === 'not_submitted') return { input: { event, policy: null }, state: null };
      const environment = change.draft.environments[0] ?? '';
      return { input: { event, policy: { environment, validation: ctx.policies.current.environments[environment]?.postDeploymentValidation } }, state: null };
    },
    timers: { store: ctx.store, owner: ctx.name, clock: ctx.clock },
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
}
