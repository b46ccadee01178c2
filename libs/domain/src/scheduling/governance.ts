/**
 * Scheduling's governance read model: every fact a booking, reschedule, re-plan or start depends on,
 * gathered from the log — releases and what they carry, the changes, the bookings (of every service and
 * environment, so the major releases booked to production), the people behind each approval, and the
 * testing-gate results and overrides of each release. The decisions (decisions.ts) read only this.
 */
import type { Approval, Role, ScheduledMajorRelease } from '@gatehouse/policy';
import { assertNever } from '../decider.js';
import { carriesMigration } from '../governance/migration.js';
import type { GateOverride, GateResult } from '../testing-gates/testingGates.js';
import { approvalsOfFills } from './emergency.js';
import type { Prerequisite, ReleasePlanEvent } from '../release/releasePlan.js';
import { evolveReleasePlan } from '../release/releasePlan.js';
import type { Booking, ScheduleEvent } from './schedule.js';

/** Release type whose production bookings freeze other work (policy freezes of `event: major_release`). */
export const MAJOR_RELEASE_TYPE = 'major';
/** The environment whose major-release dates the freezes count from. */
export const MAJOR_RELEASE_ENVIRONMENT = 'production';

export interface ReleaseFacts {
  service: string;
  version: string;
  releaseType: string;
  changes: { kind: string; description: string }[];
  migrations: { migrationId: string }[];
}

export interface ChangeFacts {
  releaseId?: string;
  environments: string[];
  kind: Booking['changeType'];
  /** ISO instant the author planned. */
  planned: string;
  author: string;
  includesMigration: boolean;
  hasRunbook: boolean;
  /** Cancelled or rejected: no longer planned. */
  withdrawn: boolean;
  /** Booked at least once: from then on its bookings, not its planned time, say when it goes. */
  booked: boolean;
}

export interface GateRecord {
  results: GateResult[];
  overrides: GateOverride[];
}

export interface SchedulingFacts {
  readonly releases: Map<string, ReleaseFacts>;
  readonly changes: Map<string, ChangeFacts>;
  /** Bookings waiting for their slot (status scheduled). */
  readonly bookings: Map<string, Booking>;
  /** Bookings whose start was refused at their slot; they wait for a new decision. */
  readonly blocked: Map<string, Booking>;
  /** changeRequestId → who approved in which role, from its latest full approval. */
  readonly approvals: Map<string, Approval[]>;
  /** `${releaseId}/${environment}` → gate results and warn overrides. */
  readonly gates: Map<string, GateRecord>;
  /** Releases that went to each environment (their deployment fell due), for the release cadence. */
  readonly deployed: { environment: string; service: string; releaseType: string; deployedAt: Date }[];
  /** releaseId → its release plan's prerequisites (open ones stop a start). */
  readonly prerequisites: Map<string, Prerequisite[]>;
}

/** The events the model learns from, with the fields it reads (the consumer validates them against the contracts). */
export type GovernanceFact =
  | { type: 'ReleasePlanned'; data: { releaseId: string; service: string; version: string; releaseType: string; changes: { kind: string; description: string }[] } }
  | { type: 'ReleaseRevised'; data: { releaseId: string; changes?: { kind: string; description: string }[] | undefined } }
  | { type: 'ReleaseMigrationRecorded'; data: { releaseId: string; migrationId: string } }
  | {
      type: 'ChangeRequestSubmitted';
      data: {
        changeRequestId: string;
        kind: Booking['changeType'];
        draft: { releaseId?: string | undefined; environments: string[]; schedule: { planned: string }; author: string; includesMigration: boolean; runbookRef?: string | undefined };
      };
    }
  | { type: 'ChangeFullyApproved'; data: { approvalId: string; fills: { role: Role; approvers: string[] }[] } }
  | { type: 'ChangeCancelled' | 'ChangeRequestRejected'; data: { changeRequestId: string } }
  | { type: 'GateResultRecorded'; data: { releaseId: string; environment: string; result: GateResult } }
  | { type: 'WarnGateOverridden'; data: { releaseId: string; environment: string; override: GateOverride } }
  | ReleasePlanEvent
  | ScheduleEvent;

