/**
 * The bookings' start timers, as workflow timers: workflow `deploymentStartWorkflow` (libs/domain
 * `workflows/deploymentStart.ts`), run as durable consumer `scheduling-start-timers`, arms timer
 * `schedule-<changeRequestId>:start:<epoch ms>` when a change is booked for that instant, and disarms it when the
 * booking moves or is cancelled. The service's timer runner (timers.provider.ts) records `TimerFired` once the clock
 * reaches the instant, once across restarts and replicas; the planner (schedulingService.ts) decides the start on that
 * `TimerFired`, in log order with every fact before it, under the fired command's id `<timerId>:<generation>:fire`.
 *
 * Versions before this one kept their own timers on `timer-<id>` streams, fired by a loop of their own:
 * `moveLegacyStartTimers` re-arms each one still armed as a workflow timer for the same instant and cancels it,
 * once, at every start (a repeat finds nothing left to move).
 */
import type { ReceivedEvent } from '@gatehouse/bus';
import { SchedulingEvents } from '@gatehouse/contracts';
import {
  DEPLOYMENT_START_EVENT_TYPES,
  DEPLOYMENT_START_TARGET,
  type DecideDeploymentStart,
  type DeploymentStartEvent,
  deploymentStartTimerId,
  deploymentStartWorkflow,
  parseOrThrow,
  scheduleDecider,
  scheduleStreamId,
  TIMER_CATEGORY,
  timerDecider,
  type TimerEvent,
  type TimerState,
  timerStreamId,
  workflowTimerStreamId,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { armTimer, handleCommand, type ServiceContext, type TimerRecorder, type TimerTarget, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';

export const START_TIMERS_CONSUMER = 'scheduling-start-timers';
/** The purpose legacy `timer-<id>` streams gave a booking's start timer. */
export const DEPLOYMENT_DUE_PURPOSE = 'deployment-due';
const ACTOR = 'scheduling';

export const START_TIMER_EVENTS = Object.fromEntries(DEPLOYMENT_START_EVENT_TYPES.map((type) => [type, SchedulingEvents[type]])) as {
  [T in (typeof DEPLOYMENT_START_EVENT_TYPES)[number]]: (typeof SchedulingEvents)[T];
};

/** What a start timer sends (armed by `deploymentStartWorkflow`). */
export const DecideDeploymentStartCommand = z.object({
  type: z.literal('DecideDeploymentStart'),
  data: z.object({ changeRequestId: z.string().min(1), dueAt: z.iso.datetime({ offset: true }) }),
});

const recorderOf = (ctx: ServiceContext): TimerRecorder => ({ store: ctx.store, owner: ctx.name, clock: ctx.clock });

/**
 * The `schedule` timer target. The start is decided by the planner on the timer's `TimerFired` (the runner records it
 * right after this returns), where every fact the decision reads has been folded in log order; here the fired
 * command is only checked, so a malformed one is recorded as refused and the planner leaves it alone.
 */
export const startTimerTarget: TimerTarget = async (raw) => {
  parseOrThrow(DecideDeploymentStartCommand, raw, 'deployment start timer command');
  return [];
};

/** The workflow that arms and disarms the start timers, as the handler of its durable consumer. */
export function startTimers(ctx: ServiceContext): (received: ReceivedEvent) => Promise<void> {
  return workflowReaction({
    name: START_TIMERS_CONSUMER,
    dataSchemas: START_TIMER_EVENTS,
    workflow: deploymentStartWorkflow,
    prepare: async (stored) => {
      const event = { type: stored.type, data: stored.data } as DeploymentStartEvent;
      const history = await ctx.store.readStream(scheduleStreamId(event.data.changeRequestId));
      const state = history.reduce((s, e) => scheduleDecider.evolve(s, e as never), scheduleDecider.initialState());
      return { input: { event, booking: { status: state.status, scheduledFor: 'booking' in state ? state.booking.scheduledFor : null } }, state: null };
    },
    timers: recorderOf(ctx),
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
}

/**
 * Moves the start timers an earlier version armed on `timer-<id>` streams and that have not fired: each becomes the
 * workflow timer of its change and instant (armed against the legacy `TimerArmed`, so a repeat arms nothing), then the
 * legacy timer is cancelled naming where it went. Returns how many it moved.
 */
export async function moveLegacyStartTimers(ctx: ServiceContext): Promise<number> {
  const legacy = new Map<string, { state: TimerState; armed: StoredEvent | undefined }>();
  for await (const event of ctx.store.readAll({ eventTypes: ['TimerArmed', 'TimerFired', 'TimerCancelled'] })) {
    if (!event.streamId.startsWith(`${TIMER_CATEGORY}-`)) continue;
    const timer = legacy.get(event.streamId) ?? { state: timerDecider.initialState(), armed: undefined };
    timer.state = timerDecider.evolve(timer.state, { type: event.type, data: event.data } as TimerEvent);
    if (event.type === 'TimerArmed') timer.armed = event;
    legacy.set(event.streamId, timer);
  }
  let moved = 0;
  for (const { state, armed } of legacy.values()) {
    if (state.status !== 'armed' || armed === undefined || state.purpose !== DEPLOYMENT_DUE_PURPOSE) continue;
    const changeRequestId = state.payload['changeRequestId'];
    if (typeof changeRequestId !== 'string') continue;
    const timerId = deploymentStartTimerId(changeRequestId, state.dueAt);
    const command: DecideDeploymentStart = { type: 'DecideDeploymentStart', data: { changeRequestId, dueAt: new Date(state.dueAt).toISOString() } };
    await armTimer(recorderOf(ctx), { kind: 'schedule', timerId, at: new Date(state.dueAt), target: DEPLOYMENT_START_TARGET, streamId: scheduleStreamId(changeRequestId), command }, armed);
    await handleCommand({
      store: ctx.store,
      decider: timerDecider,
      streamId: timerStreamId(state.timerId),
      command: { type: 'CancelTimer', data: { timerId: state.timerId, reason: `moved to ${workflowTimerStreamId(timerId)}`, now: ctx.clock.now() } },
      commandId: `${state.timerId}:moved`,
      metadata: { actor: ACTOR, correlationId: typeof armed.metadata.correlationId === 'string' ? armed.metadata.correlationId : armed.id },
    });
    moved += 1;
  }
  if (moved > 0) ctx.logger.info({ moved }, 'start timers of an earlier version moved to workflow timers');
  return moved;
}
