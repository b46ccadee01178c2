import { DeciderSpecification } from '@gatehouse/testing';
import { watchDecider, type WatchEvent } from './watch.js';

const ids = { changeRequestId: 'cr-1', deploymentId: 'dep-1', environment: 'development' };
/** Development watches 0 h: the provisional timer is the plan's expected completion, 09:06. */
const started: WatchEvent = {
  type: 'PostDeploymentWatchStarted',
  data: { ...ids, service: 'campaign-api', version: '2.2.0', until: '2026-11-30T09:06:00.000Z', enhanced: false, postDeploymentHours: 0, rules: [], startedAt: '2026-11-30T09:01:00.000Z' },
};
const provisional: WatchEvent = { type: 'WatchTimerArmed', data: { changeRequestId: 'cr-1', dueAt: '2026-11-30T09:06:00.000Z', basis: 'expected_completion' } };
const onSuccess: WatchEvent = { type: 'WatchTimerArmed', data: { changeRequestId: 'cr-1', dueAt: '2026-11-30T09:06:00.000Z', basis: 'deployment_succeeded' } };

describe('watch completion', () => {
  const spec = DeciderSpecification.for(watchDecider);

  it('does not complete when the provisional timer comes due before the deployment succeeded', () => {
    spec.given([started, provisional]).when({ type: 'CompleteWatch', data: { now: new Date('2026-11-30T09:07:00Z') } }).thenNothingHappened();
  });

  it('re-bases the timer on the success even when it lands exactly on the provisional time', () => {
    spec.given([started, provisional]).when({ type: 'ArmWatchTimerOnCompletion', data: { completedAt: '2026-11-30T09:06:00.000Z' } }).then([onSuccess]);
  });

  it('arms nothing new when the success-based timer is already set', () => {
    spec.given([started, provisional, onSuccess]).when({ type: 'ArmWatchTimerOnCompletion', data: { completedAt: '2026-11-30T09:06:00.000Z' } }).thenNothingHappened();
  });

  it('completes once the deployment succeeded and the watch period is over', () => {
    spec
      .given([started, provisional, onSuccess])
      .when({ type: 'CompleteWatch', data: { now: new Date('2026-11-30T09:07:00Z') } })
      .then([{ type: 'PostDeploymentWatchCompleted', data: { ...ids, completedAt: '2026-11-30T09:07:00.000Z' } }]);
  });
});
