import { iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, NotFoundError } from '../errors.js';

/**
 * Legacy durable timers: versions before workflow timers (workflows/timers.ts) armed booking starts on
 * `timer-<timerId>`. Nothing arms them any more; scheduling reads them once at start, moves each one still armed to
 * a workflow timer and cancels it here (apps/scheduling start-timers.ts), and still decides a start on a
 * `TimerFired` recorded here by an earlier version.
 */
export type ArmTimer = DomainCommand<'ArmTimer', { timerId: string; dueAt: string; purpose: string; payload: Readonly<Record<string, unknown>>; now: Date }>;
export type FireTimer = DomainCommand<'FireTimer', { timerId: string; now: Date }>;
export type CancelTimer = DomainCommand<'CancelTimer', { timerId: string; reason: string; now: Date }>;
export type TimerCommand = ArmTimer | FireTimer | CancelTimer;

export type TimerArmed = DomainEvent<'TimerArmed', { timerId: string; dueAt: string; purpose: string; payload: Record<string, unknown>; armedAt: string }>;
export type TimerFired = DomainEvent<'TimerFired', { timerId: string; dueAt: string; purpose: string; payload: Record<string, unknown>; firedAt: string }>;
export type TimerCancelled = DomainEvent<'TimerCancelled', { timerId: string; reason: string; cancelledAt: string }>;
export type TimerEvent = TimerArmed | TimerFired | TimerCancelled;

export type TimerState =
  | { status: 'unarmed' }
  | { status: 'armed' | 'fired' | 'cancelled'; timerId: string; dueAt: string; purpose: string; payload: Record<string, unknown> };

export const TIMER_CATEGORY = 'timer';
export const timerStreamId = (timerId: string): string => `${TIMER_CATEGORY}-${timerId}`;

export class TimerNotDueError extends DomainError {
  override readonly name = 'TimerNotDueError';
  readonly code = 'TIMER_NOT_DUE' as const;
  constructor(
    readonly timerId: string,
    readonly dueAt: string,
    readonly now: string,
  ) {
    super(`timer ${timerId} is due at ${dueAt}; it cannot fire at ${now}`);
  }
}

const AGGREGATE = 'timer';

export function decideTimer(command: TimerCommand, state: TimerState): TimerEvent[] {
  const { timerId } = command.data;
  const at = iso(command.data.now);
  switch (command.type) {
    case 'ArmTimer': {
      // A cancelled timer is armed again when the booking it served is made again for the same slot.
      if (state.status === 'unarmed' || state.status === 'cancelled') {
        const { dueAt, purpose, payload } = command.data;
        return [{ type: 'TimerArmed', data: { timerId, dueAt: iso(dueAt), purpose, payload: { ...payload }, armedAt: at } }];
      }
      // Arming the same timer for the same instant again is a harmless repeat; another instant is a conflict.
      if (toMs(state.dueAt) === toMs(command.data.dueAt)) return [];
      throw new AlreadyExistsError(AGGREGATE, timerId);
    }
    case 'FireTimer': {
      if (state.status === 'unarmed') throw new NotFoundError(AGGREGATE, timerId);
      if (state.status !== 'armed') return [];
      if (toMs(command.data.now) < toMs(state.dueAt)) throw new TimerNotDueError(timerId, state.dueAt, at);
      return [{ type: 'TimerFired', data: { timerId, dueAt: state.dueAt, purpose: state.purpose, payload: state.payload, firedAt: at } }];
    }
    case 'CancelTimer':
      if (state.status !== 'armed') return [];
      return [{ type: 'TimerCancelled', data: { timerId, reason: command.data.reason, cancelledAt: at } }];
    default:
      return assertNever(command);
  }
}

export function evolveTimer(state: TimerState, event: TimerEvent): TimerState {
  switch (event.type) {
    case 'TimerArmed': {
      const { timerId, dueAt, purpose, payload } = event.data;
      return { status: 'armed', timerId, dueAt, purpose, payload };
    }
    case 'TimerFired':
      return state.status === 'unarmed' ? state : { ...state, status: 'fired' };
    case 'TimerCancelled':
      return state.status === 'unarmed' ? state : { ...state, status: 'cancelled' };
    default:
      return assertNever(event);
  }
}

export const timerDecider: Decider<TimerCommand, TimerEvent, TimerState> = {
  decide: decideTimer,
  evolve: evolveTimer,
  initialState: () => ({ status: 'unarmed' }),
};
