import type { EmergencyPath } from '@gatehouse/policy';
import { addMinutes, iso, isIsoInstant, MS_PER_MINUTE, toMs } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { AlreadyExistsError, DomainError, IllegalTransitionError, NotFoundError, SeparationOfDutiesViolation, ValidationError } from '../errors.js';
import { EmergencyPathNotAllowedError } from '../approvals/requiredApprovals.js';
import type { HotfixValidationEvidence } from '../release/release.js';

/**
 * The emergency hotfix lane (seeds: Emergency Hotfix Procedure):
 * incident identified → branch from a production tag → staging validation (capped) → expedited
 * approval → production deployment → post-incident review within 24 h; SLA 2 h for critical issues.
 * Timers are pure: events carry the due instants, `CheckHotfixDeadlines{now}` turns them into facts.
 */
export const INCIDENT_SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];
/** Severity the SLA applies to (seeds: "for critical severity"). */
export const SLA_SEVERITY: IncidentSeverity = 'critical';

export type HotfixPolicy = Pick<
  EmergencyPath,
  'allowed' | 'stagingValidationMaxMinutes' | 'postIncidentReviewWithinHours' | 'slaMinutes' | 'enhancedMonitoring' | 'branchFromProductionTag'
>;

// ---------------------------------------------------------------- commands

export type IdentifyIncident = DomainCommand<
  'IdentifyIncident',
  { hotfixId: string; incidentId: string; service: string; severity: IncidentSeverity; identifiedAt: string; reportedBy: string; policy: HotfixPolicy; now: Date }
>;
export type CreateHotfixBranch = DomainCommand<
  'CreateHotfixBranch',
  { hotfixId: string; branch: string; fromTag: string; /** Tags currently deployed to production. */ productionTags: readonly string[]; now: Date }
>;
export type StartStagingValidation = DomainCommand<'StartStagingValidation', { hotfixId: string; releaseId: string; version: string; now: Date }>;
/**
 * `changeOwners`: the authors and CI initiators of the hotfix's changes (gathered by the caller from the change
 * requests that name the hotfix); none of them may complete the validation or the post-incident review.
 */
export type CompleteStagingValidation = DomainCommand<
  'CompleteStagingValidation',
  { hotfixId: string; outcome: 'passed' | 'failed'; notes: string; completedBy: string; changeOwners: readonly string[]; now: Date }
>;
/** Sent by the approvals process manager on `ChangeFullyApproved` for the hotfix's change. */
export type RecordExpeditedApproval = DomainCommand<'RecordExpeditedApproval', { hotfixId: string; approvalId: string; now: Date }>;
export type DeployHotfixToProduction = DomainCommand<'DeployHotfixToProduction', { hotfixId: string; deploymentId: string; now: Date }>;
export type CheckHotfixDeadlines = DomainCommand<'CheckHotfixDeadlines', { hotfixId: string; now: Date }>;
export type CompletePostIncidentReview = DomainCommand<
  'CompletePostIncidentReview',
  { hotfixId: string; reviewRef: string; completedBy: string; changeOwners: readonly string[]; now: Date }
>;

export type HotfixCommand =
  | IdentifyIncident
  | CreateHotfixBranch
  | StartStagingValidation
  | CompleteStagingValidation
  | RecordExpeditedApproval
  | DeployHotfixToProduction
  | CheckHotfixDeadlines
  | CompletePostIncidentReview;

// ---------------------------------------------------------------- events

export type IncidentIdentified = DomainEvent<
  'IncidentIdentified',
  {
    hotfixId: string;
    incidentId: string;
    service: string;
    severity: IncidentSeverity;
    identifiedAt: string;
    reportedBy: string;
    /** SLA deadline (identification + SLA), critical severity only; arm a timer for it. */
    slaDueAt: string | null;
    slaMinutes: number | null;
    stagingValidationMaxMinutes: number | null;
    postIncidentReviewWithinHours: number | null;
    enhancedMonitoring: boolean;
    branchFromProductionTag: boolean;
  }
