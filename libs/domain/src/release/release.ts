import semver from 'semver';
import { z } from 'zod';
import { iso } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, IllegalTransitionError, InvalidVersionError, NotFoundError, requireReason, ValidationError } from '../errors.js';
import type { ManualRollbackBasis } from '../rollback/manualRollback.js';
import { parseOrThrow } from '../validation.js';

// ---------------------------------------------------------------- content

export const RELEASE_TYPES = ['major', 'minor', 'patch', 'hotfix'] as const;
export const ReleaseType = z.enum(RELEASE_TYPES);
export type ReleaseType = z.infer<typeof ReleaseType>;

export const RELEASE_CHANGE_KINDS = ['feature', 'fix', 'improvement', 'migration', 'security'] as const;
export const ReleaseChangeKind = z.enum(RELEASE_CHANGE_KINDS);
export type ReleaseChangeKind = z.infer<typeof ReleaseChangeKind>;

export const ReleaseChange = z.strictObject({
  kind: ReleaseChangeKind,
  description: z.string().trim().min(1, 'describe the change'),
  /** Ticket or PR reference. */
  reference: z.string().min(1).optional(),
});
export type ReleaseChange = z.infer<typeof ReleaseChange>;

/** The payload that plans a release (HTTP/CLI input is validated against it). */
export const ReleaseContent = z.strictObject({
  service: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case kebab-case, e.g. "campaign-api"'),
  version: z.string().min(1),
  type: ReleaseType,
  title: z.string().trim().min(1, 'a release needs a title'),
  description: z.string().default(''),
  changes: z.array(ReleaseChange).default([]),
});
export type ReleaseContent = z.infer<typeof ReleaseContent>;

/** The parts of a release that may change before it deploys; changing them invalidates approvals. */
export const ReleaseRevision = z
  .strictObject({ title: z.string().trim().min(1).optional(), description: z.string().optional(), changes: z.array(ReleaseChange).optional() })
  .refine((r) => r.title !== undefined || r.description !== undefined || r.changes !== undefined, { message: 'nothing to revise' });
export type ReleaseRevision = z.infer<typeof ReleaseRevision>;

/** A database migration CI reported as part of the release (`gatehouse.migration.included`). */
export const ReleaseMigration = z.strictObject({
  migrationId: z.string().trim().min(1, 'name the migration, e.g. "0042_add_campaign_index"'),
  description: z.string().trim().min(1, 'describe what the migration does'),
  /** A down-migration exists; an irreversible one is not undone by rolling the release back. */
  reversible: z.boolean(),
  database: z.string().trim().min(1).optional(),
});
export type ReleaseMigration = z.infer<typeof ReleaseMigration>;

/** A migration as the release records it. */
export interface RecordedMigration {
  migrationId: string;
  description: string;
  reversible: boolean;
  database: string | null;
  recordedAt: string;
}