export const GOVERNANCE_FACT_TYPES = [
  'ReleasePlanned',
  'ReleaseRevised',
  'ReleaseMigrationRecorded',
  'ChangeRequestSubmitted',
  'ChangeFullyApproved',
  'ChangeCancelled',
  'ChangeRequestRejected',
  'GateResultRecorded',
  'WarnGateOverridden',
  'ReleasePrerequisiteAdded',
  'ReleasePrerequisiteStatusChanged',
  'ReleasePrerequisiteOverdue',
  'ReleaseCommunicationPlanSet',
  'DeploymentScheduled',
  'DeploymentRescheduled',
  'SchedulingRefused',
  'DeploymentDue',
  'BookingCancelled',
  'DeploymentStartRefused',
] as const satisfies readonly GovernanceFact['type'][];

export const emptySchedulingFacts = (): SchedulingFacts => ({
  releases: new Map(),
  changes: new Map(),
  bookings: new Map(),
  blocked: new Map(),
  approvals: new Map(),
  gates: new Map(),
  deployed: [],
  prerequisites: new Map(),
});

export const gateRecordKey = (releaseId: string, environment: string): string => `${releaseId}/${environment}`;

/** Folds one fact into the model (a read model: updated in place, replayed from the log at every start). */
export function recordFact(facts: SchedulingFacts, fact: GovernanceFact): void {
  switch (fact.type) {
    case 'ReleasePlanned': {
      const { releaseId, service, version, releaseType, changes } = fact.data;
      facts.releases.set(releaseId, { service, version, releaseType, changes: changes.map(({ kind, description }) => ({ kind, description })), migrations: [] });
      return;
    }
    case 'ReleaseRevised': {
      const release = facts.releases.get(fact.data.releaseId);
      if (release !== undefined && fact.data.changes !== undefined) release.changes = fact.data.changes.map(({ kind, description }) => ({ kind, description }));
      return;
    }
    case 'ReleaseMigrationRecorded':
      facts.releases.get(fact.data.releaseId)?.migrations.push({ migrationId: fact.data.migrationId });
      return;
    case 'ChangeRequestSubmitted': {
      const { changeRequestId, kind, draft } = fact.data;
      facts.changes.set(changeRequestId, {
        ...(draft.releaseId ? { releaseId: draft.releaseId } : {}),
        environments: [...draft.environments],
        kind,
        planned: draft.schedule.planned,
        author: draft.author,
        includesMigration: draft.includesMigration,
        hasRunbook: draft.runbookRef !== undefined,
        withdrawn: false,
        booked: false,
      });
      return;
    }
    case 'ChangeFullyApproved':
      // One approval request per change request: the approval id is the change's id.
      facts.approvals.set(fact.data.approvalId, approvalsOfFills(fact.data.fills));
      return;
    case 'ChangeCancelled':
    case 'ChangeRequestRejected': {
      const change = facts.changes.get(fact.data.changeRequestId);
      if (change !== undefined) change.withdrawn = true;
      return;
    }
    case 'GateResultRecorded':
    case 'WarnGateOverridden': {
      const key = gateRecordKey(fact.data.releaseId, fact.data.environment);
      const record = facts.gates.get(key) ?? { results: [], overrides: [] };
      if (fact.type === 'GateResultRecorded') record.results.push(fact.data.result);
      else record.overrides = [...record.overrides.filter((o) => o.gateId !== fact.data.override.gateId), fact.data.override];
      facts.gates.set(key, record);
      return;
    }
    case 'ReleasePrerequisiteAdded':
    case 'ReleasePrerequisiteStatusChanged':
    case 'ReleasePrerequisiteOverdue':
    case 'ReleaseCommunicationPlanSet': {
      const { releaseId } = fact.data;
      const plan = evolveReleasePlan({ releaseId, prerequisites: facts.prerequisites.get(releaseId) ?? [], communication: [] }, fact);
      facts.prerequisites.set(releaseId, plan.prerequisites);
      return;
    }
    case 'DeploymentScheduled':
    case 'DeploymentRescheduled': {
      const { previousScheduledFor: _p, reason: _r, ...booking } = fact.data as Booking & { previousScheduledFor?: string; reason?: string };
      facts.bookings.set(booking.changeRequestId, booking);
      facts.blocked.delete(booking.changeRequestId);
      const change = facts.changes.get(booking.changeRequestId);
      if (change !== undefined) change.booked = true;
      return;
    }
    case 'DeploymentStartRefused': {
      const booking = facts.bookings.get(fact.data.changeRequestId);
      facts.bookings.delete(fact.data.changeRequestId);
      if (booking !== undefined) facts.blocked.set(booking.changeRequestId, booking);
      return;
    }
    case 'DeploymentDue': {
      const { environment, service, releaseId, dueAt } = fact.data;
      const releaseType = facts.releases.get(releaseId)?.releaseType;
      if (releaseType !== undefined) facts.deployed.push({ environment, service, releaseType, deployedAt: new Date(dueAt) });
      facts.bookings.delete(fact.data.changeRequestId);
      facts.blocked.delete(fact.data.changeRequestId);
      return;
    }
    case 'SchedulingRefused':
    case 'BookingCancelled':
      facts.bookings.delete(fact.data.changeRequestId);
      facts.blocked.delete(fact.data.changeRequestId);
      return;
    default:
      return assertNever(fact);
  }
}

