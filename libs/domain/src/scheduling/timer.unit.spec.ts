import { DeciderSpecification } from '@gatehouse/testing';
import { AlreadyExistsError, NotFoundError } from '../errors.js';
import { timerDecider, TimerNotDueError, type TimerEvent } from './timer.js';

const spec = DeciderSpecification.for(timerDecider);
const armed: TimerEvent = { type: 'TimerArmed', data: { timerId: 't-1', dueAt: '2026-12-01T10:00:00.000Z', purpose: 'deployment-due', payload: { changeRequestId: 'cr-1' }, armedAt: '2026-11-25T09:00:00.000Z' } };
const fired: TimerEvent = { type: 'TimerFired', data: { timerId: 't-1', dueAt: '2026-12-01T10:00:00.000Z', purpose: 'deployment-due', payload: { changeRequestId: 'cr-1' }, firedAt: '2026-12-01T10:00:01.000Z' } };
const arm = (dueAt = '2026-12-01T10:00:00Z') => ({ type: 'ArmTimer', data: { timerId: 't-1', dueAt, purpose: 'deployment-due', payload: { changeRequestId: 'cr-1' }, now: new Date('2026-11-25T09:00:00Z') } }) as const;
const fire = (now: string) => ({ type: 'FireTimer', data: { timerId: 't-1', now: new Date(now) } }) as const;

describe('Timer', () => {
  it('is armed for an instant, as a stored fact', () => void spec.given([]).when(arm()).then([armed]));
  it('arming again for the same instant is a harmless repeat', () => void spec.given([armed]).when(arm()).thenNothingHappened());
  it('refuses to re-arm the same timer for another instant', () => void spec.given([armed]).when(arm('2026-12-03T10:00:00Z')).thenThrows(AlreadyExistsError));
  it('fires once its instant has come', () => void spec.given([armed]).when(fire('2026-12-01T10:00:01Z')).then([fired]));
  it('does not fire early', () => void spec.given([armed]).when(fire('2026-12-01T09:59:59Z')).thenThrows(TimerNotDueError, (e) => e.dueAt === '2026-12-01T10:00:00.000Z'));
  it('fires only once', () => void spec.given([armed, fired]).when(fire('2026-12-01T10:05:00Z')).thenNothingHappened());
  it('a cancelled timer never fires', () =>
    void spec
      .given([armed, { type: 'TimerCancelled', data: { timerId: 't-1', reason: 'rescheduled', cancelledAt: '2026-11-26T00:00:00.000Z' } }])
      .when(fire('2026-12-01T10:00:01Z'))
      .thenNothingHappened());
  it('a cancelled timer is armed again when its booking is made again for the same slot', () => {
    const cancelled: TimerEvent = { type: 'TimerCancelled', data: { timerId: 't-1', reason: 'approval withdrawn', cancelledAt: '2026-11-26T09:00:00.000Z' } };
    spec.given([armed, cancelled]).when(arm()).then([armed]);
    spec.given([armed, cancelled, armed]).when(fire('2026-12-01T10:00:01Z')).then([fired]);
  });
  it('cannot fire a timer that was never armed', () => void spec.given([]).when(fire('2026-12-01T10:00:01Z')).thenThrows(NotFoundError));
});
