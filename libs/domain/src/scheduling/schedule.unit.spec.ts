import { DeciderSpecification } from '@gatehouse/testing';
import { NotFoundError, ReasonRequiredError } from '../errors.js';
import { productionBooking } from './fixtures.js';
import { DeploymentAlreadyBookedError, scheduleDecider, type Booking, type ScheduleEvent } from './schedule.js';

const spec = DeciderSpecification.for(scheduleDecider);
const NOW = new Date('2026-11-25T09:00:00Z');
const booking: Booking = productionBooking;
const BOOKED_AT = '2026-11-25T09:00:00.000Z';
const scheduled: ScheduleEvent = { type: 'DeploymentScheduled', data: { ...booking, bookedAt: BOOKED_AT } };
const due = { changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production', changeType: 'normal', strategy: 'canary' } as const;

describe('Deployment booking', () => {
  it('books a slot, recording when it was booked', () => void spec.given([]).when({ type: 'BookDeployment', data: { booking, now: NOW } }).then([scheduled]));

  it('refuses a second booking of the same change', () =>
    void spec.given([scheduled]).when({ type: 'BookDeployment', data: { booking, now: NOW } }).thenThrows(DeploymentAlreadyBookedError, (e) => e.scheduledFor === booking.scheduledFor));

  it('records a refusal with its reasons and the next allowed time', () =>
    void spec
      .given([])
      .when({ type: 'RefuseScheduling', data: { changeRequestId: 'cr-1', environment: 'production', reasons: ['blackout'], nextAllowedAt: '2026-12-01T10:00:00Z', now: NOW } })
      .then([{ type: 'SchedulingRefused', data: { changeRequestId: 'cr-1', environment: 'production', reasons: ['blackout'], nextAllowedAt: '2026-12-01T10:00:00.000Z' } }]));

  it('reschedules, keeping the previous slot and the reason', () =>
    void spec
      .given([scheduled])
      .when({ type: 'RescheduleDeployment', data: { changeRequestId: 'cr-1', scheduledFor: '2026-12-03T10:00:00Z', windowId: 'tue-thu-morning', policyVersion: 'sha256:v2', reason: 'new blackout', now: NOW } })
      .then([
        {
          type: 'DeploymentRescheduled',
          data: { ...booking, scheduledFor: '2026-12-03T10:00:00.000Z', policyVersion: 'sha256:v2', previousScheduledFor: '2026-12-01T10:00:00.000Z', reason: 'new blackout', bookedAt: BOOKED_AT },
        },
      ]));

  it('a reschedule needs a reason', () =>
    void spec
      .given([scheduled])
      .when({ type: 'RescheduleDeployment', data: { changeRequestId: 'cr-1', scheduledFor: '2026-12-03T10:00:00Z', policyVersion: 'sha256:v2', reason: ' ', now: NOW } })
      .thenThrows(ReasonRequiredError));

  it('cannot reschedule what was never booked', () =>
    void spec
      .given([])
      .when({ type: 'RescheduleDeployment', data: { changeRequestId: 'cr-1', scheduledFor: '2026-12-03T10:00:00Z', policyVersion: 'v', reason: 'x', now: NOW } })
      .thenThrows(NotFoundError));

  it('becomes due when the timer for its slot fires', () =>
    void spec
      .given([scheduled])
      .when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: '2026-12-01T10:00:00Z', now: new Date('2026-12-01T10:00:01Z') } })
      .then([{ type: 'DeploymentDue', data: { ...due, dueAt: '2026-12-01T10:00:00.000Z' } }]));

  it('ignores a timer armed for a slot it was moved away from', () =>
    void spec
      .given([scheduled])
      .when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: '2026-11-30T10:00:00Z', now: new Date('2026-11-30T10:00:01Z') } })
      .thenNothingHappened());

  it('is due only once', () =>
    void spec
      .given([scheduled, { type: 'DeploymentDue', data: { ...due, dueAt: booking.scheduledFor } }])
      .when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: '2026-12-01T10:00:00Z', now: new Date('2026-12-01T10:00:02Z') } })
      .thenNothingHappened());

  it('a withdrawn booking (refused after a policy change) never becomes due', () =>
    void spec
      .given([scheduled, { type: 'SchedulingRefused', data: { changeRequestId: 'cr-1', environment: 'production', reasons: ['no slot'] } }])
      .when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: '2026-12-01T10:00:00Z', now: new Date('2026-12-01T10:00:01Z') } })
      .thenNothingHappened());

  it('a booking cancelled because the approval was withdrawn is booked again on the next approval, and becomes due', () => {
    const cancelled: ScheduleEvent = {
      type: 'BookingCancelled',
      data: { changeRequestId: 'cr-1', environment: 'production', scheduledFor: booking.scheduledFor, reason: 'approval withdrawn', cancelledAt: '2026-11-26T09:00:00.000Z' },
    };
    spec
      .given([scheduled, cancelled])
      .when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: '2026-12-01T10:00:00Z', now: new Date('2026-12-01T10:00:01Z') } })
      .thenNothingHappened();
    spec.given([scheduled, cancelled]).when({ type: 'BookDeployment', data: { booking, now: NOW } }).then([scheduled]);
    spec
      .given([scheduled, cancelled, scheduled])
      .when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: '2026-12-01T10:00:00Z', now: new Date('2026-12-01T10:00:01Z') } })
      .then([{ type: 'DeploymentDue', data: { ...due, dueAt: booking.scheduledFor } }]);
  });

  const startRefused: ScheduleEvent = {
    type: 'DeploymentStartRefused',
    data: { changeRequestId: 'cr-1', releaseId: 'rel-1', environment: 'production', scheduledFor: booking.scheduledFor, reasons: ['production/testingGates/integration-tests: not run'], refusedAt: '2026-12-01T10:00:00.000Z' },
  };
  const AT_SLOT = new Date('2026-12-01T10:00:00Z');

  it('refuses the start at the booking\'s own due time, with the reasons; the booking is blocked', () =>
    void spec
      .given([scheduled])
      .when({ type: 'RefuseDeploymentStart', data: { changeRequestId: 'cr-1', dueAt: booking.scheduledFor, reasons: ['production/testingGates/integration-tests: not run'], now: AT_SLOT } })
      .thenEvents((events, state) => {
        expect(events).toEqual([startRefused]);
        expect(state.status).toBe('blocked');
      }));

  it('ignores a start refusal for a slot the booking has left', () =>
    void spec.given([scheduled]).when({ type: 'RefuseDeploymentStart', data: { changeRequestId: 'cr-1', dueAt: '2026-11-26T10:00:00Z', reasons: ['x'], now: AT_SLOT } }).thenNothingHappened());

  it('a blocked booking does not fall due on a late timer; only a reschedule (a new decision) books it again', () => {
    spec.given([scheduled, startRefused]).when({ type: 'MarkDeploymentDue', data: { changeRequestId: 'cr-1', dueAt: booking.scheduledFor, now: AT_SLOT } }).thenNothingHappened();
    spec
      .given([scheduled, startRefused])
      .when({ type: 'RescheduleDeployment', data: { changeRequestId: 'cr-1', scheduledFor: booking.scheduledFor, windowId: 'tue-thu-morning', policyVersion: 'sha256:v1', reason: 'gates passed', now: AT_SLOT } })
      .thenEvents((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['DeploymentRescheduled']);
        expect(state.status).toBe('scheduled');
      });
    spec.given([scheduled, startRefused]).when({ type: 'BookDeployment', data: { booking, now: AT_SLOT } }).thenThrows(DeploymentAlreadyBookedError);
  });
});
