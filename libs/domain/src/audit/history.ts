/**
 * One pass over the log that gathers, per change request, what auditors ask about: who asked, who
 * approved as what under which policy, when it was booked, deployed, rolled back, and — for an
 * emergency — its hotfix's VP approval and post-incident review. The facts are read from the events
 * by their contract names and fields (not from any read model), each with the position that proves it.
 */
import { type ChangeRequestEvent, type ChangeRequestState, changeRequestDecider } from '../change-request/changeRequest.js';
import { type AuditEvent, happenedBy, type LogMoment, str } from './auditEvent.js';

export interface GrantFact {
  role: string;
  approver: string;
  onCall: boolean;
  at: number;
  position: bigint;
  /** Taken back later (revoked, or invalidated by a new release revision). */
  withdrawn: boolean;
}

export interface RequirementFact {
  role: string;
  count: number;
  onCall: boolean;
  sources: string[];
}

export interface ApprovalFact {
  approvalId: string;
  environment: string;
  author: string;
  initiator: string | null;
  requirements: RequirementFact[];
  separationOfDuties: { authorCannotApprove: boolean; distinctApproverPerRole: boolean };
  policyVersion: string;
  requestedAt: number;
  requestedPosition: bigint;
  grants: GrantFact[];
  fullyApprovedAt: number | null;
  fullyApprovedPosition: bigint | null;
  rejected: { by: string; reason: string; at: number } | null;
}

export interface DeploymentFact {
  deploymentId: string;
  environment: string;
  service: string | null;
  version: string | null;
  previousVersion: string | null;
  strategy: string | null;
  startedAt: number;
  startedPosition: bigint;
  succeededAt: number | null;
  failedAt: number | null;
  abortedAt: number | null;
  /** When the failure began: the breaching metric window of a rollback trigger, else a rollback requested, a failure or an abort. */
  failureDetectedAt: number | null;
  /** The version a requested rollback restores (null: none ran before), once one was requested. */
  restoreTo: { version: string | null } | null;
  rollback: RollbackFact | null;
}

export interface RollbackFact {
  /** rolled_back: the rollout or its watch was rolled back; aborted: the rollout was stopped and the previous version restored. */
  ending: 'rolled_back' | 'aborted';
  at: number;
  position: bigint;
  initiator: string;
  actor: string | null;
  reason: string;
  toVersion: string | null;
  /** The evidence recorded with the rollback and the trigger that fired it, if any. */
  evidence: Record<string, unknown> | null;
  triggerPosition: bigint | null;
}

export interface HotfixFact {
  hotfixId: string;
  incidentId: string | null;
  severity: string | null;
  service: string | null;
  identifiedAt: number | null;
  deployedAt: number | null;
  reviewDueAt: number | null;
  reviewOverdue: boolean;
  review: { ref: string; by: string; at: number; late: boolean; position: bigint } | null;
}

export interface ChangeFact {
  changeRequestId: string;
  kind: string;
  title: string;
  environments: string[];
  releaseId: string | null;
  hotfixId: string | null;
  author: string;
  initiator: string | null;
  submittedAt: number;
  submittedPosition: bigint;
  policyVersion: string | null;
  status: string;
  window: { start: string; end: string } | null;
  booking: { scheduledFor: string; bookedAt: number; position: bigint } | null;
  closed: { outcome: string; at: number } | null;
  approval: ApprovalFact | null;
  deployments: DeploymentFact[];
}

export interface ReleaseFact {
  releaseId: string;
  service: string;
  version: string;
  plannedAt: number;
}

export interface PolicyActivationFact {
  policyVersion: string;
  previousVersion: string | null;
  environments: string[];
  activatedAt: number;
  actor: string | null;
  position: bigint;
  files: { name: string; contents: string }[];
}

export interface GovernanceHistory {
  changes: Map<string, ChangeFact>;
  releases: Map<string, ReleaseFact>;
  hotfixes: Map<string, HotfixFact>;
  policies: PolicyActivationFact[];
  /** Versions running per `service|environment` after the last event read (the last successful deployment not rolled back). */
  running: Map<string, { service: string; environment: string; version: string; changeRequestId: string; since: number }>;
  eventsRead: number;
  lastPosition: bigint;
}

export const runningKey = (service: string, environment: string): string => `${service}|${environment}`;