>;
export type HotfixBranchCreated = DomainEvent<'HotfixBranchCreated', { hotfixId: string; branch: string; fromTag: string; createdAt: string }>;
export type StagingValidationStarted = DomainEvent<
  'StagingValidationStarted',
  { hotfixId: string; releaseId: string; version: string; startedAt: string; /** When the cap ends validation; arm a timer. */ deadline: string | null }
>;
export type StagingValidationCompleted = DomainEvent<
  'StagingValidationCompleted',
  { hotfixId: string; outcome: 'passed' | 'failed'; notes: string; durationMinutes: number; completedAt: string; /** Absent on events recorded before it was kept. */ completedBy?: string }
>;
/** The cap ended validation: the lane proceeds on what staging showed so far. */
export type StagingValidationTimeCapped = DomainEvent<
  'StagingValidationTimeCapped',
  { hotfixId: string; startedAt: string; cappedAt: string; capMinutes: number; lateResult: 'passed' | null }
>;
export type HotfixApproved = DomainEvent<'HotfixApproved', { hotfixId: string; approvalId: string; approvedAt: string }>;
export type HotfixDeployedToProduction = DomainEvent<
  'HotfixDeployedToProduction',
  { hotfixId: string; deploymentId: string; deployedAt: string; minutesSinceIdentification: number; enhancedMonitoring: boolean }
>;
export type HotfixSlaMet = DomainEvent<'HotfixSlaMet', { hotfixId: string; measuredMinutes: number; slaMinutes: number }>;
export type HotfixSlaBreached = DomainEvent<
  'HotfixSlaBreached',
  { hotfixId: string; measuredMinutes: number; slaMinutes: number; /** false: found by a deadline check before any fix shipped. */ fixDeployed: boolean }
>;
export type PostIncidentReviewDue = DomainEvent<'PostIncidentReviewDue', { hotfixId: string; incidentId: string; dueAt: string }>;
export type PostIncidentReviewOverdue = DomainEvent<'PostIncidentReviewOverdue', { hotfixId: string; incidentId: string; dueAt: string; overdueByMinutes: number }>;
export type PostIncidentReviewCompleted = DomainEvent<
  'PostIncidentReviewCompleted',
  { hotfixId: string; reviewRef: string; completedBy: string; completedAt: string; late: boolean }
>;

export type HotfixEvent =
  | IncidentIdentified
  | HotfixBranchCreated
  | StagingValidationStarted
  | StagingValidationCompleted
  | StagingValidationTimeCapped
  | HotfixApproved
  | HotfixDeployedToProduction
  | HotfixSlaMet
  | HotfixSlaBreached
  | PostIncidentReviewDue
  | PostIncidentReviewOverdue
  | PostIncidentReviewCompleted;

// ---------------------------------------------------------------- state

export type HotfixStatus = 'identified' | 'branched' | 'validating' | 'validated' | 'time_capped' | 'validation_failed' | 'approved' | 'deployed' | 'closed';

export type HotfixState =
  | { status: 'none' }
  | {
      status: HotfixStatus;
      hotfixId: string;
      incident: IncidentIdentified['data'];
      validation: { startedAt: string; deadline: string | null; concludedAt: string | null } | null;
      deployedAt: string | null;
      reviewDueAt: string | null;
      slaBreachRecorded: boolean;
      reviewOverdueRecorded: boolean;
    };
type ActiveHotfix = Exclude<HotfixState, { status: 'none' }>;

export const HOTFIX_WORKFLOW: Readonly<Record<Exclude<HotfixCommand['type'], 'IdentifyIncident' | 'CheckHotfixDeadlines'>, readonly HotfixStatus[]>> = {
  CreateHotfixBranch: ['identified'],
  StartStagingValidation: ['branched'],
  CompleteStagingValidation: ['validating'],
  RecordExpeditedApproval: ['validated', 'time_capped'],
  DeployHotfixToProduction: ['approved'],
  CompletePostIncidentReview: ['deployed'],
};

// ---------------------------------------------------------------- errors

