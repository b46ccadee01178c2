import type { Booking } from './schedule.js';

/** A production canary booked into Tuesday's window (unit tests of the booking and of its start timer). */
export const productionBooking: Booking = {
  changeRequestId: 'cr-1',
  releaseId: 'rel-1',
  service: 'campaign-api',
  version: '2.1.0',
  environment: 'production',
  changeType: 'normal',
  strategy: 'canary',
  scheduledFor: '2026-12-01T10:00:00.000Z',
  windowId: 'tue-thu-morning',
  policyVersion: 'sha256:v1',
};
