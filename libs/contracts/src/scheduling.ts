/**
 * Scheduling context: the commands it serves and the events it publishes on `schedule-<changeRequestId>`
 * (bookings); its booking start timers are workflow timers (`workflowTimer-schedule-<id>:start:<ms>`; versions before
 * them kept `timer-<timerId>` streams, moved over at start). A change approved by change-requests is booked into
 * the next allowed slot; when the slot's timer fires, `DeploymentDue` hands it to deployments.
 */
import { z } from 'zod';

export const SCHEDULING_CONTEXT = 'scheduling';
export const SCHEDULE_CATEGORY = 'schedule';
export const TIMER_CATEGORY = 'timer';
export const scheduleStreamId = (changeRequestId: string): string => `${SCHEDULE_CATEGORY}-${changeRequestId}`;

const IsoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
const Name = z.string().trim().min(1).max(200);
const ChangeType = z.enum(['standard', 'normal', 'emergency']);
const Strategy = z.enum(['rolling-update', 'blue-green', 'canary', 'feature-flag', 'big-bang']);

/** `scheduling.requestSlot`: book (or move) an approved change to exactly this start, if the policy allows it. */
export const RequestSlotPayload = z.strictObject({
  /** Deterministic id (the gateway supplies a UUID): a retried call books nothing twice. */
  commandId: Name,
  changeRequestId: Name,
  at: IsoInstant,
  actor: Name.optional(),
  correlationId: Name.optional(),
});
export type RequestSlotPayload = z.infer<typeof RequestSlotPayload>;

/** `scheduling.reschedule`: move a booked change to `at`, or to the next allowed slot after its current one. */
export const ReschedulePayload = z.strictObject({
  commandId: Name,
  changeRequestId: Name,
  reason: z.string().trim().min(1, 'say why the deployment moves').max(2_000),
  at: IsoInstant.optional(),
  actor: Name.optional(),
  correlationId: Name.optional(),
});
export type ReschedulePayload = z.infer<typeof ReschedulePayload>;

/** Reply of both commands: the booking as it now stands. */
export const SlotBookedResult = z.object({
  changeRequestId: z.string(),
  scheduledFor: z.string(),
  windowId: z.string().optional(),
  policyVersion: z.string(),
  duplicate: z.boolean(),
});
export type SlotBookedResult = z.infer<typeof SlotBookedResult>;

const BookingData = z.object({
  changeRequestId: z.string(),
  releaseId: z.string(),
  service: z.string(),
  version: z.string(),
  environment: z.string(),
  changeType: ChangeType,
  strategy: Strategy,
  scheduledFor: IsoInstant,
  windowId: z.string().optional(),
  policyVersion: z.string(),
  /** An emergency change booked to go now through the window-bypass role: who approved it and the rules it bypassed. */
  emergencyBypass: z.object({ role: z.string(), approvers: z.array(z.string()), reasons: z.array(z.string()) }).optional(),
  /** Rules the policy reports but does not enforce at this slot, e.g. a broken release cadence where the policy warns. */
  warnings: z.array(z.string()).optional(),
  /** When scheduling decided the booking (absent on events recorded before the field existed). */
  bookedAt: IsoInstant.optional(),
});

/** Events scheduling publishes, by type (data schemas for `EventConsumerFactory.consume({ dataSchemas })`). */
export const SchedulingEvents = {
  DeploymentScheduled: BookingData,
  DeploymentRescheduled: BookingData.extend({ previousScheduledFor: IsoInstant, reason: z.string() }),
  SchedulingRefused: z.object({ changeRequestId: z.string(), environment: z.string(), reasons: z.array(z.string()), nextAllowedAt: IsoInstant.optional() }),
  DeploymentDue: BookingData.pick({ changeRequestId: true, releaseId: true, service: true, version: true, environment: true, changeType: true, strategy: true }).extend({ dueAt: IsoInstant }),
  /** The change was cancelled before its slot. */
  BookingCancelled: z.object({ changeRequestId: z.string(), environment: z.string(), scheduledFor: IsoInstant, reason: z.string(), cancelledAt: IsoInstant }),
  /** The slot came but the start was refused (a testing gate stopped it): the booking waits for a new decision (a reschedule). */
  DeploymentStartRefused: z.object({ changeRequestId: z.string(), releaseId: z.string(), environment: z.string(), scheduledFor: IsoInstant, reasons: z.array(z.string()), refusedAt: IsoInstant }),
  TimerArmed: z.object({ timerId: z.string(), dueAt: IsoInstant, purpose: z.string(), payload: z.record(z.string(), z.unknown()), armedAt: IsoInstant }),
  TimerFired: z.object({ timerId: z.string(), dueAt: IsoInstant, purpose: z.string(), payload: z.record(z.string(), z.unknown()), firedAt: IsoInstant }),
  TimerCancelled: z.object({ timerId: z.string(), reason: z.string(), cancelledAt: IsoInstant }),
};
/**
 * The workflow timers' events (`workflowTimer-<timerId>`, libs/domain workflows/timers.ts), as scheduling's planner reads
 * its booking start timers. They share their type names with the legacy `timer-<id>` events above.
 */
export const WorkflowTimerEvents = {
  TimerArmed: z.object({ timerId: z.string(), generation: z.number().int(), owner: z.string(), at: IsoInstant, target: z.string(), streamId: z.string(), command: z.unknown(), armedAt: IsoInstant }),
  TimerFired: z.object({ timerId: z.string(), generation: z.number().int(), at: IsoInstant, firedAt: IsoInstant, outcome: z.enum(['sent', 'refused']) }),
  TimerCancelled: z.object({ timerId: z.string(), generation: z.number().int(), reason: z.string(), cancelledAt: IsoInstant }),
};
export type WorkflowTimerFiredData = z.infer<typeof WorkflowTimerEvents.TimerFired>;
export type WorkflowTimerArmedData = z.infer<typeof WorkflowTimerEvents.TimerArmed>;

export type DeploymentScheduledData = z.infer<typeof SchedulingEvents.DeploymentScheduled>;
export type DeploymentDueData = z.infer<typeof SchedulingEvents.DeploymentDue>;
export type TimerFiredData = z.infer<typeof SchedulingEvents.TimerFired>;

/** The policy history's activation event (`policy` stream), as the services that re-plan under it read it. */
export const PolicyActivatedEvent = z.object({ policyVersion: z.string(), files: z.array(z.object({ name: z.string(), contents: z.string() })) });
export type PolicyActivatedData = z.infer<typeof PolicyActivatedEvent>;