export class NotAProductionTagError extends DomainError {
  override readonly name = 'NotAProductionTagError';
  readonly code = 'NOT_A_PRODUCTION_TAG' as const;
  constructor(
    readonly tag: string,
    readonly productionTags: readonly string[],
  ) {
    super(`hotfix branches start from the production tag; "${tag}" is not one (production runs: ${productionTags.join(', ') || 'nothing'})`);
  }
}

// ---------------------------------------------------------------- decide

const AGGREGATE = 'hotfix';

function active(state: HotfixState, command: Exclude<HotfixCommand, IdentifyIncident>): ActiveHotfix {
  if (state.status === 'none') throw new NotFoundError(AGGREGATE, command.data.hotfixId);
  if (command.type === 'CheckHotfixDeadlines') return state;
  const allowed = HOTFIX_WORKFLOW[command.type];
  if (!allowed.includes(state.status)) throw new IllegalTransitionError(AGGREGATE, command.type, state.status, allowed);
  return state;
}

export function decideHotfix(command: HotfixCommand, state: HotfixState): HotfixEvent[] {
  if (command.type === 'IdentifyIncident') return identify(command, state);
  const hotfix = active(state, command);
  const { hotfixId } = hotfix;
  const at = iso(command.data.now);
  switch (command.type) {
    case 'CreateHotfixBranch': {
      const { branch, fromTag, productionTags } = command.data;
      if (branch.trim() === '' || fromTag.trim() === '') {
        throw new ValidationError('hotfix branch', [
          ...(branch.trim() === '' ? [{ field: 'branch', reason: 'name the hotfix branch' }] : []),
          ...(fromTag.trim() === '' ? [{ field: 'fromTag', reason: 'name the production tag the branch starts from' }] : []),
        ]);
      }
      if (hotfix.incident.branchFromProductionTag && !productionTags.includes(fromTag)) throw new NotAProductionTagError(fromTag, productionTags);
      return [{ type: 'HotfixBranchCreated', data: { hotfixId, branch, fromTag, createdAt: at } }];
    }
    case 'StartStagingValidation': {
      const cap = hotfix.incident.stagingValidationMaxMinutes;
      return [
        {
          type: 'StagingValidationStarted',
          data: { hotfixId, releaseId: command.data.releaseId, version: command.data.version, startedAt: at, deadline: cap === null ? null : addMinutes(at, cap) },
        },
      ];
    }
    case 'CompleteStagingValidation':
      return completeValidation(command, hotfix);
    case 'RecordExpeditedApproval':
      return [{ type: 'HotfixApproved', data: { hotfixId, approvalId: command.data.approvalId, approvedAt: at } }];
    case 'DeployHotfixToProduction':
      return deploy(command, hotfix);
    case 'CheckHotfixDeadlines':
      return checkDeadlines(hotfix, command.data.now);
    case 'CompletePostIncidentReview': {
      const { reviewRef, completedBy, changeOwners, now } = command.data;
      if (reviewRef.trim() === '') throw new ValidationError('post-incident review', [{ field: 'reviewRef', reason: 'reference the review document' }]);
      refuseChangeOwner(completedBy, changeOwners, 'author_cannot_review_incident', 'complete its post-incident review');
      const late = hotfix.reviewDueAt !== null && toMs(now) > toMs(hotfix.reviewDueAt);
      return [{ type: 'PostIncidentReviewCompleted', data: { hotfixId, reviewRef, completedBy, completedAt: at, late } }];
    }
    default:
      return assertNever(command);
  }
}

