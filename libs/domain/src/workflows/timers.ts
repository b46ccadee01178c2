/**
 * Timers as workflow outputs. A workflow that wants something to happen later says so as an output —
 * `schedule` (arm a timer: at `at`, send `command` to `streamId`) or `cancel` (a later fact disarms it) —
 * and never keeps a clock of its own. The workflow runner records the output as an event on the timer's
 * own stream (`workflowTimer-<timerId>`) before anything else; the owning service's timer runner keeps the armed
 * timers (from the store, so a restart or another replica resumes them), sends the command once the
 * injectable clock reaches `at`, and records that it fired.
 *
 * The timer's stream is its decider's: `ArmTimer` / `RecordTimerFired` / `CancelTimer`. Each arming is a
 * generation; the command a generation fires carries the deterministic id `<timerId>:<generation>:fire`,
 * so two runners, or a crash between sending and recording, send it once.
 */
import { assertNever } from '../decider.js';
import { iso } from '../clock.js';

/**
 * Category of the workflow timers' streams. (Scheduling's booking timers were once kept on `timer-<id>` streams,
 * libs/domain scheduling/timer.ts; scheduling moves any still armed to workflow timers at start.)
 */
export const WORKFLOW_TIMER_CATEGORY = 'workflowTimer';
export const workflowTimerStreamId = (timerId: string): string => `${WORKFLOW_TIMER_CATEGORY}-${timerId}`;

/** Arm a timer. `timerId` is deterministic from the cause (the fact the deadline belongs to), so a later fact can cancel it. */
export interface WorkflowSchedule<Target extends string, Command> {
  kind: 'schedule';
  timerId: string;
  /** The first instant at which the command is to be sent (the runner never sends it before). */
  at: Date;
  target: Target;
  streamId: string;
  /** Sent as is (JSON: instants travel as ISO strings) when the timer fires. */
  command: Command;
}

/** Disarm a timer (a later fact made it moot, e.g. the review recorded before its deadline). Nothing happens if it is not armed. */
export interface WorkflowCancel {
  kind: 'cancel';
  timerId: string;
  reason: string;
}

export type WorkflowTimerStatus = 'none' | 'armed' | 'fired' | 'cancelled';

/** What a timer runner keeps of an armed timer. */
export interface ArmedTimer {
  timerId: string;
  generation: number;
  /** The service whose timer runner fires it. */
  owner: string;
  at: string;
  target: string;
  streamId: string;
  command: unknown;
}

/** The id the fired command carries: the same for every runner and every attempt of one generation. */
export const timerFireCommandId = (timer: Pick<ArmedTimer, 'timerId' | 'generation'>): string => `${timer.timerId}:${timer.generation}:fire`;

// ---------------------------------------------------------------- commands and events

export type WorkflowTimerCommand =
  | { type: 'ArmTimer'; data: { timerId: string; owner: string; at: Date; target: string; streamId: string; command: unknown; now: Date } }
  | { type: 'RecordTimerFired'; data: { timerId: string; generation: number; outcome: TimerFiredOutcome; now: Date } }
  | { type: 'CancelTimer'; data: { timerId: string; reason: string; now: Date } };

/** `sent`: the command's target took it (or already had); `refused`: its target refused it for good (the refusal is the answer). */
export type TimerFiredOutcome = 'sent' | 'refused';

export type WorkflowTimerEvent =
  | { type: 'TimerArmed'; data: ArmedTimer & { armedAt: string } }
  | { type: 'TimerFired'; data: { timerId: string; generation: number; at: string; firedAt: string; outcome: TimerFiredOutcome } }
  | { type: 'TimerCancelled'; data: { timerId: string; generation: number; reason: string; cancelledAt: string } };

export const WORKFLOW_TIMER_EVENT_TYPES = ['TimerArmed', 'TimerFired', 'TimerCancelled'] as const;

export interface WorkflowTimerState {
  status: WorkflowTimerStatus;
  /** The current (or last) arming; 0 before the first. */
  generation: number;
  at: string | null;
}

// ---------------------------------------------------------------- decider

/**
 * Arming an armed timer changes nothing (the first arming stands); arming one that fired or was cancelled
 * starts a new generation (the fact it waits for became pending again). Firing and cancelling apply to
 * the armed generation only: a late fire of a cancelled timer, or a cancel of a fired one, records nothing.
 */
export function decideWorkflowTimer(command: WorkflowTimerCommand, state: WorkflowTimerState): WorkflowTimerEvent[] {
  switch (command.type) {
    case 'ArmTimer': {
      if (state.status === 'armed') return [];
      const { timerId, owner, at, target, streamId, command: fired, now } = command.data;
      return [{ type: 'TimerArmed', data: { timerId, generation: state.generation + 1, owner, at: iso(at), target, streamId, command: fired, armedAt: iso(now) } }];
    }
    case 'RecordTimerFired': {
      const { timerId, generation, outcome, now } = command.data;
      if (state.status !== 'armed' || state.generation !== generation || state.at === null) return [];
      return [{ type: 'TimerFired', data: { timerId, generation, at: state.at, firedAt: iso(now), outcome } }];
    }
    case 'CancelTimer': {
      const { timerId, reason, now } = command.data;
      if (state.status !== 'armed') return [];
      return [{ type: 'TimerCancelled', data: { timerId, generation: state.generation, reason, cancelledAt: iso(now) } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveWorkflowTimer(state: WorkflowTimerState, event: WorkflowTimerEvent): WorkflowTimerState {
  switch (event.type) {
    case 'TimerArmed':
      return { status: 'armed', generation: event.data.generation, at: event.data.at };
    case 'TimerFired':
      return { ...state, status: 'fired' };
    case 'TimerCancelled':
      return { ...state, status: 'cancelled' };
    default:
      return assertNever(event);
  }
}

export const workflowTimerDecider = {
  decide: decideWorkflowTimer,
  evolve: evolveWorkflowTimer,
  initialState: (): WorkflowTimerState => ({ status: 'none', generation: 0, at: null }),
};