/** Folds the events (in commit order) up to `moment` (all of them when absent) into the auditors' facts. */
export function foldGovernanceHistory(events: Iterable<AuditEvent>, moment?: LogMoment): GovernanceHistory {
  const history: GovernanceHistory = { changes: new Map(), releases: new Map(), hotfixes: new Map(), policies: [], running: new Map(), eventsRead: 0, lastPosition: 0n };
  const approvalOwner = new Map<string, string>();
  const deploymentOwner = new Map<string, string>();
  const pendingTrigger = new Map<string, { at: number; position: bigint; evidence: Record<string, unknown> }>();
  const changeStates = new Map<string, ChangeRequestState>();
  for (const event of events) {
    if (moment !== undefined && !happenedBy(event, moment)) continue;
    history.eventsRead += 1;
    history.lastPosition = event.globalPosition;
    apply(history, event, { approvalOwner, deploymentOwner, pendingTrigger, changeStates });
  }
  return history;
}

function hotfixOf(history: GovernanceHistory, hotfixId: string): HotfixFact {
  let hotfix = history.hotfixes.get(hotfixId);
  if (hotfix === undefined) {
    hotfix = { hotfixId, incidentId: null, severity: null, service: null, identifiedAt: null, deployedAt: null, reviewDueAt: null, reviewOverdue: false, review: null };
    history.hotfixes.set(hotfixId, hotfix);
  }
  return hotfix;
}

/** What the fold keeps besides the facts: who owns which approval and deployment, triggers waiting for their rollback, the changes' decider states. */
interface FoldIndex {
  approvalOwner: Map<string, string>;
  deploymentOwner: Map<string, string>;
  pendingTrigger: Map<string, { at: number; position: bigint; evidence: Record<string, unknown> }>;
  changeStates: Map<string, ChangeRequestState>;
}