function identify(command: IdentifyIncident, state: HotfixState): HotfixEvent[] {
  const { hotfixId, incidentId, service, severity, identifiedAt, reportedBy, policy, now } = command.data;
  if (state.status !== 'none') throw new AlreadyExistsError(AGGREGATE, hotfixId);
  if (!policy.allowed) throw new EmergencyPathNotAllowedError('production');
  const identified = toMs(identifiedAt);
  if (!isIsoInstant(identifiedAt)) throw new ValidationError('incident', [{ field: 'identifiedAt', reason: 'must be an ISO-8601 instant' }]);
  if (identified > toMs(now)) throw new ValidationError('incident', [{ field: 'identifiedAt', reason: `cannot be in the future (now is ${iso(now)})` }]);
  const slaMinutes = severity === SLA_SEVERITY ? (policy.slaMinutes ?? null) : null;
  return [
    {
      type: 'IncidentIdentified',
      data: {
        hotfixId,
        incidentId,
        service,
        severity,
        identifiedAt: iso(identifiedAt),
        reportedBy,
        slaDueAt: slaMinutes === null ? null : addMinutes(identifiedAt, slaMinutes),
        slaMinutes,
        stagingValidationMaxMinutes: policy.stagingValidationMaxMinutes ?? null,
        postIncidentReviewWithinHours: policy.postIncidentReviewWithinHours ?? null,
        enhancedMonitoring: policy.enhancedMonitoring,
        branchFromProductionTag: policy.branchFromProductionTag,
      },
    },
  ];
}

/** Separation of duties in the lane: who shipped the fix does not also vouch for it. */
function refuseChangeOwner(person: string, changeOwners: readonly string[], rule: 'author_cannot_validate' | 'author_cannot_review_incident', action: string): void {
  if (!changeOwners.includes(person)) return;
  throw new SeparationOfDutiesViolation(person, rule, `${person} authored (or initiated) a change of this hotfix and cannot ${action}`);
}

function completeValidation(command: CompleteStagingValidation, hotfix: ActiveHotfix): HotfixEvent[] {
  const { outcome, notes, completedBy, changeOwners, now } = command.data;
  refuseChangeOwner(completedBy, changeOwners, 'author_cannot_validate', 'complete its staging validation');
  const validation = hotfix.validation;
  if (validation === null) throw new IllegalTransitionError(AGGREGATE, command.type, hotfix.status, ['validating']);
  const cap = hotfix.incident.stagingValidationMaxMinutes;
  // A pass reported after the cap does not stretch it: validation ended at the deadline.
  if (outcome === 'passed' && validation.deadline !== null && cap !== null && toMs(now) > toMs(validation.deadline)) {
    return [{ type: 'StagingValidationTimeCapped', data: { hotfixId: hotfix.hotfixId, startedAt: validation.startedAt, cappedAt: validation.deadline, capMinutes: cap, lateResult: 'passed' } }];
  }
  return [
    {
      type: 'StagingValidationCompleted',
      data: { hotfixId: hotfix.hotfixId, outcome, notes, durationMinutes: Math.floor((toMs(now) - toMs(validation.startedAt)) / MS_PER_MINUTE), completedAt: iso(now), completedBy },
    },
  ];
}

function deploy(command: DeployHotfixToProduction, hotfix: ActiveHotfix): HotfixEvent[] {
  const { deploymentId, now } = command.data;
  const { hotfixId, incident } = hotfix;
  const elapsedMs = toMs(now) - toMs(incident.identifiedAt);
  const measuredMinutes = Math.floor(elapsedMs / MS_PER_MINUTE);
  const events: HotfixEvent[] = [
    { type: 'HotfixDeployedToProduction', data: { hotfixId, deploymentId, deployedAt: iso(now), minutesSinceIdentification: measuredMinutes, enhancedMonitoring: incident.enhancedMonitoring } },
  ];
  if (incident.slaMinutes !== null) {
    // Seeds: "< 2 hours" — exactly at the SLA is already a breach.
    events.push(
      elapsedMs < incident.slaMinutes * MS_PER_MINUTE
        ? { type: 'HotfixSlaMet', data: { hotfixId, measuredMinutes, slaMinutes: incident.slaMinutes } }
        : { type: 'HotfixSlaBreached', data: { hotfixId, measuredMinutes, slaMinutes: incident.slaMinutes, fixDeployed: true } },
    );
  }
  if (incident.postIncidentReviewWithinHours !== null) {
    events.push({ type: 'PostIncidentReviewDue', data: { hotfixId, incidentId: incident.incidentId, dueAt: addMinutes(now, incident.postIncidentReviewWithinHours * 60) } });
  }
  return events;
}

