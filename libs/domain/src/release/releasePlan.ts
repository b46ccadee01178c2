import type { Role } from '@gatehouse/policy';
import { z } from 'zod';
import { iso, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, NotFoundError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

/**
 * A release's plan (seeds: `ReleasePlan.prerequisites`), stream `releasePlan-<releaseId>`: database,
 * infrastructure, third-party and compliance prerequisites, each with an owner, a deadline and a status. While
 * one is pending or failed, the release's changes are not approved and its deployments do not start (the refusal
 * names each owner); a pending one past its deadline becomes overdue, once, as an event.
 */

export const PREREQUISITE_TYPES = ['database', 'infrastructure', 'third_party', 'compliance'] as const;
export const PREREQUISITE_STATUSES = ['pending', 'completed', 'failed'] as const;
export type PrerequisiteType = (typeof PREREQUISITE_TYPES)[number];
export type PrerequisiteStatus = (typeof PREREQUISITE_STATUSES)[number];
/** Who plans a release, besides each prerequisite's owner for its own status. */
export const RELEASE_PLAN_ROLES: readonly Role[] = ['release_engineer', 'tech_lead', 'sre', 'vp_engineering'];

const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
export const PrerequisiteInput = z.strictObject({
  prerequisiteId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
  type: z.enum(PREREQUISITE_TYPES),
  description: z.string().trim().min(1, 'say what must be done').max(2_000),
  owner: z.string().trim().min(1, 'name the person who owns it').max(200),
  deadline: Instant,
});
/**
 * Milestones a communication plan can name (seeds: stakeholder milestone notifications, incident communication):
 * a deployment of the release booked, started, rolled back; `incident`: rolled back automatically by a trigger.
 */
export const COMMUNICATION_MILESTONES = ['scheduled', 'started', 'rolled_back', 'incident'] as const;
export type CommunicationMilestone = (typeof COMMUNICATION_MILESTONES)[number];
/** Seeds: internal (team), customer, stakeholder and incident communication. */
export const COMMUNICATION_AUDIENCES = ['internal', 'customers', 'stakeholders', 'incident'] as const;
const CommunicationEntryInput = z.strictObject({
  milestone: z.enum(COMMUNICATION_MILESTONES),
  audience: z.enum(COMMUNICATION_AUDIENCES),
  /** Only for these environments; all when absent. */
  environments: z.array(z.string().min(1).max(50)).min(1).max(20).optional(),
  message: z.string().trim().min(1, 'say what they are told').max(2_000),
});
export type CommunicationEntry = z.infer<typeof CommunicationEntryInput>;
export const CommunicationPlanInput = z.strictObject({ notifications: z.array(CommunicationEntryInput).max(50) });
export const PrerequisiteStatusInput = z.strictObject({ status: z.enum(PREREQUISITE_STATUSES), note: z.string().max(2_000).optional() });

// ---------------------------------------------------------------- commands and events

export type Prerequisite = { prerequisiteId: string; type: PrerequisiteType; description: string; owner: string; deadline: string; status: PrerequisiteStatus; overdue: boolean };

type Actor = { by: string; byRoles: readonly string[]; now: Date };
export type AddPrerequisite = DomainCommand<'AddPrerequisite', { releaseId: string; /** Unvalidated; see PrerequisiteInput. */ prerequisite: unknown } & Actor>;
export type SetPrerequisiteStatus = DomainCommand<'SetPrerequisiteStatus', { releaseId: string; prerequisiteId: string; /** Unvalidated; see StatusInput. */ change: unknown } & Actor>;
/** The deadline check: a pending prerequisite past its deadline is overdue (the ticker sends it on the injected clock). */
export type MarkPrerequisiteOverdue = DomainCommand<'MarkPrerequisiteOverdue', { releaseId: string; prerequisiteId: string; now: Date }>;
/** Replaces the release's communication plan: who is told what at which milestone. */
export type SetCommunicationPlan = DomainCommand<'SetCommunicationPlan', { releaseId: string; /** Unvalidated; see CommunicationPlanInput. */ plan: unknown } & Actor>;
export type ReleasePlanCommand = AddPrerequisite | SetPrerequisiteStatus | MarkPrerequisiteOverdue | SetCommunicationPlan;

export type ReleasePrerequisiteAdded = DomainEvent<'ReleasePrerequisiteAdded', { releaseId: string; prerequisiteId: string; type: PrerequisiteType; description: string; owner: string; deadline: string; addedBy: string; addedAt: string }>;
export type ReleasePrerequisiteStatusChanged = DomainEvent<
  'ReleasePrerequisiteStatusChanged',
  { releaseId: string; prerequisiteId: string; owner: string; from: PrerequisiteStatus; status: PrerequisiteStatus; note: string | null; changedBy: string; changedAt: string }
>;
export type ReleasePrerequisiteOverdue = DomainEvent<'ReleasePrerequisiteOverdue', { releaseId: string; prerequisiteId: string; owner: string; deadline: string; detectedAt: string }>;
export type ReleaseCommunicationPlanSet = DomainEvent<'ReleaseCommunicationPlanSet', { releaseId: string; notifications: CommunicationEntry[]; setBy: string; setAt: string }>;
export type ReleasePlanEvent = ReleasePrerequisiteAdded | ReleasePrerequisiteStatusChanged | ReleasePrerequisiteOverdue | ReleaseCommunicationPlanSet;
export const RELEASE_PLAN_EVENT_TYPES = ['ReleasePrerequisiteAdded', 'ReleasePrerequisiteStatusChanged', 'ReleasePrerequisiteOverdue', 'ReleaseCommunicationPlanSet'] as const;

export type ReleasePlanState = { releaseId: string | null; prerequisites: Prerequisite[]; communication: CommunicationEntry[] };

// ---------------------------------------------------------------- errors

export class ReleasePlanRoleRequiredError extends DomainError {
  override readonly name = 'ReleasePlanRoleRequiredError';
  readonly code = 'RELEASE_PLAN_ROLE_REQUIRED' as const;
  constructor(
    readonly person: string,
    readonly action: string,
  ) {
    super(`${action} needs one of the roles ${RELEASE_PLAN_ROLES.join(', ')}${action.startsWith('setting') ? ' (or being its owner)' : ''}; ${person} has neither`);
  }
}

/** Open prerequisites stop approval and start; the message names what is open, whose it is, and by when. */
export class PrerequisitesOpenError extends DomainError {
  override readonly name = 'PrerequisitesOpenError';
  readonly code = 'PREREQUISITES_OPEN' as const;
  constructor(
    readonly releaseId: string,
    readonly action: string,
    readonly open: readonly Prerequisite[],
  ) {
    super(`${action} waits for the release plan of ${releaseId}: ${describeOpen(open)}; the owner completes each (PUT /api/releases/${releaseId}/prerequisites/{id}/status)`);
  }
}

export function describeOpen(open: readonly Prerequisite[]): string {
  return open.map((p) => `${p.type} prerequisite '${p.prerequisiteId}' (${p.description}) is ${p.status}${p.overdue ? ', overdue' : ''}, owner ${p.owner}, deadline ${p.deadline}`).join('; ');
}

// ---------------------------------------------------------------- decide / evolve

const mayPlan = (roles: readonly string[]) => roles.some((r) => (RELEASE_PLAN_ROLES as readonly string[]).includes(r));

export function decideReleasePlan(command: ReleasePlanCommand, state: ReleasePlanState): ReleasePlanEvent[] {
  switch (command.type) {
    case 'AddPrerequisite': {
      const { releaseId, by, byRoles, now } = command.data;
      if (!mayPlan(byRoles)) throw new ReleasePlanRoleRequiredError(by, 'adding a release prerequisite');
      const p = parseOrThrow(PrerequisiteInput, command.data.prerequisite, 'release prerequisite');
      if (state.prerequisites.some((q) => q.prerequisiteId === p.prerequisiteId)) throw new AlreadyExistsError(`prerequisite of release ${releaseId}`, p.prerequisiteId);
      return [{ type: 'ReleasePrerequisiteAdded', data: { releaseId, ...p, deadline: iso(p.deadline), addedBy: by, addedAt: iso(now) } }];
    }
    case 'SetPrerequisiteStatus': {
      const { releaseId, prerequisiteId, by, byRoles, now } = command.data;
      const current = requirePrerequisite(state, releaseId, prerequisiteId);
      if (current.owner !== by && !mayPlan(byRoles)) throw new ReleasePlanRoleRequiredError(by, `setting the status of prerequisite '${prerequisiteId}'`);
      const { status, note } = parseOrThrow(PrerequisiteStatusInput, command.data.change, 'prerequisite status');
      if (status === current.status) return [];
      return [{ type: 'ReleasePrerequisiteStatusChanged', data: { releaseId, prerequisiteId, owner: current.owner, from: current.status, status, note: note ?? null, changedBy: by, changedAt: iso(now) } }];
    }
    case 'SetCommunicationPlan': {
      const { releaseId, by, byRoles, now } = command.data;
      if (!mayPlan(byRoles)) throw new ReleasePlanRoleRequiredError(by, 'setting the communication plan');
      const { notifications } = parseOrThrow(CommunicationPlanInput, command.data.plan, 'communication plan');
      if (JSON.stringify(notifications) === JSON.stringify(state.communication)) return [];
      return [{ type: 'ReleaseCommunicationPlanSet', data: { releaseId, notifications, setBy: by, setAt: iso(now) } }];
    }
    case 'MarkPrerequisiteOverdue': {
      const { releaseId, prerequisiteId, now } = command.data;
      const current = requirePrerequisite(state, releaseId, prerequisiteId);
      if (current.status !== 'pending' || current.overdue || toMs(current.deadline) > now.getTime()) return [];
      return [{ type: 'ReleasePrerequisiteOverdue', data: { releaseId, prerequisiteId, owner: current.owner, deadline: current.deadline, detectedAt: iso(now) } }];
    }
    default:
      return assertNever(command);
  }
}

function requirePrerequisite(state: ReleasePlanState, releaseId: string, prerequisiteId: string): Prerequisite {
  const found = state.prerequisites.find((p) => p.prerequisiteId === prerequisiteId);
  if (found === undefined) throw new NotFoundError(`prerequisite of release ${releaseId}`, prerequisiteId);
  return found;
}

export function evolveReleasePlan(state: ReleasePlanState, event: ReleasePlanEvent): ReleasePlanState {
  const update = (id: string, change: Partial<Prerequisite>) => state.prerequisites.map((p) => (p.prerequisiteId === id ? { ...p, ...change } : p));
  switch (event.type) {
    case 'ReleasePrerequisiteAdded': {
      const { releaseId, prerequisiteId, type, description, owner, deadline } = event.data;
      return { ...state, releaseId, prerequisites: [...state.prerequisites, { prerequisiteId, type, description, owner, deadline, status: 'pending', overdue: false }] };
    }
    case 'ReleasePrerequisiteStatusChanged':
      return { ...state, prerequisites: update(event.data.prerequisiteId, { status: event.data.status }) };
    case 'ReleasePrerequisiteOverdue':
      return { ...state, prerequisites: update(event.data.prerequisiteId, { overdue: true }) };
    case 'ReleaseCommunicationPlanSet':
      return { ...state, releaseId: event.data.releaseId, communication: event.data.notifications };
    default:
      return assertNever(event);
  }
}

export const initialReleasePlanState = (): ReleasePlanState => ({ releaseId: null, prerequisites: [], communication: [] });

/** Who is told what at a milestone of a deployment to `environment`. */
export function notificationsFor(plan: ReleasePlanState, milestone: CommunicationMilestone, environment: string): CommunicationEntry[] {
  return plan.communication.filter((n) => n.milestone === milestone && (n.environments === undefined || n.environments.includes(environment)));
}

export const releasePlanDecider: Decider<ReleasePlanCommand, ReleasePlanEvent, ReleasePlanState> = {
  decide: decideReleasePlan,
  evolve: evolveReleasePlan,
  initialState: initialReleasePlanState,
};

/** Pending or failed: what still stands between the release and its approval or start. */
export function openPrerequisites(prerequisites: readonly Prerequisite[]): Prerequisite[] {
  return prerequisites.filter((p) => p.status !== 'completed');
}

/** The release-plan rule at a decision point (approve, start): refused with every open prerequisite named, or allowed. */
export function checkReleasePlan(releaseId: string, prerequisites: readonly Prerequisite[], action: string): PrerequisitesOpenError | null {
  const open = openPrerequisites(prerequisites);
  return open.length === 0 ? null : new PrerequisitesOpenError(releaseId, action, open);
}
