/**
 * A booking's start timer as a workflow output: booking a slot arms a timer at that instant, moving the
 * booking disarms the old instant's timer and arms the new one, cancelling the booking disarms it. Each
 * booked instant has its own timer (`schedule-<changeRequestId>:start:<epoch ms>`), so the fact that ends one
 * names it, and a late or repeated delivery of an older fact can never disarm a newer instant's timer.
 *
 * When the timer fires, scheduling's planner decides the start (window, blackout, freeze, release plan,
 * testing gates at the instant it fired: `decideStart`) on the timer's `TimerFired`, in log order with every
 * fact it depends on, under the fired command's deterministic id.
 */
import { assertNever } from '../decider.js';
import { type BookingCancelled, type DeploymentRescheduled, type DeploymentScheduled, type ScheduleStatus, scheduleStreamId } from '../scheduling/schedule.js';
import type { WorkflowCancel, WorkflowSchedule } from './timers.js';
import { statelessWorkflow, type Workflow, type WorkflowIgnore } from './workflow.js';

/** The timer of one booked instant of a change. */
export const deploymentStartTimerId = (changeRequestId: string, scheduledFor: string): string => `${scheduleStreamId(changeRequestId)}:start:${Date.parse(scheduledFor)}`;

/** What a start timer sends when it fires: decide the start of the booking due at `dueAt` (stale if it has moved since). */
export interface DecideDeploymentStart {
  type: 'DecideDeploymentStart';
  data: { changeRequestId: string; dueAt: string };
}

/** The timer target scheduling's timer runner serves. */
export const DEPLOYMENT_START_TARGET = 'schedule';

export const DEPLOYMENT_START_EVENT_TYPES = ['DeploymentScheduled', 'DeploymentRescheduled', 'BookingCancelled'] as const;
export type DeploymentStartEvent = DeploymentScheduled | DeploymentRescheduled | BookingCancelled;

export interface DeploymentStartInput {
  event: DeploymentStartEvent;
  /**
   * The booking as it stands in the store when the event is handled: a timer is armed only for the instant the
   * booking still waits for (a replay of old bookings, or a booking moved or cancelled since, arms nothing).
   */
  booking: { status: ScheduleStatus; scheduledFor: string | null };
}

export type DeploymentStartOutput = WorkflowSchedule<typeof DEPLOYMENT_START_TARGET, DecideDeploymentStart> | WorkflowCancel | WorkflowIgnore;

export function decideDeploymentStartTimer(input: DeploymentStartInput): DeploymentStartOutput[] {
  const { event, booking } = input;
  const { changeRequestId } = event.data;
  const arm = (scheduledFor: string): DeploymentStartOutput => {
    if (booking.status !== 'scheduled' || booking.scheduledFor === null || Date.parse(booking.scheduledFor) !== Date.parse(scheduledFor)) {
      return { kind: 'ignore', reason: `the booking is ${booking.status}${booking.scheduledFor === null ? '' : ` for ${booking.scheduledFor}`}, no longer waiting for ${scheduledFor}` };
    }
    return {
      kind: 'schedule',
      timerId: deploymentStartTimerId(changeRequestId, scheduledFor),
      at: new Date(scheduledFor),
      target: DEPLOYMENT_START_TARGET,
      streamId: scheduleStreamId(changeRequestId),
      command: { type: 'DecideDeploymentStart', data: { changeRequestId, dueAt: new Date(scheduledFor).toISOString() } },
    };
  };
  const cancel = (scheduledFor: string, reason: string): DeploymentStartOutput => ({ kind: 'cancel', timerId: deploymentStartTimerId(changeRequestId, scheduledFor), reason });
  switch (event.type) {
    case 'DeploymentScheduled':
      return [arm(event.data.scheduledFor)];
    case 'DeploymentRescheduled': {
      const { previousScheduledFor, scheduledFor } = event.data;
      // Same instant (a new policy version or window kept the slot): the armed timer stands.
      if (Date.parse(previousScheduledFor) === Date.parse(scheduledFor)) return [arm(scheduledFor)];
      return [cancel(previousScheduledFor, `rescheduled to ${scheduledFor}`), arm(scheduledFor)];
    }
    case 'BookingCancelled':
      return [cancel(event.data.scheduledFor, `booking cancelled: ${event.data.reason}`)];
    default:
      return assertNever(event);
  }
}

/** Stateless: every decision reads the event and the booking as it stands. */
export const deploymentStartWorkflow: Workflow<DeploymentStartInput, null, DeploymentStartOutput, never> = statelessWorkflow(decideDeploymentStartTimer);
