import { DeciderSpecification } from '@gatehouse/testing';
import { SeparationOfDutiesViolation, ValidationError } from '../errors.js';
import { onCallAt, onCallPeopleAt, onCallRosterDecider, RosterManagerRoleRequiredError, type OnCallRosterEvent, type SetOnCallRoster } from './onCallRoster.js';

const spec = DeciderSpecification.for(onCallRosterDecider);
const NOW = new Date('2026-11-27T08:00:00Z');
const shifts = [
  { person: 'sam', start: '2026-11-27T00:00:00Z', end: '2026-11-28T00:00:00Z' },
  { person: 'sue', start: '2026-11-28T00:00:00Z', end: '2026-11-29T00:00:00Z' },
];
const setRoster = (overrides: Partial<SetOnCallRoster['data']> = {}): SetOnCallRoster => ({
  type: 'SetOnCallRoster',
  data: { role: 'sre', shifts, setBy: 'olga', setterRoles: ['sre'], now: NOW, ...overrides },
});

describe('on-call roster', () => {
  it('records the shifts an SRE sets, and answers who is on call when (half-open shifts)', () => {
    spec
      .given([])
      .when(setRoster())
      .thenEvents(([event], state) => {
        expect(event).toEqual({
          type: 'OnCallRosterSet',
          data: {
            role: 'sre',
            shifts: [
              { person: 'sam', start: '2026-11-27T00:00:00.000Z', end: '2026-11-28T00:00:00.000Z' },
              { person: 'sue', start: '2026-11-28T00:00:00.000Z', end: '2026-11-29T00:00:00.000Z' },
            ],
            setBy: 'olga',
            setAt: NOW.toISOString(),
          },
        } satisfies OnCallRosterEvent);
        expect(onCallAt(state, 'sam', NOW)).toBe(true);
        expect(onCallAt(state, 'sue', NOW)).toBe(false);
        expect(onCallAt(state, 'sam', new Date('2026-11-28T00:00:00Z'))).toBe(false);
        expect(onCallPeopleAt(state, new Date('2026-11-28T00:00:00Z'))).toEqual(['sue']);
      });
  });

  it('refuses a roster set by someone without a roster manager role', () => {
    spec.given([]).when(setRoster({ setBy: 'dev', setterRoles: ['developer', 'tech_lead'] })).thenThrows(RosterManagerRoleRequiredError, (e) => e.person === 'dev' && e.message.includes('sre, vp_engineering'));
  });

  it('refuses a roster manager putting themselves on call', () => {
    spec.given([]).when(setRoster({ setBy: 'sam' })).thenThrows(SeparationOfDutiesViolation, (e) => e.rule === 'roster_self_assignment' && e.approver === 'sam');
  });

  it('refuses a shift that ends before it starts, naming the field', () => {
    spec
      .given([])
      .when(setRoster({ shifts: [{ person: 'sam', start: '2026-11-28T00:00:00Z', end: '2026-11-27T00:00:00Z' }] }))
      .thenThrows(ValidationError, (e) => e.issues.some((i) => i.field === 'shifts.0.end'));
  });
});
