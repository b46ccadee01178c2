/**
 * A post-deployment watch's deadlines as workflow timers: its end (`WatchTimerArmed`: the provisional one at the
 * deployment's expected completion, then the one from its success) fires `CompleteWatch`; a watch paused on an
 * inconclusive analysis waits for a person until `decideBy`, when `ExpireWatchDecision` aborts it. Each instant has
 * its own timer (`watch-<changeRequestId>:end:<epoch ms>`, `…:decision:<epoch ms>`), so a later fact names the ones
 * it ends and a late delivery of an earlier fact never disarms a newer one. The watch decider checks every fired
 * command against the watch as it stands, so a timer that fires for an instant the watch has moved past does nothing.
 */
import { assertNever } from '../decider.js';
import {
  type PostDeploymentWatchAborted,
  type PostDeploymentWatchCompleted,
  type PostDeploymentWatchEnded,
  type PostDeploymentWatchPaused,
  type WatchAnalysisDecided,
  watchDecider,
  type WatchEvent,
  type WatchStatus,
  type WatchTimerArmed,
} from '../watch/watch.js';
import type { WorkflowCancel, WorkflowSchedule } from './timers.js';
import { statelessWorkflow, type Workflow, type WorkflowIgnore } from './workflow.js';

const watchStreamIdOf = (changeRequestId: string): string => `watch-${changeRequestId}`;
export const watchEndTimerId = (changeRequestId: string, dueAt: string): string => `${watchStreamIdOf(changeRequestId)}:end:${Date.parse(dueAt)}`;
export const watchDecisionTimerId = (changeRequestId: string, decideBy: string): string => `${watchStreamIdOf(changeRequestId)}:decision:${Date.parse(decideBy)}`;

/** The timer target monitoring's timer runner serves. */
export const WATCH_TIMER_TARGET = 'watch';

/** What a watch timer sends: the watch command, whose `now` is the instant the timer fired. */
export type WatchTimerCommand = { type: 'CompleteWatch'; data: { changeRequestId: string } } | { type: 'ExpireWatchDecision'; data: { changeRequestId: string } };

export const WATCH_DEADLINE_EVENT_TYPES = ['WatchTimerArmed', 'PostDeploymentWatchPaused', 'WatchAnalysisDecided', 'PostDeploymentWatchCompleted', 'PostDeploymentWatchEnded', 'PostDeploymentWatchAborted'] as const;
export type WatchDeadlineEvent = WatchTimerArmed | PostDeploymentWatchPaused | WatchAnalysisDecided | PostDeploymentWatchCompleted | PostDeploymentWatchEnded | PostDeploymentWatchAborted;

export interface WatchDeadlineInput {
  event: WatchDeadlineEvent;
  /** The watch as it stands in the store when the event is handled, with every end and decision instant ever armed on it. */
  watch: { status: WatchStatus | 'not_started'; timerDueAt: string | null; decideBy: string | null; endsArmed: readonly string[]; decisionsArmed: readonly string[] };
}

export type WatchDeadlineOutput = WorkflowSchedule<typeof WATCH_TIMER_TARGET, WatchTimerCommand> | WorkflowCancel | WorkflowIgnore;

/** The watch as its stream stands: what the workflow checks an event against. */
export function watchDeadlineFacts(history: readonly WatchEvent[]): WatchDeadlineInput['watch'] {
  const state = history.reduce(watchDecider.evolve, watchDecider.initialState());
  const endsArmed = [...new Set(history.flatMap((e) => (e.type === 'WatchTimerArmed' ? [e.data.dueAt] : [])))];
  const decisionsArmed = [...new Set(history.flatMap((e) => (e.type === 'PostDeploymentWatchPaused' ? [e.data.decideBy] : [])))];
  if (state.status === 'not_started') return { status: 'not_started', timerDueAt: null, decideBy: null, endsArmed, decisionsArmed };
  return { status: state.status, timerDueAt: state.timerDueAt, decideBy: state.paused?.decideBy ?? null, endsArmed, decisionsArmed };
}

const OPEN: ReadonlySet<string> = new Set(['watching', 'rollback_requested']);

export function decideWatchDeadlines(input: WatchDeadlineInput): WatchDeadlineOutput[] {
  const { event, watch } = input;
  const { changeRequestId } = event.data;
  const streamId = watchStreamIdOf(changeRequestId);
  const cancelEnds = (reason: string, keep?: string): WatchDeadlineOutput[] =>
    watch.endsArmed.filter((dueAt) => keep === undefined || Date.parse(dueAt) !== Date.parse(keep)).map((dueAt) => ({ kind: 'cancel', timerId: watchEndTimerId(changeRequestId, dueAt), reason }));
  const cancelDecisions = (reason: string): WatchDeadlineOutput[] => watch.decisionsArmed.map((decideBy) => ({ kind: 'cancel', timerId: watchDecisionTimerId(changeRequestId, decideBy), reason }));
  switch (event.type) {
    case 'WatchTimerArmed': {
      const { dueAt } = event.data;
      const current = OPEN.has(watch.status) && watch.timerDueAt !== null && Date.parse(watch.timerDueAt) === Date.parse(dueAt);
      // A late delivery of an arming the watch has moved past changes nothing: the later fact did what was needed.
      if (!current) return [{ kind: 'ignore', reason: `the watch is ${watch.status}${watch.timerDueAt === null ? '' : ` and ends at ${watch.timerDueAt}`}, not at ${dueAt}` }];
      return [
        ...cancelEnds(`the watch now ends at ${dueAt}`, dueAt),
        { kind: 'schedule', timerId: watchEndTimerId(changeRequestId, dueAt), at: new Date(dueAt), target: WATCH_TIMER_TARGET, streamId, command: { type: 'CompleteWatch', data: { changeRequestId } } },
      ];
    }
    case 'PostDeploymentWatchPaused': {
      const { decideBy } = event.data;
      const current = watch.status === 'paused' && watch.decideBy !== null && Date.parse(watch.decideBy) === Date.parse(decideBy);
      if (!current) return [{ kind: 'ignore', reason: `the watch is ${watch.status}, no longer waiting for a decision by ${decideBy}` }];
      return [
        ...cancelEnds('the watch paused for a decision'),
        { kind: 'schedule', timerId: watchDecisionTimerId(changeRequestId, decideBy), at: new Date(decideBy), target: WATCH_TIMER_TARGET, streamId, command: { type: 'ExpireWatchDecision', data: { changeRequestId } } },
      ];
    }
    case 'WatchAnalysisDecided':
      return cancelDecisions(`decided (${event.data.decision}) by ${event.data.actor}`);
    case 'PostDeploymentWatchCompleted':
    case 'PostDeploymentWatchEnded':
    case 'PostDeploymentWatchAborted': {
      const reason = `the watch ${event.type === 'PostDeploymentWatchCompleted' ? 'completed' : event.type === 'PostDeploymentWatchEnded' ? 'ended' : 'was aborted'}`;
      const outputs = [...cancelEnds(reason), ...cancelDecisions(reason)];
      return outputs.length > 0 ? outputs : [{ kind: 'ignore', reason: `${reason}; no timer was armed` }];
    }
    default:
      return assertNever(event);
  }
}

/** Stateless: every decision reads the event and the watch as it stands. */
export const watchDeadlinesWorkflow: Workflow<WatchDeadlineInput, null, WatchDeadlineOutput, never> = statelessWorkflow(decideWatchDeadlines);
