import { WorkflowSpecification } from '@gatehouse/testing';
import type { WatchEvent } from '../watch/watch.js';
import { type WatchDeadlineInput, watchDeadlineFacts, watchDeadlinesWorkflow, watchDecisionTimerId, watchEndTimerId } from './watchDeadlines.js';

const spec = WorkflowSpecification.for(watchDeadlinesWorkflow);
const CR = 'cr-1';
const PROVISIONAL = '2026-12-02T11:00:00.000Z';
const ENDS = '2026-12-02T11:05:00.000Z';
const DECIDE_BY = '2026-12-02T15:05:00.000Z';
const watching = (over: Partial<WatchDeadlineInput['watch']> = {}): WatchDeadlineInput['watch'] => ({ status: 'watching', timerDueAt: ENDS, decideBy: null, endsArmed: [PROVISIONAL, ENDS], decisionsArmed: [], ...over });
const armed = (dueAt: string, basis: 'expected_completion' | 'deployment_succeeded' = 'deployment_succeeded') => ({ type: 'WatchTimerArmed', data: { changeRequestId: CR, dueAt, basis } }) as const;
const ids = { changeRequestId: CR, deploymentId: 'dep-1', service: 'checkout', environment: 'production' };
const analysis = { phase: 'Inconclusive', metrics: [], reasons: ['too few samples'] } as never;

describe('Watch deadlines workflow (the watch end and decision deadline as timers)', () => {
  it('arms the end the watch now waits for, and disarms the provisional one it supersedes', () =>
    spec
      .given([])
      .when({ event: armed(ENDS), watch: watching() })
      .then([
        { kind: 'cancel', timerId: watchEndTimerId(CR, PROVISIONAL), reason: `the watch now ends at ${ENDS}` },
        { kind: 'schedule', timerId: watchEndTimerId(CR, ENDS), at: new Date(ENDS), target: 'watch', streamId: 'watch-cr-1', command: { type: 'CompleteWatch', data: { changeRequestId: CR } } },
      ]));

  it('a late delivery of the provisional arming changes nothing: the current end stays armed', () =>
    spec
      .given([])
      .when({ event: armed(PROVISIONAL, 'expected_completion'), watch: watching() })
      .then([{ kind: 'ignore', reason: `the watch is watching and ends at ${ENDS}, not at ${PROVISIONAL}` }]));

  it('a watch that ended before its arming was handled arms nothing', () =>
    spec
      .given([])
      .when({ event: armed(ENDS), watch: watching({ status: 'ended' }) })
      .thenOutputs((outputs) => expect(outputs.map((o) => o.kind)).toEqual(['ignore'])));

  it('a pause disarms the end and arms the decision deadline', () =>
    spec
      .given([])
      .when({ event: { type: 'PostDeploymentWatchPaused', data: { ...ids, analysis, decisionRoles: ['sre'], decideBy: DECIDE_BY, pausedAt: ENDS } }, watch: watching({ status: 'paused', decideBy: DECIDE_BY }) })
      .thenOutputs((outputs) =>
        expect(outputs).toEqual([
          expect.objectContaining({ kind: 'cancel', timerId: watchEndTimerId(CR, PROVISIONAL) }),
          expect.objectContaining({ kind: 'cancel', timerId: watchEndTimerId(CR, ENDS) }),
          { kind: 'schedule', timerId: watchDecisionTimerId(CR, DECIDE_BY), at: new Date(DECIDE_BY), target: 'watch', streamId: 'watch-cr-1', command: { type: 'ExpireWatchDecision', data: { changeRequestId: CR } } },
        ]),
      ));

  it("a person's decision disarms the decision deadline", () =>
    spec
      .given([])
      .when({ event: { type: 'WatchAnalysisDecided', data: { ...ids, decision: 'promote', actor: 'sam', actorRoles: ['sre'], reason: 'dashboards fine', at: ENDS } }, watch: watching({ status: 'completed', decisionsArmed: [DECIDE_BY] }) })
      .then([{ kind: 'cancel', timerId: watchDecisionTimerId(CR, DECIDE_BY), reason: 'decided (promote) by sam' }]));

  it('an ended watch disarms every timer it had', () =>
    spec
      .given([])
      .when({ event: { type: 'PostDeploymentWatchEnded', data: { ...ids, reason: 'rolled_back', endedAt: ENDS } }, watch: watching({ status: 'ended', decisionsArmed: [DECIDE_BY] }) })
      .thenOutputs((outputs) => expect(outputs.map((o) => (o as { timerId: string }).timerId)).toEqual([watchEndTimerId(CR, PROVISIONAL), watchEndTimerId(CR, ENDS), watchDecisionTimerId(CR, DECIDE_BY)])));

  it('reads the watch as its stream stands', () => {
    const history = [
      { type: 'PostDeploymentWatchStarted', data: { ...ids, version: '2.4.0', until: PROVISIONAL, enhanced: false, postDeploymentHours: 24, rules: [], startedAt: '2026-12-01T10:00:00.000Z' } },
      armed(PROVISIONAL, 'expected_completion'),
      armed(ENDS),
    ] as unknown as WatchEvent[];
    expect(watchDeadlineFacts(history)).toEqual({ status: 'watching', timerDueAt: ENDS, decideBy: null, endsArmed: [PROVISIONAL, ENDS], decisionsArmed: [] });
    expect(watchDeadlineFacts([])).toMatchObject({ status: 'not_started', timerDueAt: null });
  });
});
