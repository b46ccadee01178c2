import type { ChangeType, DeploymentStrategy, Role } from '@gatehouse/policy';
import { iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { DomainError, IllegalTransitionError, NotFoundError, requireReason } from '../errors.js';

/** What a booked deployment is: which change, which build, where, how, and when. */
export interface Booking {
  changeRequestId: string;
  releaseId: string;
  service: string;
  version: string;
  environment: string;
  changeType: ChangeType;
  strategy: DeploymentStrategy;
  /** ISO instant the deployment starts. */
  scheduledFor: string;
  /** Window occurrence the slot lies in; absent for continuously deployable environments. */
  windowId?: string;
  /** Policy version that allowed the slot. */
  policyVersion: string;
  /** Set when an emergency change goes now although windows, blackouts or freezes forbid it. */
  emergencyBypass?: EmergencyBypass;
  /** Rules the policy reports but does not enforce at this slot ("<ruleId>: <message>"), e.g. a broken release cadence. */
  warnings?: string[];
}

/** Who let an emergency change bypass the calendar, and which rules it bypassed ("<ruleId>: <message>"). */
export interface EmergencyBypass {
  /** The policy's window-bypass role (production: vp_engineering). */
  role: Role;
  approvers: string[];
  reasons: string[];
}

export type BookDeployment = DomainCommand<'BookDeployment', { booking: Booking; now: Date }>;
export type RefuseScheduling = DomainCommand<
  'RefuseScheduling',
  { changeRequestId: string; environment: string; reasons: readonly string[]; nextAllowedAt?: string; now: Date }
>;
export type RescheduleDeployment = DomainCommand<
  'RescheduleDeployment',
  { changeRequestId: string; scheduledFor: string; windowId?: string; policyVersion: string; reason: string; now: Date }
>;
/** Sent when the booking's timer fires; `dueAt` is the instant the timer was armed for. */
export type MarkDeploymentDue = DomainCommand<'MarkDeploymentDue', { changeRequestId: string; dueAt: string; now: Date }>;
export type CancelBooking = DomainCommand<'CancelBooking', { changeRequestId: string; reason: string; now: Date }>;
/** The booking's timer fired but the start decision refused it (testing gates): it waits for a new decision (a reschedule). */
export type RefuseDeploymentStart = DomainCommand<'RefuseDeploymentStart', { changeRequestId: string; dueAt: string; reasons: readonly string[]; now: Date }>;
export type ScheduleCommand = BookDeployment | RefuseScheduling | RescheduleDeployment | MarkDeploymentDue | CancelBooking | RefuseDeploymentStart;

/**
 * When scheduling decided the booking (its clock at that moment). A slot is never before the moment it was booked,
 * so whoever records the booking later (change-requests) checks the slot against this instant, not its own "now".
 */
export interface BookedAt {
  bookedAt: string;
}
export type DeploymentScheduled = DomainEvent<'DeploymentScheduled', Booking & BookedAt>;
export type DeploymentRescheduled = DomainEvent<'DeploymentRescheduled', Booking & BookedAt & { previousScheduledFor: string; reason: string }>;
export type SchedulingRefused = DomainEvent<'SchedulingRefused', { changeRequestId: string; environment: string; reasons: string[]; nextAllowedAt?: string }>;
export type DeploymentDue = DomainEvent<
  'DeploymentDue',
  Pick<Booking, 'changeRequestId' | 'releaseId' | 'service' | 'version' | 'environment' | 'changeType' | 'strategy'> & { dueAt: string }
>;
export type BookingCancelled = DomainEvent<'BookingCancelled', { changeRequestId: string; environment: string; scheduledFor: string; reason: string; cancelledAt: string }>;
export type DeploymentStartRefused = DomainEvent<
  'DeploymentStartRefused',
  { changeRequestId: string; releaseId: string; environment: string; scheduledFor: string; reasons: string[]; refusedAt: string }
>;
export type ScheduleEvent = DeploymentScheduled | DeploymentRescheduled | SchedulingRefused | DeploymentDue | BookingCancelled | DeploymentStartRefused;

/** `blocked`: the start was refused at its slot; only a new decision (reschedule) books it again. */
export type ScheduleStatus = 'unbooked' | 'refused' | 'scheduled' | 'due' | 'cancelled' | 'blocked';
export type ScheduleState = { status: 'unbooked' | 'refused' } | { status: 'scheduled' | 'due' | 'cancelled' | 'blocked'; booking: Booking };

export const SCHEDULE_CATEGORY = 'schedule';
export const scheduleStreamId = (changeRequestId: string): string => `${SCHEDULE_CATEGORY}-${changeRequestId}`;

export class DeploymentAlreadyBookedError extends DomainError {
  override readonly name = 'DeploymentAlreadyBookedError';
  readonly code = 'DEPLOYMENT_ALREADY_BOOKED' as const;
  constructor(
    readonly changeRequestId: string,
    readonly scheduledFor: string,
  ) {
    super(`change ${changeRequestId} is already booked for ${scheduledFor}; reschedule it instead`);
  }
}

const AGGREGATE = 'deployment booking';

export function decideSchedule(command: ScheduleCommand, state: ScheduleState): ScheduleEvent[] {
  const at = iso(command.data.now);
  switch (command.type) {
    case 'BookDeployment': {
      const { booking } = command.data;
      if (state.status === 'scheduled' || state.status === 'due' || state.status === 'blocked') throw new DeploymentAlreadyBookedError(booking.changeRequestId, state.booking.scheduledFor);
      // A cancelled booking is booked again when its change is approved again (its approval had been withdrawn).
      return [{ type: 'DeploymentScheduled', data: { ...booking, scheduledFor: iso(booking.scheduledFor), bookedAt: at } }];
    }
    case 'RefuseScheduling': {
      if (state.status === 'due' || state.status === 'cancelled' || state.status === 'blocked') throw new IllegalTransitionError(AGGREGATE, command.type, state.status, ['unbooked', 'refused', 'scheduled']);
      const { changeRequestId, environment, reasons, nextAllowedAt } = command.data;
      return [{ type: 'SchedulingRefused', data: { changeRequestId, environment, reasons: [...reasons], ...(nextAllowedAt !== undefined ? { nextAllowedAt: iso(nextAllowedAt) } : {}) } }];
    }
    case 'RescheduleDeployment': {
      const booking = bookedOrThrow(command, state);
      const { scheduledFor, windowId, policyVersion } = command.data;
      const reason = requireReason(command.data.reason, 'a reschedule');
      if (state.status === 'scheduled' && toMs(scheduledFor) === toMs(booking.scheduledFor) && windowId === booking.windowId && policyVersion === booking.policyVersion) return [];
      const { windowId: _previousWindow, ...rest } = booking;
      return [
        {
          type: 'DeploymentRescheduled',
          data: { ...rest, scheduledFor: iso(scheduledFor), ...(windowId !== undefined ? { windowId } : {}), policyVersion, previousScheduledFor: booking.scheduledFor, reason, bookedAt: at },
        },
      ];
    }
    case 'MarkDeploymentDue': {
      // Already due, withdrawn or cancelled: the timer that fired is stale.
      if (state.status !== 'scheduled') return [];
      const booking = state.booking;
      // A timer armed for a slot the booking has since moved away from is stale: it is not this booking's due time.
      if (toMs(command.data.dueAt) !== toMs(booking.scheduledFor)) return [];
      const { changeRequestId, releaseId, service, version, environment, changeType, strategy } = booking;
      return [{ type: 'DeploymentDue', data: { changeRequestId, releaseId, service, version, environment, changeType, strategy, dueAt: booking.scheduledFor } }];
    }
    case 'RefuseDeploymentStart': {
      // Only the booking's own due time can be refused; a stale timer or a booking already decided is left alone.
      if (state.status !== 'scheduled' || toMs(command.data.dueAt) !== toMs(state.booking.scheduledFor)) return [];
      const { changeRequestId, releaseId, environment, scheduledFor } = state.booking;
      return [{ type: 'DeploymentStartRefused', data: { changeRequestId, releaseId, environment, scheduledFor, reasons: [...command.data.reasons], refusedAt: at } }];
    }
    case 'CancelBooking': {
      if (state.status === 'cancelled' || state.status === 'unbooked' || state.status === 'refused') return [];
      const booking = bookedOrThrow(command, state);
      const reason = requireReason(command.data.reason, 'cancelling a booking');
      return [{ type: 'BookingCancelled', data: { changeRequestId: booking.changeRequestId, environment: booking.environment, scheduledFor: booking.scheduledFor, reason, cancelledAt: at } }];
    }
    default:
      return assertNever(command);
  }
}

/** A booking that may still move or be cancelled: scheduled, or blocked at its start awaiting a new decision. */
function bookedOrThrow(command: Exclude<ScheduleCommand, BookDeployment>, state: ScheduleState): Booking {
  if (state.status === 'unbooked' || state.status === 'refused') throw new NotFoundError(AGGREGATE, command.data.changeRequestId);
  if (state.status !== 'scheduled' && state.status !== 'blocked') throw new IllegalTransitionError(AGGREGATE, command.type, state.status, ['scheduled', 'blocked']);
  return state.booking;
}

export function evolveSchedule(state: ScheduleState, event: ScheduleEvent): ScheduleState {
  switch (event.type) {
    case 'DeploymentScheduled': {
      const { bookedAt: _bookedAt, ...booking } = event.data;
      return { status: 'scheduled', booking };
    }
    case 'DeploymentRescheduled': {
      const { previousScheduledFor: _previous, reason: _reason, bookedAt: _bookedAt, ...booking } = event.data;
      return { status: 'scheduled', booking };
    }
    case 'SchedulingRefused':
      // A refusal after a booking withdraws it (a new policy left no slot).
      return { status: 'refused' };
    case 'DeploymentDue':
      return state.status === 'scheduled' ? { status: 'due', booking: state.booking } : state;
    case 'BookingCancelled':
      return state.status === 'scheduled' || state.status === 'blocked' ? { status: 'cancelled', booking: state.booking } : state;
    case 'DeploymentStartRefused':
      return state.status === 'scheduled' ? { status: 'blocked', booking: state.booking } : state;
    default:
      return assertNever(event);
  }
}

export const scheduleDecider: Decider<ScheduleCommand, ScheduleEvent, ScheduleState> = {
  decide: decideSchedule,
  evolve: evolveSchedule,
  initialState: () => ({ status: 'unbooked' }),
};