/** Idempotent: each deadline becomes a fact once; nothing due → no events. */
function checkDeadlines(hotfix: ActiveHotfix, now: Date): HotfixEvent[] {
  const events: HotfixEvent[] = [];
  const { hotfixId, incident, validation } = hotfix;
  const nowMs = toMs(now);
  if (incident.slaDueAt !== null && incident.slaMinutes !== null && hotfix.deployedAt === null && !hotfix.slaBreachRecorded && nowMs >= toMs(incident.slaDueAt)) {
    events.push({ type: 'HotfixSlaBreached', data: { hotfixId, measuredMinutes: Math.floor((nowMs - toMs(incident.identifiedAt)) / MS_PER_MINUTE), slaMinutes: incident.slaMinutes, fixDeployed: false } });
  }
  if (hotfix.status === 'validating' && validation?.deadline && incident.stagingValidationMaxMinutes !== null && nowMs > toMs(validation.deadline)) {
    events.push({
      type: 'StagingValidationTimeCapped',
      data: { hotfixId, startedAt: validation.startedAt, cappedAt: validation.deadline, capMinutes: incident.stagingValidationMaxMinutes, lateResult: null },
    });
  }
  if (hotfix.status === 'deployed' && hotfix.reviewDueAt !== null && !hotfix.reviewOverdueRecorded && nowMs > toMs(hotfix.reviewDueAt)) {
    events.push({
      type: 'PostIncidentReviewOverdue',
      data: { hotfixId, incidentId: incident.incidentId, dueAt: hotfix.reviewDueAt, overdueByMinutes: Math.floor((nowMs - toMs(hotfix.reviewDueAt)) / MS_PER_MINUTE) },
    });
  }
  return events;
}

/** Evidence for the release's hotfix-lane promotion (`StartReleaseDeployment.hotfixValidation`), once validation concluded acceptably. */
export function hotfixValidationEvidence(state: HotfixState): HotfixValidationEvidence | null {
  if (state.status === 'none' || state.validation?.concludedAt == null) return null;
  const outcome = state.status === 'time_capped' ? 'time_capped' : state.status === 'validation_failed' ? null : 'passed';
  if (outcome === null) return null;
  return { outcome, startedAt: state.validation.startedAt, concludedAt: state.validation.concludedAt };
}

// ---------------------------------------------------------------- evolve

export function evolveHotfix(state: HotfixState, event: HotfixEvent): HotfixState {
  if (event.type === 'IncidentIdentified') {
    return { status: 'identified', hotfixId: event.data.hotfixId, incident: event.data, validation: null, deployedAt: null, reviewDueAt: null, slaBreachRecorded: false, reviewOverdueRecorded: false };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'HotfixBranchCreated':
      return { ...state, status: 'branched' };
    case 'StagingValidationStarted':
      return { ...state, status: 'validating', validation: { startedAt: event.data.startedAt, deadline: event.data.deadline, concludedAt: null } };
    case 'StagingValidationCompleted':
      return {
        ...state,
        status: event.data.outcome === 'passed' ? 'validated' : 'validation_failed',
        validation: state.validation && { ...state.validation, concludedAt: event.data.completedAt },
      };
    case 'StagingValidationTimeCapped':
      return { ...state, status: 'time_capped', validation: state.validation && { ...state.validation, concludedAt: event.data.cappedAt } };
    case 'HotfixApproved':
      return { ...state, status: 'approved' };
    case 'HotfixDeployedToProduction':
      return { ...state, status: 'deployed', deployedAt: event.data.deployedAt };
    case 'HotfixSlaMet':
      return state;
    case 'HotfixSlaBreached':
      return { ...state, slaBreachRecorded: true };
    case 'PostIncidentReviewDue':
      return { ...state, reviewDueAt: event.data.dueAt };
    case 'PostIncidentReviewOverdue':
      return { ...state, reviewOverdueRecorded: true };
    case 'PostIncidentReviewCompleted':
      return { ...state, status: 'closed' };
    default:
      return assertNever(event);
  }
}

export const initialHotfixState = (): HotfixState => ({ status: 'none' });

export const hotfixDecider: Decider<HotfixCommand, HotfixEvent, HotfixState> = { decide: decideHotfix, evolve: evolveHotfix, initialState: initialHotfixState };
