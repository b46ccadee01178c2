import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, ReasonRequiredError } from '../errors.js';
import { AnalysisDecisionForbiddenError } from '../rollback/analysis.js';
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

describe('watch analysis: too few samples is inconclusive, never a completion', () => {
  const spec = DeciderSpecification.for(watchDecider);
  const errorRate = { id: 'error-rate-above-1-percent', metric: 'error_rate', operator: '>' as const, threshold: 0.01, durationSeconds: 300, action: 'rollback' as const, cooldownMinutes: 60, severity: 'critical' as const, source: 'rollback_trigger' as const };
  const analysis = { minSamplesPerMetric: 3, decisionRoles: ['sre' as const, 'release_engineer' as const], decisionTimeoutMinutes: 60 };
  const prodIds = { changeRequestId: 'cr-1', deploymentId: 'dep-1', environment: 'production' };
  const watched: WatchEvent = {
    type: 'PostDeploymentWatchStarted',
    data: { ...prodIds, service: 'checkout', version: '2.4.0', until: '2026-12-02T12:00:00.000Z', enhanced: false, postDeploymentHours: 24, rules: [errorRate], analysis, startedAt: '2026-12-01T10:00:00.000Z' },
  };
  // The deployment succeeded at 12:00: the watch proper runs until 12:00 the next day.
  const succeeded: WatchEvent = { type: 'WatchTimerArmed', data: { changeRequestId: 'cr-1', dueAt: '2026-12-02T12:00:00.000Z', basis: 'deployment_succeeded' } };
  const recorded = (...hours: number[]): WatchEvent => ({
    type: 'MetricSamplesRecorded',
    data: { ...prodIds, service: 'checkout', samples: hours.map((h) => ({ metric: 'error_rate', at: new Date(Date.parse('2026-12-01T12:00:00Z') + h * 3_600_000).toISOString(), value: 0.001 })), recordedAt: '2026-12-02T11:00:00.000Z' },
  });
  const due = { type: 'CompleteWatch', data: { now: new Date('2026-12-02T12:00:00Z') } } as const;
  const paused: WatchEvent = {
    type: 'PostDeploymentWatchPaused',
    data: {
      ...prodIds,
      analysis: { phase: 'Inconclusive', reason: '2 error_rate samples of the 3 required between 2026-12-01T12:00:00.000Z and 2026-12-02T12:00:00.000Z', samples: { error_rate: 2 }, from: '2026-12-01T12:00:00.000Z', until: '2026-12-02T12:00:00.000Z' },
      decisionRoles: ['sre', 'release_engineer'],
      decideBy: '2026-12-02T13:00:00.000Z',
      pausedAt: '2026-12-02T12:00:00.000Z',
    },
  };
  const decide = (decision: 'promote' | 'abort', actorRoles: string[], reason?: string) =>
    ({ type: 'DecideWatch', data: { decision, actor: 'sam', actorRoles, ...(reason !== undefined && { reason }), now: new Date('2026-12-02T12:30:00Z') } }) as const;

  it('given too few samples over the watch, when it comes due, then it pauses for a decision instead of completing', () => {
    spec.given([watched, succeeded, recorded(1, 2)]).when(due).then([paused]);
  });

  it('given enough samples, then it completes with its analysis', () => {
    spec.given([watched, succeeded, recorded(1, 2, 3)]).when(due).thenEvents(([completed]) => expect(completed).toMatchObject({ type: 'PostDeploymentWatchCompleted', data: { analysis: { phase: 'Successful', samples: { error_rate: 3 } } } }));
  });

  it('samples taken before the deployment succeeded do not count toward the watch', () => {
    spec.given([watched, recorded(-1, -0.5, -0.25), succeeded]).when(due).thenEvents(([e]) => expect(e?.type).toBe('PostDeploymentWatchPaused'));
  });

  it('an SRE promotes it with a reason: decision recorded, watch completed', () => {
    spec.given([watched, succeeded, recorded(1, 2), paused]).when(decide('promote', ['sre'], 'metrics exporter was down; checked by hand')).thenEvents(([decided, completed]) => {
      expect(decided).toMatchObject({ type: 'WatchAnalysisDecided', data: { decision: 'promote', actor: 'sam', reason: 'metrics exporter was down; checked by hand' } });
      expect(completed).toMatchObject({ type: 'PostDeploymentWatchCompleted', data: { promotedBy: 'sam', completedAt: '2026-12-02T12:30:00.000Z' } });
    });
  });

  it('refuses another role and a missing reason; an unpaused watch has nothing to decide', () => {
    spec.given([watched, succeeded, paused]).when(decide('promote', ['developer'], 'fine')).thenThrows(AnalysisDecisionForbiddenError);
    spec.given([watched, succeeded, paused]).when(decide('abort', ['sre'])).thenThrows(ReasonRequiredError);
    spec.given([watched, succeeded]).when(decide('promote', ['sre'], 'fine')).thenThrows(IllegalTransitionError);
  });

  it('aborting it (or letting the decision time run out) records the abort the rollback owner reacts to', () => {
    spec.given([watched, succeeded, paused]).when(decide('abort', ['release_engineer'], 'no data, not risking it')).thenEvents(([, aborted]) =>
      expect(aborted).toMatchObject({ type: 'PostDeploymentWatchAborted', data: { actor: 'sam', reason: 'no data, not risking it' } }),
    );
    const expire = (now: string) => ({ type: 'ExpireWatchDecision', data: { now: new Date(now) } }) as const;
    spec.given([watched, succeeded, paused]).when(expire('2026-12-02T12:59:59Z')).thenNothingHappened();
    spec.given([watched, succeeded, paused]).when(expire('2026-12-02T13:00:00Z')).thenEvents(([aborted]) =>
      expect(aborted).toMatchObject({ type: 'PostDeploymentWatchAborted', data: { actor: 'monitoring', reason: expect.stringContaining('no decision on the inconclusive post-deployment watch') } }),
    );
  });
});
