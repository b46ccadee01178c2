import { DeciderSpecification } from '@gatehouse/testing';
import { releaseNotificationDecider, releaseNotificationEffects, type ReleaseNotificationEvent } from './releaseNotifications.js';

const spec = DeciderSpecification.for(releaseNotificationDecider);
const NOW = new Date('2026-11-30T09:00:00Z');
const milestone = { releaseId: 'r1', milestone: 'started' as const, environment: 'production', changeRequestId: 'c1', service: 'ledger-api', version: '4.2.0' };
const notify = { type: 'NotifyMilestone' as const, data: { ...milestone, causeId: 'e1:started', notifications: [{ milestone: 'started' as const, audience: 'customers' as const, message: 'CSV exports are here' }], now: NOW } };
const intended: ReleaseNotificationEvent = { type: 'ReleaseNotificationIntended', data: { effectId: 'e1:started:notify-0', ...milestone, audience: 'customers', message: 'CSV exports are here', intendedAt: NOW.toISOString() } };

describe('release notifications', () => {
  it('records one intent per planned notification, once per milestone event, open until its outcome', () => {
    spec.given([]).when(notify).thenEvents(([event], state) => {
      expect(event).toEqual(intended);
      expect(releaseNotificationEffects.openIntents(state).map((i) => [i.effect.effectId, i.attempt])).toEqual([['e1:started:notify-0', 1]]);
    });
    spec.given([intended]).when(notify).thenNothingHappened();
    spec.given([intended]).when(releaseNotificationEffects.recordOutcome(releaseNotificationEffects.openIntents(releaseNotificationDecider.evolve(releaseNotificationDecider.initialState(), intended))[0]!.effect, NOW)).thenEvents(([event], state) => {
      expect(event).toMatchObject({ type: 'ReleaseNotificationDelivered', data: { effectId: 'e1:started:notify-0', attempts: 1 } });
      expect(releaseNotificationEffects.openIntents(state)).toEqual([]);
    });
  });

  it('counts attempts, and records a failure when given up (and nothing after an outcome)', () => {
    const attempted: ReleaseNotificationEvent = { type: 'ReleaseNotificationAttempted', data: { effectId: 'e1:started:notify-0', attempt: 2, at: NOW.toISOString() } };
    spec.given([intended]).when({ type: 'ClaimNotificationAttempt', data: { effectId: 'e1:started:notify-0', attempt: 2, now: NOW } }).then([attempted]);
    spec.given([intended, attempted]).when({ type: 'ClaimNotificationAttempt', data: { effectId: 'e1:started:notify-0', attempt: 2, now: NOW } }).thenNothingHappened();
    const failed: ReleaseNotificationEvent = { type: 'ReleaseNotificationFailed', data: { effectId: 'e1:started:notify-0', attempts: 2, reason: 'HTTP 500', failedAt: NOW.toISOString() } };
    spec.given([intended, attempted]).when({ type: 'GiveUpNotification', data: { effectId: 'e1:started:notify-0', reason: 'HTTP 500', now: NOW } }).then([failed]);
    spec.given([intended, attempted, failed]).when({ type: 'RecordNotificationDelivered', data: { effectId: 'e1:started:notify-0', now: NOW } }).thenNothingHappened();
    spec.given([intended, attempted, failed]).when(notify).thenNothingHappened();
  });
});