function apply(history: GovernanceHistory, event: AuditEvent, { approvalOwner, deploymentOwner, pendingTrigger, changeStates }: FoldIndex): void {
  const { data } = event;
  const changeId = str(data['changeRequestId']);
  const change = changeId === null ? undefined : history.changes.get(changeId);
  switch (event.type) {
    case 'PolicyVersionActivated':
      history.policies.push({
        policyVersion: str(data['policyVersion']) ?? 'unknown',
        previousVersion: str(data['previousVersion']),
        environments: Array.isArray(data['environments']) ? (data['environments'] as string[]) : [],
        activatedAt: event.at,
        actor: event.actor,
        position: event.globalPosition,
        files: Array.isArray(data['files']) ? (data['files'] as { name: string; contents: string }[]) : [],
      });
      return;
    case 'ReleasePlanned': {
      const releaseId = str(data['releaseId']);
      if (releaseId !== null) history.releases.set(releaseId, { releaseId, service: str(data['service']) ?? '', version: str(data['version']) ?? '', plannedAt: event.at });
      return;
    }
    case 'ChangeRequestSubmitted': {
      if (changeId === null) return;
      const draft = (data['draft'] ?? {}) as Record<string, unknown>;
      history.changes.set(changeId, {
        changeRequestId: changeId,
        kind: str(data['kind']) ?? 'normal',
        title: str(draft['title']) ?? '',
        environments: Array.isArray(draft['environments']) ? (draft['environments'] as string[]) : [],
        releaseId: str(draft['releaseId']),
        hotfixId: str(draft['hotfixId']),
        author: str(draft['author']) ?? event.actor ?? 'unknown',
        initiator: str(draft['initiator']),
        submittedAt: event.at,
        submittedPosition: event.globalPosition,
        policyVersion: event.policyVersion,
        status: 'submitted',
        window: null,
        booking: null,
        closed: null,
        approval: null,
        deployments: [],
      });
      changeStates.set(changeId, changeRequestDecider.evolve(changeRequestDecider.initialState(), event as unknown as ChangeRequestEvent));
      return;
    }
    case 'ApprovalsRequested': {
      const subject = (data['subject'] ?? {}) as Record<string, unknown>;
      const owner = str(subject['changeRequestId']);
      const approvalId = str(data['approvalId']);
      const owned = owner === null ? undefined : history.changes.get(owner);
      if (owned === undefined || approvalId === null || owner === null) return;
      approvalOwner.set(approvalId, owner);
      const sod = (data['separationOfDuties'] ?? {}) as Record<string, unknown>;
      owned.approval = {
        approvalId,
        environment: str(subject['environment']) ?? owned.environments[0] ?? 'unknown',
        author: str(data['author']) ?? owned.author,
        initiator: str(data['initiator']),
        requirements: Array.isArray(data['requirements']) ? (data['requirements'] as RequirementFact[]) : [],
        separationOfDuties: { authorCannotApprove: sod['authorCannotApprove'] === true, distinctApproverPerRole: sod['distinctApproverPerRole'] === true },
        policyVersion: str(data['policyVersion']) ?? event.policyVersion ?? 'unknown',
        requestedAt: event.at,
        requestedPosition: event.globalPosition,
        grants: [],
        fullyApprovedAt: null,
        fullyApprovedPosition: null,
        rejected: null,
      };
      return;
    }
    case 'ApprovalGranted':
    case 'ChangeFullyApproved':
    case 'ApprovalRejected':
    case 'ApprovalRevoked':
    case 'ApprovalsInvalidated': {
      const approvalId = str(data['approvalId']);
      const owner = approvalId === null ? undefined : approvalOwner.get(approvalId);
      const approval = owner === undefined ? null : (history.changes.get(owner)?.approval ?? null);
      if (approval === null) return;
      if (event.type === 'ApprovalGranted') {
        approval.grants.push({ role: str(data['role']) ?? '', approver: str(data['approver']) ?? '', onCall: data['onCall'] === true, at: event.at, position: event.globalPosition, withdrawn: false });
      } else if (event.type === 'ChangeFullyApproved') {
        approval.fullyApprovedAt = event.at;
        approval.fullyApprovedPosition = event.globalPosition;
      } else if (event.type === 'ApprovalRejected') {
        approval.rejected = { by: str(data['approver']) ?? '', reason: str(data['reason']) ?? '', at: event.at };
      } else if (event.type === 'ApprovalRevoked') {
        for (const grant of approval.grants) if (grant.approver === data['approver']) grant.withdrawn = true;
        approval.fullyApprovedAt = null;
        approval.fullyApprovedPosition = null;
      } else {
        for (const grant of approval.grants) grant.withdrawn = true;
        if (Array.isArray(data['requirements'])) approval.requirements = data['requirements'] as RequirementFact[];
        approval.fullyApprovedAt = null;
        approval.fullyApprovedPosition = null;
      }
      return;
    }
    case 'DeploymentScheduled':
    case 'DeploymentRescheduled': {
      const scheduledFor = str(data['scheduledFor']);
      if (change !== undefined && scheduledFor !== null) change.booking = { scheduledFor, bookedAt: event.at, position: event.globalPosition };
      return;
    }
    case 'BookingCancelled':
      if (change !== undefined) change.booking = null;
      return;
    case 'DeploymentStarted': {
      const deploymentId = str(data['deploymentId']);
      if (change === undefined || deploymentId === null) return;
      deploymentOwner.set(deploymentId, change.changeRequestId);
      const release = change.releaseId === null ? undefined : history.releases.get(change.releaseId);
      change.deployments.push({
        deploymentId,
        environment: str(data['environment']) ?? change.environments[0] ?? 'unknown',
        service: str(data['service']) ?? release?.service ?? null,
        version: str(data['version']) ?? release?.version ?? null,
        previousVersion: str(data['previousVersion']),
        strategy: str(data['strategy']),
        startedAt: event.at,
        startedPosition: event.globalPosition,
        succeededAt: null,
        failedAt: null,
        abortedAt: null,
        failureDetectedAt: null,
        restoreTo: null,
        rollback: null,
      });
      return;
    }
    case 'RollbackTriggerFired':
    case 'DeploymentEffectFailed':
    case 'DeploymentRollbackRequested':
    case 'DeploymentFailed':
    case 'DeploymentAborted':
    case 'DeploymentSucceeded':
    case 'DeploymentRolledBack': {
      const deploymentId = str(data['deploymentId']);
      const owner = changeId ?? (deploymentId === null ? undefined : deploymentOwner.get(deploymentId));
      const owning = owner === undefined ? undefined : history.changes.get(owner);
      const deployment = owning?.deployments.find((d) => d.deploymentId === deploymentId) ?? owning?.deployments.at(-1);
      if (owning === undefined || deployment === undefined) return;
      if (event.type === 'RollbackTriggerFired') {
        const evidence = (data['evidence'] ?? {}) as Record<string, unknown>;
        pendingTrigger.set(deployment.deploymentId, { at: event.at, position: event.globalPosition, evidence: { ...data } });
        // The failure began when the breaching window did, not when the trigger had seen enough of it.
        const windowStart = str(evidence['windowStart']);
        deployment.failureDetectedAt ??= windowStart === null ? event.at : Math.min(event.at, Date.parse(windowStart));
      } else if (event.type === 'DeploymentEffectFailed' || event.type === 'DeploymentRollbackRequested' || event.type === 'DeploymentFailed') {
        // A step the outside world refused for good is a failure detected then (its restore intent follows).
        deployment.failureDetectedAt ??= event.at;
        if (event.type === 'DeploymentFailed') deployment.failedAt = event.at;
        if (event.type === 'DeploymentRollbackRequested' && 'toVersion' in data) deployment.restoreTo = { version: str(data['toVersion']) };
      } else if (event.type === 'DeploymentAborted') {
        deployment.abortedAt = event.at;
        deployment.failureDetectedAt ??= event.at;
        if (deployment.restoreTo !== null) restore(history, owning.changeRequestId, deployment, { ending: 'aborted', data, event, trigger: pendingTrigger.get(deployment.deploymentId) });
      } else if (event.type === 'DeploymentSucceeded') {
        deployment.succeededAt = event.at;
        if (deployment.service !== null && deployment.version !== null) {
          history.running.set(runningKey(deployment.service, deployment.environment), {
            service: deployment.service,
            environment: deployment.environment,
            version: deployment.version,
            changeRequestId: owning.changeRequestId,
            since: event.at,
          });
        }
      } else {
        restore(history, owning.changeRequestId, deployment, { ending: 'rolled_back', data, event, trigger: pendingTrigger.get(deployment.deploymentId) });
      }
      return;
    }
    case 'IncidentIdentified':
    case 'HotfixDeployedToProduction':
    case 'PostIncidentReviewDue':
    case 'PostIncidentReviewOverdue':
    case 'PostIncidentReviewCompleted': {
      const hotfixId = str(data['hotfixId']);
      if (hotfixId === null) return;
      const hotfix = hotfixOf(history, hotfixId);
      if (event.type === 'IncidentIdentified') {
        hotfix.incidentId = str(data['incidentId']);
        hotfix.severity = str(data['severity']);
        hotfix.service = str(data['service']);
        const identifiedAt = str(data['identifiedAt']);
        hotfix.identifiedAt = identifiedAt === null ? event.at : Date.parse(identifiedAt);
        const dueAt = str(data['postIncidentReviewDueAt']) ?? str(data['reviewDueAt']);
        if (dueAt !== null) hotfix.reviewDueAt = Date.parse(dueAt);
      } else if (event.type === 'HotfixDeployedToProduction') {
        hotfix.deployedAt = event.at;
      } else if (event.type === 'PostIncidentReviewDue') {
        const dueAt = str(data['dueAt']);
        if (dueAt !== null) hotfix.reviewDueAt = Date.parse(dueAt);
      } else if (event.type === 'PostIncidentReviewOverdue') {
        hotfix.reviewOverdue = true;
      } else {
        hotfix.review = { ref: str(data['reviewRef']) ?? '', by: str(data['completedBy']) ?? event.actor ?? '', at: event.at, late: data['late'] === true, position: event.globalPosition };
      }
      return;
    }
    default:
      break;
  }
  if (change === undefined || !event.streamId.startsWith('changeRequest-')) return;
  // The status means what the write side means: the change-request decider's own fold.
  const folded = changeRequestDecider.evolve(changeStates.get(change.changeRequestId) ?? changeRequestDecider.initialState(), event as unknown as ChangeRequestEvent);
  changeStates.set(change.changeRequestId, folded);
  change.status = folded.status;
  if (event.type === 'ChangeScheduled') change.window = { start: str(data['windowStart']) ?? '', end: str(data['windowEnd']) ?? '' };
  if (event.type === 'ChangeClosed') change.closed = { outcome: str(data['outcome']) ?? 'unknown', at: event.at };
  if (event.policyVersion !== null) change.policyVersion = event.policyVersion;

}