export const RELEASE_STATUSES = ['planned', 'approved', 'deploying', 'deployed', 'rolled_back', 'failed'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export type DeploymentLane = 'normal' | 'hotfix';

/** Evidence from the hotfix lane that staging validation ended acceptably (passed, or stopped at the cap). */
export interface HotfixValidationEvidence {
  outcome: 'passed' | 'time_capped';
  startedAt: string;
  concludedAt: string;
}

// ---------------------------------------------------------------- commands

export type PlanRelease = DomainCommand<
  'PlanRelease',
  {
    releaseId: string;
    /** Unvalidated payload; see `ReleaseContent`. */
    content: unknown;
    /** Currently released version of the service, to check the type matches the bump. */
    previousVersion?: string;
    plannedBy: string;
    now: Date;
  }
>;
export type ReviseRelease = DomainCommand<'ReviseRelease', { releaseId: string; revision: unknown; revisedBy: string; now: Date }>;
/** Sent when CI reports a migration in the release; the same migration reported again changes nothing. */
export type RecordReleaseMigration = DomainCommand<
  'RecordReleaseMigration',
  {
    releaseId: string;
    /** Unvalidated payload; see `ReleaseMigration`. */
    migration: unknown;
    recordedBy: string;
    now: Date;
  }
>;
/** Sent by the approvals process manager when the release's approval request is fully approved. */
export type ApproveRelease = DomainCommand<'ApproveRelease', { releaseId: string; approvalId: string; revision: number; now: Date }>;
export type StartReleaseDeployment = DomainCommand<
  'StartReleaseDeployment',
  {
    releaseId: string;
    deploymentId: string;
    environment: string;
    /** The target environment policy's `promotesFrom` (the promotion chain step); undefined: none. */
    promotesFrom: string | undefined;
    lane: DeploymentLane;
    /** Required on the hotfix lane: how staging validation ended. */
    hotfixValidation?: HotfixValidationEvidence;
    startedBy: string;
    now: Date;
  }
>;
export type CompleteReleaseDeployment = DomainCommand<'CompleteReleaseDeployment', { releaseId: string; deploymentId: string; now: Date }>;
export type FailReleaseDeployment = DomainCommand<'FailReleaseDeployment', { releaseId: string; deploymentId: string; reason: string; now: Date }>;
/**
 * Records a rollback the deployments context performed (automatic trigger, or manual under its window rule, whose
 * basis it decided): the release no longer stands in that environment, so it cannot be promoted from there and
 * stops counting as what runs there. The release does not decide the rollback again: it is a fact by now.
 */
export type RecordReleaseRollback = DomainCommand<
  'RecordReleaseRollback',
  {
    releaseId: string;
    /** The deployment that was rolled back; must be the release's deployment in `environment`. */
    deploymentId: string;
    environment: string;
    requestedBy: string;
    reason: string;
    /** automatic: a rollback trigger fired; manual: a person asked. */
    initiator: 'automatic' | 'manual';
    /** Why the deployments context allowed a manual rollback (required for manual ones). */
    basis?: ManualRollbackBasis;
    incidentReviewRef?: string;
    now: Date;
  }
>;

export type ReleaseCommand =
  | PlanRelease
  | ReviseRelease
  | RecordReleaseMigration
  | ApproveRelease
  | StartReleaseDeployment
  | CompleteReleaseDeployment
  | FailReleaseDeployment
  | RecordReleaseRollback;

// ---------------------------------------------------------------- events

export type ReleasePlanned = DomainEvent<
  'ReleasePlanned',
  {
    releaseId: string;
    service: string;
    version: string;
    releaseType: ReleaseType;
    title: string;
    description: string;
    changes: ReleaseChange[];
    previousVersion: string | null;
    plannedBy: string;
    plannedAt: string;
  }
>;
export type ReleaseRevised = DomainEvent<
  'ReleaseRevised',
  { releaseId: string; revision: number; title: string; description: string; changes: ReleaseChange[]; revisedBy: string; revisedAt: string }
>;
/** A new migration is new content: it starts a revision, so approvals of the previous one no longer hold. */
export type ReleaseMigrationRecorded = DomainEvent<
  'ReleaseMigrationRecorded',
  { releaseId: string; migrationId: string; description: string; reversible: boolean; database: string | null; revision: number; recordedBy: string; recordedAt: string }
>;
/** The approvals aggregate reacts to this by invalidating every grant for the release. */
export type ReleaseApprovalsInvalidated = DomainEvent<
  'ReleaseApprovalsInvalidated',
  { releaseId: string; approvalId: string | null; previousRevision: number; revision: number; reason: string; invalidatedAt: string }
>;
export type ReleaseApproved = DomainEvent<'ReleaseApproved', { releaseId: string; approvalId: string; revision: number; approvedAt: string }>;
export type ReleaseDeploymentStarted = DomainEvent<
  'ReleaseDeploymentStarted',
  {
    releaseId: string;
    deploymentId: string;
    service: string;
    version: string;
    environment: string;
    lane: DeploymentLane;
    /** Why the promotion was allowed: the source environment and the evidence used. */
    promotion: { from: string; basis: 'deployed' | 'hotfix_validation_passed' | 'hotfix_validation_time_capped' } | null;
    startedBy: string;
    startedAt: string;
  }
>;
export type ReleaseDeploymentSucceeded = DomainEvent<
  'ReleaseDeploymentSucceeded',
  { releaseId: string; deploymentId: string; environment: string; version: string; completedAt: string }
>;
export type ReleaseDeploymentFailed = DomainEvent<
  'ReleaseDeploymentFailed',
  { releaseId: string; deploymentId: string; environment: string; reason: string; failedAt: string }
>;
export type ReleaseRolledBack = DomainEvent<
  'ReleaseRolledBack',
  {
    releaseId: string;
    deploymentId: string;
    environment: string;
    initiator: 'automatic' | 'manual';
    basis: ManualRollbackBasis | 'automatic_trigger';
    incidentReviewRef: string | null;
    requestedBy: string;
    reason: string;
    rolledBackAt: string;
  }
>;

export type ReleaseEvent =
  | ReleasePlanned
  | ReleaseRevised
  | ReleaseMigrationRecorded
  | ReleaseApprovalsInvalidated
  | ReleaseApproved
  | ReleaseDeploymentStarted
  | ReleaseDeploymentSucceeded
  | ReleaseDeploymentFailed
  | ReleaseRolledBack;

// ---------------------------------------------------------------- state

export interface EnvironmentDeployment {
  deploymentId: string;
  environment: string;
  lane: DeploymentLane;
  status: 'deploying' | 'succeeded' | 'failed' | 'rolled_back';
  startedAt: string;
  completedAt: string | null;
}

export type ReleaseState =
  | { status: 'not_planned' }
  | {
      status: ReleaseStatus;
      releaseId: string;
      service: string;
      version: string;
      releaseType: ReleaseType;
      title: string;
      description: string;
      changes: ReleaseChange[];
      /** Migrations CI reported, in the order recorded. */
      migrations: RecordedMigration[];
      revision: number;
      approvalId: string | null;
      /** Latest deployment per environment. */
      deployments: Record<string, EnvironmentDeployment>;
      activeDeploymentId: string | null;
    };
export type ExistingRelease = Exclude<ReleaseState, { status: 'not_planned' }>;

// ---------------------------------------------------------------- errors

export class VersionNotIncreasingError extends DomainError {
  override readonly name = 'VersionNotIncreasingError';
  readonly code = 'VERSION_NOT_INCREASING' as const;
  constructor(
    readonly version: string,
    readonly previousVersion: string,
  ) {
    super(`version ${version} must be greater than the released version ${previousVersion}`);
  }
}

export class ReleaseTypeMismatchError extends DomainError {
  override readonly name = 'ReleaseTypeMismatchError';
  readonly code = 'RELEASE_TYPE_MISMATCH' as const;
  constructor(
    readonly releaseType: ReleaseType,
    readonly bump: string,
    readonly previousVersion: string,
    readonly version: string,
  ) {
    super(`${previousVersion} → ${version} is a ${bump} bump, but the release is typed "${releaseType}"; use type ${bump === 'patch' ? 'patch or hotfix' : bump}`);
  }
}

/** Deploying to an environment before the version succeeded in the environment it promotes from. */
export class PromotionPrerequisiteError extends DomainError {
  override readonly name = 'PromotionPrerequisiteError';
  readonly code = 'PROMOTION_PREREQUISITE_MISSING' as const;
  constructor(
    readonly environment: string,
    readonly requires: string,
    readonly version: string,
    /** Status of the version in `requires`, or "none". */
    readonly found: string,
    readonly lane: DeploymentLane,
  ) {
    super(
      `${version} cannot go to ${environment}: it must first deploy successfully to ${requires} (found: ${found})` +
        (lane === 'hotfix' ? ' and pass staging validation or reach its time cap' : ''),
    );
  }
}

export class HotfixLaneNotAllowedError extends DomainError {
  override readonly name = 'HotfixLaneNotAllowedError';
  readonly code = 'HOTFIX_LANE_NOT_ALLOWED' as const;
  constructor(
    readonly releaseType: ReleaseType,
    readonly reason: string,
  ) {
    super(`hotfix lane refused: ${reason}`);
  }
}

export class StaleApprovalError extends DomainError {
  override readonly name = 'StaleApprovalError';
  readonly code = 'STALE_APPROVAL' as const;
  constructor(
    readonly approvedRevision: number,
    readonly currentRevision: number,
  ) {
    super(`the approval covers revision ${approvedRevision} but the release is at revision ${currentRevision}; approve the current content`);
  }
}

export class UnknownDeploymentError extends DomainError {
  override readonly name = 'UnknownDeploymentError';
  readonly code = 'UNKNOWN_DEPLOYMENT' as const;
  constructor(
    readonly deploymentId: string,
    readonly activeDeploymentId: string | null,
  ) {
    super(`deployment ${deploymentId} is not the release's active deployment (${activeDeploymentId ?? 'none'})`);
  }
}

export class NotDeployedToEnvironmentError extends DomainError {
  override readonly name = 'NotDeployedToEnvironmentError';
  readonly code = 'NOT_DEPLOYED_TO_ENVIRONMENT' as const;
  constructor(
    readonly environment: string,
    readonly version: string,
  ) {
    super(`${version} has no successful deployment in ${environment} to roll back`);
  }
}

/** The same migration id reported again with other content: a changed migration needs its own id. */
export class MigrationConflictError extends DomainError {
  override readonly name = 'MigrationConflictError';
  readonly code = 'MIGRATION_CONFLICT' as const;
  constructor(
    readonly releaseId: string,
    readonly migrationId: string,
    readonly differingFields: readonly string[],
  ) {
    super(`migration ${migrationId} is already recorded for release ${releaseId} with a different ${differingFields.join(', ')}; give the changed migration a new id`);
  }
}

/** Content is frozen once a deployment started: the deployed artefact must be the one approved. */
export class MigrationAfterDeploymentError extends DomainError {
  override readonly name = 'MigrationAfterDeploymentError';
  readonly code = 'MIGRATION_AFTER_DEPLOYMENT' as const;
  constructor(
    readonly releaseId: string,
    readonly migrationId: string,
    readonly status: ReleaseStatus,
    /** Environments the release was deployed to or is deploying to. */
    readonly environments: readonly string[],
  ) {
    super(
      `migration ${migrationId} cannot join release ${releaseId}: it is already ${status}` +
        (environments.length > 0 ? ` (${environments.join(', ')})` : '') +
        '; ship the migration in a new release',
    );
  }
}

// ---------------------------------------------------------------- decide

const AGGREGATE = 'release';

/** Legal status transitions; every command checks against this table. */
export const RELEASE_TRANSITIONS: Readonly<Record<ReleaseStatus, readonly ReleaseStatus[]>> = {
  planned: ['approved'],
  approved: ['deploying', 'planned'],
  deploying: ['deployed', 'failed'],
  deployed: ['deploying', 'rolled_back'],
  rolled_back: [],
  failed: [],
};

function requireStatus(state: ReleaseState, command: ReleaseCommand, target: ReleaseStatus): asserts state is ExistingRelease {
  if (state.status === 'not_planned') throw new NotFoundError(AGGREGATE, command.data.releaseId);
  if (!RELEASE_TRANSITIONS[state.status].includes(target)) {
    const allowedFrom = RELEASE_STATUSES.filter((s) => RELEASE_TRANSITIONS[s].includes(target));
    throw new IllegalTransitionError(AGGREGATE, command.type, state.status, allowedFrom);
  }
}

export function decideRelease(command: ReleaseCommand, state: ReleaseState): ReleaseEvent[] {
  switch (command.type) {
    case 'PlanRelease':
      return planRelease(command, state);
    case 'ReviseRelease':
      return reviseRelease(command, state);
    case 'RecordReleaseMigration':
      return recordMigration(command, state);
    case 'ApproveRelease':
      requireStatus(state, command, 'approved');
      if (command.data.revision !== state.revision) throw new StaleApprovalError(command.data.revision, state.revision);
      return [{ type: 'ReleaseApproved', data: { releaseId: state.releaseId, approvalId: command.data.approvalId, revision: state.revision, approvedAt: iso(command.data.now) } }];
    case 'StartReleaseDeployment':
      return startDeployment(command, state);
    case 'CompleteReleaseDeployment': {
      requireStatus(state, command, 'deployed');
      const active = activeDeployment(state, command.data.deploymentId);
      return [
        {
          type: 'ReleaseDeploymentSucceeded',
          data: { releaseId: state.releaseId, deploymentId: active.deploymentId, environment: active.environment, version: state.version, completedAt: iso(command.data.now) },
        },
      ];
    }
    case 'FailReleaseDeployment': {
      requireStatus(state, command, 'failed');
      const active = activeDeployment(state, command.data.deploymentId);
      return [
        {
          type: 'ReleaseDeploymentFailed',
          data: { releaseId: state.releaseId, deploymentId: active.deploymentId, environment: active.environment, reason: command.data.reason, failedAt: iso(command.data.now) },
        },
      ];
    }
    case 'RecordReleaseRollback':
      return recordRollback(command, state);
    default:
      return assertNever(command);
  }
}

function planRelease(command: PlanRelease, state: ReleaseState): ReleaseEvent[] {
  const { releaseId, content, previousVersion, plannedBy, now } = command.data;
  if (state.status !== 'not_planned') throw new AlreadyExistsError(AGGREGATE, releaseId);
  const release = parseOrThrow(ReleaseContent, content, 'release');
  const version = semver.valid(release.version);
  if (version === null) throw new InvalidVersionError(release.version);
  if (previousVersion !== undefined) checkVersionBump(release.type, previousVersion, version);
  return [
    {
      type: 'ReleasePlanned',
      data: {
        releaseId,
        service: release.service,
        version,
        releaseType: release.type,
        title: release.title,
        description: release.description,
        changes: release.changes,
        previousVersion: previousVersion ?? null,
        plannedBy,
        plannedAt: iso(now),
      },
    },
  ];
}

/** The release type must match the semver bump from the released version (hotfix = patch bump). */
export function checkVersionBump(releaseType: ReleaseType, previousVersion: string, version: string): void {
  if (semver.valid(previousVersion) === null) throw new InvalidVersionError(previousVersion);
  if (semver.valid(version) === null) throw new InvalidVersionError(version);
  if (!semver.gt(version, previousVersion)) throw new VersionNotIncreasingError(version, previousVersion);
  const bump = semver.diff(previousVersion, version);
  // Pre-release-only steps (2.1.0-rc.1 → 2.1.0-rc.2) say nothing about the release type.
  if (bump === null || bump === 'prerelease') return;
  const kind = bump.replace(/^pre/, '') as 'major' | 'minor' | 'patch';
  const expected: readonly ReleaseType[] = kind === 'patch' ? ['patch', 'hotfix'] : [kind];
  if (!expected.includes(releaseType)) throw new ReleaseTypeMismatchError(releaseType, kind, previousVersion, version);
}

function reviseRelease(command: ReviseRelease, state: ReleaseState): ReleaseEvent[] {
  if (state.status === 'not_planned') throw new NotFoundError(AGGREGATE, command.data.releaseId);
  // Content is frozen once a deployment started: the deployed artefact must match the approved notes.
  if (state.status !== 'planned' && state.status !== 'approved') throw new IllegalTransitionError(AGGREGATE, command.type, state.status, ['planned', 'approved']);
  const revision = parseOrThrow(ReleaseRevision, command.data.revision, 'release revision');
  const at = iso(command.data.now);
  const next = state.revision + 1;
  const revised: ReleaseRevised = {
    type: 'ReleaseRevised',
    data: {
      releaseId: state.releaseId,
      revision: next,
      title: revision.title ?? state.title,
      description: revision.description ?? state.description,
      changes: revision.changes ?? state.changes,
      revisedBy: command.data.revisedBy,
      revisedAt: at,
    },
  };
  // Approvals are collected on planned releases too, so any content change invalidates them.
  const invalidated: ReleaseApprovalsInvalidated = {
    type: 'ReleaseApprovalsInvalidated',
    data: {
      releaseId: state.releaseId,
      approvalId: state.approvalId,
      previousRevision: state.revision,
      revision: next,
      reason: `release content changed by ${command.data.revisedBy}`,
      invalidatedAt: at,
    },
  };
  return [revised, invalidated];
}

function recordMigration(command: RecordReleaseMigration, state: ReleaseState): ReleaseEvent[] {
  if (state.status === 'not_planned') throw new NotFoundError(AGGREGATE, command.data.releaseId);
  const migration = parseOrThrow(ReleaseMigration, command.data.migration, 'migration');
  const database = migration.database ?? null;
  const known = state.migrations.find((m) => m.migrationId === migration.migrationId);
  if (known !== undefined) {
    const differing = [
      ...(known.description === migration.description ? [] : ['description']),
      ...(known.reversible === migration.reversible ? [] : ['reversible']),
      ...(known.database === database ? [] : ['database']),
    ];
    // CI reports a migration on every pipeline run: the same facts again are already recorded.
    if (differing.length === 0) return [];
    throw new MigrationConflictError(state.releaseId, migration.migrationId, differing);
  }
  if (state.status !== 'planned' && state.status !== 'approved') {
    throw new MigrationAfterDeploymentError(state.releaseId, migration.migrationId, state.status, Object.keys(state.deployments));
  }
  const at = iso(command.data.now);
  const next = state.revision + 1;
  const recorded: ReleaseMigrationRecorded = {
    type: 'ReleaseMigrationRecorded',
    data: {
      releaseId: state.releaseId,
      migrationId: migration.migrationId,
      description: migration.description,
      reversible: migration.reversible,
      database,
      revision: next,
      recordedBy: command.data.recordedBy,
      recordedAt: at,
    },
  };
  // Approvals given without the migration in view (no DBA, no rollback plan for it) no longer hold.
  const invalidated: ReleaseApprovalsInvalidated = {
    type: 'ReleaseApprovalsInvalidated',
    data: {
      releaseId: state.releaseId,
      approvalId: state.approvalId,
      previousRevision: state.revision,
      revision: next,
      reason: `${migration.reversible ? 'reversible' : 'irreversible'} migration ${migration.migrationId} added by ${command.data.recordedBy}`,
      invalidatedAt: at,
    },
  };
  return [recorded, invalidated];
}

function startDeployment(command: StartReleaseDeployment, state: ReleaseState): ReleaseEvent[] {
  requireStatus(state, command, 'deploying');
  const { deploymentId, environment, promotesFrom, lane, hotfixValidation, startedBy, now } = command.data;
  if (lane === 'hotfix' && state.releaseType !== 'hotfix') throw new HotfixLaneNotAllowedError(state.releaseType, `only hotfix releases use the hotfix lane, this one is ${state.releaseType}`);
  let promotion: ReleaseDeploymentStarted['data']['promotion'] = null;
  if (promotesFrom !== undefined) {
    const source = state.deployments[promotesFrom];
    if (source?.status !== 'succeeded') throw new PromotionPrerequisiteError(environment, promotesFrom, state.version, source?.status ?? 'none', lane);
    if (lane === 'hotfix') {
      if (hotfixValidation === undefined) throw new PromotionPrerequisiteError(environment, promotesFrom, state.version, 'deployed, validation not concluded', lane);
      promotion = { from: promotesFrom, basis: hotfixValidation.outcome === 'passed' ? 'hotfix_validation_passed' : 'hotfix_validation_time_capped' };
    } else {
      promotion = { from: promotesFrom, basis: 'deployed' };
    }
  }
  return [
    {
      type: 'ReleaseDeploymentStarted',
      data: { releaseId: state.releaseId, deploymentId, service: state.service, version: state.version, environment, lane, promotion, startedBy, startedAt: iso(now) },
    },
  ];
}

function activeDeployment(state: ExistingRelease, deploymentId: string): EnvironmentDeployment {
  const active = Object.values(state.deployments).find((d) => d.deploymentId === deploymentId);
  if (active === undefined || state.activeDeploymentId !== deploymentId) throw new UnknownDeploymentError(deploymentId, state.activeDeploymentId);
  return active;
}

function recordRollback(command: RecordReleaseRollback, state: ReleaseState): ReleaseEvent[] {
  if (state.status === 'not_planned') throw new NotFoundError(AGGREGATE, command.data.releaseId);
  const { deploymentId, environment, requestedBy, initiator, basis, incidentReviewRef, now } = command.data;
  const reason = requireReason(command.data.reason, 'a rollback');
  const deployment = state.deployments[environment];
  if (deployment === undefined || deployment.deploymentId !== deploymentId) throw new NotDeployedToEnvironmentError(environment, state.version);
  // Redelivered: the rollback is on the record already.
  if (deployment.status === 'rolled_back') return [];
  if (deployment.status !== 'succeeded') throw new NotDeployedToEnvironmentError(environment, state.version);
  if (initiator === 'manual' && basis === undefined) {
    throw new ValidationError('release rollback', [{ field: 'basis', reason: 'a manual rollback records why it was allowed (within_window, no_window, incident_review, beyond_window_allowed)' }]);
  }
  return [
    {
      type: 'ReleaseRolledBack',
      data: {
        releaseId: state.releaseId,
        deploymentId,
        environment,
        initiator,
        basis: initiator === 'automatic' ? 'automatic_trigger' : (basis as ManualRollbackBasis),
        incidentReviewRef: incidentReviewRef ?? null,
        requestedBy,
        reason,
        rolledBackAt: iso(now),
      },
    },
  ];
}

// ---------------------------------------------------------------- evolve

export function evolveRelease(state: ReleaseState, event: ReleaseEvent): ReleaseState {
  switch (event.type) {
    case 'ReleasePlanned': {
      const e = event.data;
      return {
        status: 'planned',
        releaseId: e.releaseId,
        service: e.service,
        version: e.version,
        releaseType: e.releaseType,
        title: e.title,
        description: e.description,
        changes: e.changes,
        migrations: [],
        revision: 1,
        approvalId: null,
        deployments: {},
        activeDeploymentId: null,
      };
    }
    case 'ReleaseRevised':
      if (state.status === 'not_planned') return state;
      return { ...state, title: event.data.title, description: event.data.description, changes: event.data.changes, revision: event.data.revision };
    case 'ReleaseMigrationRecorded': {
      if (state.status === 'not_planned') return state;
      const { migrationId, description, reversible, database, revision, recordedAt } = event.data;
      return { ...state, migrations: [...state.migrations, { migrationId, description, reversible, database, recordedAt }], revision };
    }
    case 'ReleaseApprovalsInvalidated':
      if (state.status === 'not_planned') return state;
      return { ...state, status: 'planned', approvalId: null };
    case 'ReleaseApproved':
      if (state.status === 'not_planned') return state;
      return { ...state, status: 'approved', approvalId: event.data.approvalId };
    case 'ReleaseDeploymentStarted': {
      if (state.status === 'not_planned') return state;
      const { deploymentId, environment, lane, startedAt } = event.data;
      return {
        ...state,
        status: 'deploying',
        activeDeploymentId: deploymentId,
        deployments: { ...state.deployments, [environment]: { deploymentId, environment, lane, status: 'deploying', startedAt, completedAt: null } },
      };
    }
    case 'ReleaseDeploymentSucceeded':
      return settle(state, event.data.environment, 'deployed', 'succeeded', event.data.completedAt);
    case 'ReleaseDeploymentFailed':
      return settle(state, event.data.environment, 'failed', 'failed', event.data.failedAt);
    case 'ReleaseRolledBack': {
      if (state.status === 'not_planned') return state;
      // A deployment under way elsewhere keeps the release deploying; the environment rolled back no longer stands either way.
      const status = state.activeDeploymentId === null ? 'rolled_back' : state.status;
      const previous = state.deployments[event.data.environment];
      if (previous === undefined) return { ...state, status };
      return { ...state, status, deployments: { ...state.deployments, [event.data.environment]: { ...previous, status: 'rolled_back' } } };
    }
    default:
      return assertNever(event);
  }
}

function settle(state: ReleaseState, environment: string, status: ReleaseStatus, outcome: EnvironmentDeployment['status'], at: string): ReleaseState {
  if (state.status === 'not_planned') return state;
  const previous = state.deployments[environment];
  if (previous === undefined) return state;
  return { ...state, status, activeDeploymentId: null, deployments: { ...state.deployments, [environment]: { ...previous, status: outcome, completedAt: at } } };
}

export const initialReleaseState = (): ReleaseState => ({ status: 'not_planned' });

export const releaseDecider: Decider<ReleaseCommand, ReleaseEvent, ReleaseState> = { decide: decideRelease, evolve: evolveRelease, initialState: initialReleaseState };