/**
 * Major releases booked or planned for production: the dates `before_event: major_release` freezes count from.
 * A booking gives the date; a production change of a major release not yet booked (nor withdrawn) gives its planned date.
 */
export function majorReleasesOf(facts: SchedulingFacts): ScheduledMajorRelease[] {
  const isMajor = (releaseId: string | undefined) => releaseId !== undefined && facts.releases.get(releaseId)?.releaseType === MAJOR_RELEASE_TYPE;
  const name = (releaseId: string) => {
    const release = facts.releases.get(releaseId);
    return release === undefined ? releaseId : `${release.service} ${release.version}`;
  };
  const booked = [...facts.bookings.values(), ...facts.blocked.values()]
    .filter((b) => b.environment === MAJOR_RELEASE_ENVIRONMENT && isMajor(b.releaseId))
    .map((b) => ({ scheduledAt: new Date(b.scheduledFor), name: `major release ${name(b.releaseId)} (booked)` }));
  const planned = [...facts.changes.entries()]
    .filter(([, c]) => !c.withdrawn && !c.booked && c.environments.includes(MAJOR_RELEASE_ENVIRONMENT) && isMajor(c.releaseId))
    .map(([, c]) => ({ scheduledAt: new Date(c.planned), name: `major release ${name(c.releaseId ?? '')} (planned)` }));
  return [...booked, ...planned].sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime());
}

/** Is this fact a new or moved production date of a major release (so freezes elsewhere may now cover booked work)? */
export function movesMajorRelease(facts: SchedulingFacts, fact: GovernanceFact): boolean {
  if (fact.type !== 'DeploymentScheduled' && fact.type !== 'DeploymentRescheduled') return false;
  return fact.data.environment === MAJOR_RELEASE_ENVIRONMENT && facts.releases.get(fact.data.releaseId)?.releaseType === MAJOR_RELEASE_TYPE;
}

/** Does the change carry a migration by any source (its flag, its release's listed changes, CI's reports)? */
export function changeCarriesMigration(facts: SchedulingFacts, change: ChangeFacts): boolean {
  const release = change.releaseId === undefined ? undefined : facts.releases.get(change.releaseId);
  return carriesMigration({ changeFlag: change.includesMigration, releaseChanges: release?.changes ?? [], recordedMigrations: release?.migrations ?? [] });
}

