import { ROLES, type Role } from '@gatehouse/policy';
import { z } from 'zod';
import { iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { DomainError, SeparationOfDutiesViolation, ValidationError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

/**
 * The on-call roster of one role (`onCallRoster-<role>`): who is on call when. An approval the policy asks
 * from the on-call person (the hotfix lane's SRE on call) counts only if the roster has the approver on a shift
 * at the moment of the approval; what a caller says about themselves does not count.
 */

/** Roles that may set a roster: SRE (who run the rota) and VP Engineering. */
export const ROSTER_MANAGER_ROLES: readonly Role[] = ['sre', 'vp_engineering'];
/** A roster covers at most this many shifts; older ones are dropped by the one who sets it. */
export const MAX_ROSTER_SHIFTS = 500;

const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
export const OnCallShift = z
  .strictObject({ person: z.string().trim().min(1).max(200), start: Instant, end: Instant })
  .refine((s) => toMs(s.end) > toMs(s.start), { message: 'a shift must end after it starts', path: ['end'] });
export type OnCallShift = z.infer<typeof OnCallShift>;
export const OnCallShifts = z.array(OnCallShift).max(MAX_ROSTER_SHIFTS);
/** Parsed as an object so a problem names its field as a request body would (`shifts.0.end`). */
const RosterPayload = z.strictObject({ shifts: OnCallShifts });

// ---------------------------------------------------------------- commands and events

/** Replaces the role's roster with these shifts. */
export type SetOnCallRoster = DomainCommand<'SetOnCallRoster', { role: Role; /** Unvalidated; see `OnCallShifts`. */ shifts: unknown; setBy: string; setterRoles: readonly Role[]; now: Date }>;
export type OnCallRosterCommand = SetOnCallRoster;

export type OnCallRosterSet = DomainEvent<'OnCallRosterSet', { role: Role; shifts: OnCallShift[]; setBy: string; setAt: string }>;
export type OnCallRosterEvent = OnCallRosterSet;

export type OnCallRosterState = { role: Role | null; shifts: OnCallShift[]; setBy: string | null; setAt: string | null };

// ---------------------------------------------------------------- errors

export class RosterManagerRoleRequiredError extends DomainError {
  override readonly name = 'RosterManagerRoleRequiredError';
  readonly code = 'ROSTER_MANAGER_ROLE_REQUIRED' as const;
  constructor(
    readonly person: string,
    readonly role: Role,
  ) {
    super(`setting the ${role} on-call roster needs one of the roles ${ROSTER_MANAGER_ROLES.join(', ')}; ${person} holds none`);
  }
}

// ---------------------------------------------------------------- decide / evolve

export function decideOnCallRoster(command: OnCallRosterCommand, _state: OnCallRosterState): OnCallRosterEvent[] {
  switch (command.type) {
    case 'SetOnCallRoster': {
      const { role, setBy, setterRoles, now } = command.data;
      if (!(ROLES as readonly string[]).includes(role)) throw new ValidationError('on-call roster', [{ field: 'role', reason: `must be one of ${ROLES.join(', ')}` }]);
      if (!setterRoles.some((r) => ROSTER_MANAGER_ROLES.includes(r))) throw new RosterManagerRoleRequiredError(setBy, role);
      const { shifts } = parseOrThrow(RosterPayload, { shifts: command.data.shifts }, 'on-call roster');
      // Whoever puts people on call cannot put themselves there: being on call is what lets an approval count as the on-call one.
      if (shifts.some((s) => s.person === setBy)) {
        throw new SeparationOfDutiesViolation(setBy, 'roster_self_assignment', `${setBy} cannot put themselves on the ${role} on-call roster; another roster manager must`);
      }
      return [{ type: 'OnCallRosterSet', data: { role, shifts: shifts.map((s) => ({ person: s.person, start: iso(s.start), end: iso(s.end) })), setBy, setAt: iso(now) } }];
    }
    default:
      return assertNever(command.type);
  }
}

export function evolveOnCallRoster(state: OnCallRosterState, event: OnCallRosterEvent): OnCallRosterState {
  switch (event.type) {
    case 'OnCallRosterSet':
      return { role: event.data.role, shifts: event.data.shifts, setBy: event.data.setBy, setAt: event.data.setAt };
    default:
      return assertNever(event.type);
  }
}

export const initialOnCallRosterState = (): OnCallRosterState => ({ role: null, shifts: [], setBy: null, setAt: null });

export const onCallRosterDecider: Decider<OnCallRosterCommand, OnCallRosterEvent, OnCallRosterState> = {
  decide: decideOnCallRoster,
  evolve: evolveOnCallRoster,
  initialState: initialOnCallRosterState,
};

/** Shifts are half-open `[start, end)`, like every interval in the policy. */
export function onCallAt(state: OnCallRosterState, person: string, at: Date): boolean {
  const t = at.getTime();
  return state.shifts.some((s) => s.person === person && toMs(s.start) <= t && t < toMs(s.end));
}

/** Everyone on call at an instant. */
export function onCallPeopleAt(state: OnCallRosterState, at: Date): string[] {
  const t = at.getTime();
  return [...new Set(state.shifts.filter((s) => toMs(s.start) <= t && t < toMs(s.end)).map((s) => s.person))];
}