/** The previous version is back: a rollback or an abort ended the deployment. */
function restore(
  history: GovernanceHistory,
  changeRequestId: string,
  deployment: DeploymentFact,
  facts: { ending: RollbackFact['ending']; data: Readonly<Record<string, unknown>>; event: AuditEvent; trigger: { position: bigint; evidence: Record<string, unknown> } | undefined },
): void {
  const { ending, data, event, trigger } = facts;
  const evidence = data['evidence'] !== null && typeof data['evidence'] === 'object' ? (data['evidence'] as Record<string, unknown>) : null;
  deployment.failureDetectedAt ??= event.at;
  const toVersion = deployment.restoreTo !== null ? deployment.restoreTo.version : (str(data['previousVersion']) ?? deployment.previousVersion);
  deployment.rollback = {
    ending,
    at: event.at,
    position: event.globalPosition,
    initiator: str(data['initiator']) ?? (ending === 'aborted' ? 'abort' : 'unknown'),
    actor: str(data['actor']) ?? event.actor,
    reason: str(data['reason']) ?? '',
    toVersion,
    evidence: evidence ?? trigger?.evidence ?? null,
    triggerPosition: trigger?.position ?? null,
  };
  if (deployment.service === null) return;
  const key = runningKey(deployment.service, deployment.environment);
  if (toVersion === null) history.running.delete(key);
  else history.running.set(key, { service: deployment.service, environment: deployment.environment, version: toVersion, changeRequestId, since: event.at });
}
