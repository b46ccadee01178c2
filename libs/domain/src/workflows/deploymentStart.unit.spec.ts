import { WorkflowSpecification } from '@gatehouse/testing';
import { productionBooking } from '../scheduling/fixtures.js';
import type { Booking } from '../scheduling/schedule.js';
import { type DeploymentStartOutput, deploymentStartTimerId, deploymentStartWorkflow } from './deploymentStart.js';

const spec = WorkflowSpecification.for(deploymentStartWorkflow);
const TUESDAY = '2026-12-01T10:00:00.000Z';
const THURSDAY = '2026-12-03T10:00:00.000Z';
const booking: Booking & { bookedAt: string } = { ...productionBooking, scheduledFor: TUESDAY, bookedAt: '2026-11-25T15:00:00.000Z' };
const startAt = (instant: string): DeploymentStartOutput => ({
  kind: 'schedule',
  timerId: deploymentStartTimerId('cr-1', instant),
  at: new Date(instant),
  target: 'schedule',
  streamId: 'schedule-cr-1',
  command: { type: 'DecideDeploymentStart', data: { changeRequestId: 'cr-1', dueAt: instant } },
});

describe('Deployment start workflow (the booking timer as an output)', () => {
  it('names one timer per booked instant of a change', () => {
    expect(deploymentStartTimerId('cr-1', TUESDAY)).toBe(`schedule-cr-1:start:${Date.parse(TUESDAY)}`);
    expect(deploymentStartTimerId('cr-1', '2026-12-01T11:00:00+01:00')).toBe(deploymentStartTimerId('cr-1', TUESDAY));
  });

  it('arms the start at the booked instant', () =>
    spec
      .given([])
      .when({ event: { type: 'DeploymentScheduled', data: booking }, booking: { status: 'scheduled', scheduledFor: TUESDAY } })
      .then([startAt(TUESDAY)]));

  it('arms nothing for a booking that has moved on since (a replayed or late fact)', () =>
    spec
      .given([])
      .when({ event: { type: 'DeploymentScheduled', data: booking }, booking: { status: 'due', scheduledFor: TUESDAY } })
      .thenOutputs((outputs) => expect(outputs).toEqual([{ kind: 'ignore', reason: expect.stringContaining('the booking is due') }])));

  it('a reschedule disarms the old instant and arms the new one', () =>
    spec
      .given([])
      .when({ event: { type: 'DeploymentRescheduled', data: { ...booking, scheduledFor: THURSDAY, previousScheduledFor: TUESDAY, reason: 'sre asked' } }, booking: { status: 'scheduled', scheduledFor: THURSDAY } })
      .then([{ kind: 'cancel', timerId: deploymentStartTimerId('cr-1', TUESDAY), reason: `rescheduled to ${THURSDAY}` }, startAt(THURSDAY)]));

  it('a reschedule to the same instant (new policy version) keeps the armed timer', () =>
    spec
      .given([])
      .when({ event: { type: 'DeploymentRescheduled', data: { ...booking, policyVersion: 'sha256:v2', previousScheduledFor: TUESDAY, reason: 'policy p-2' } }, booking: { status: 'scheduled', scheduledFor: TUESDAY } })
      .then([startAt(TUESDAY)]));

  it('a reschedule seen after the booking was cancelled only disarms the old instant', () =>
    spec
      .given([])
      .when({ event: { type: 'DeploymentRescheduled', data: { ...booking, scheduledFor: THURSDAY, previousScheduledFor: TUESDAY, reason: 'sre asked' } }, booking: { status: 'cancelled', scheduledFor: THURSDAY } })
      .thenOutputs((outputs) => expect(outputs.map((o) => o.kind)).toEqual(['cancel', 'ignore'])));

  it('cancelling the booking disarms its instant', () =>
    spec
      .given([])
      .when({ event: { type: 'BookingCancelled', data: { changeRequestId: 'cr-1', environment: 'production', scheduledFor: TUESDAY, reason: 'change cancelled', cancelledAt: '2026-11-26T09:00:00.000Z' } }, booking: { status: 'cancelled', scheduledFor: TUESDAY } })
      .then([{ kind: 'cancel', timerId: deploymentStartTimerId('cr-1', TUESDAY), reason: 'booking cancelled: change cancelled' }]));
});
