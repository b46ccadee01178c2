/**
 * Re-derive the recorded decisions: replay the raw events through the same pure deciders the
 * services use, under the policy version in force at the time (the `PolicyVersionActivated` events
 * carry the files), and flag every decision the events do not justify:
 * - approval requirements weaker than the policy asked for (`computeRequiredApprovals`);
 * - a grant the approvals decider refuses (separation of duties, a role not required, on-call, …);
 * - a full approval recorded without the grants that make its quorum;
 * - a booking `decideBooking` would not make (refused, or another slot);
 * - a start (`DeploymentDue`) `decideStart` would not allow;
 * - a rollback trigger that fired without the recorded samples holding it (`evaluateRollbackTrigger`).
 * A log written by Gatehouse has no findings; one altered around the rules (a row appended straight
 * to the store) has, each naming its position.
 */
import { type ApprovalMatrix, type EnvironmentPolicy, loadPolicySet, type PolicyFile, type PolicySet, type RollbackTrigger } from '@gatehouse/policy';
import { type ApprovalEvent, type ApprovalState, approvalDecider, decideApproval, type GrantApproval } from '../approvals/approvals.js';
import { computeRequiredApprovals, type RequiredApproval } from '../approvals/requiredApprovals.js';
import type { ChangeKind } from '../change-request/changeRequest.js';
import { evaluateRollbackTrigger, type MetricSample } from '../rollback/rollbackTriggers.js';
import { decideBooking, decideStart } from '../scheduling/decisions.js';
import { emptySchedulingFacts, GOVERNANCE_FACT_TYPES, type GovernanceFact, recordFact, type SchedulingFacts } from '../scheduling/governance.js';
import { type AuditEvent, str } from './auditEvent.js';

export type RederivedDecision = 'approval_requirements' | 'approval_grant' | 'approval_quorum' | 'booking' | 'start' | 'rollback_trigger';

export interface Finding {
  decision: RederivedDecision;
  position: string;
  streamId: string;
  type: string;
  at: string;
  /** The policy version the decision was re-derived under. */
  policyVersion: string | null;
  reason: string;
}

export interface RederivationReport {
  basis: { eventsRead: number; lastPosition: string };
  checked: Record<RederivedDecision, number>;
  ok: boolean;
  findings: Finding[];
}

const FACT_TYPES: ReadonlySet<string> = new Set(GOVERNANCE_FACT_TYPES);
const APPROVAL_TYPES: ReadonlySet<string> = new Set(['ApprovalsRequested', 'ApprovalGranted', 'ChangeFullyApproved', 'ApprovalRejected', 'ApprovalRevoked', 'ApprovalsInvalidated']);

/** As the approvals service reads the matrix: the migration approver counts only when the policy's requirements ask for it. */
function effectiveMatrix(policy: EnvironmentPolicy): ApprovalMatrix {
  if (policy.requirements.migrationApproval) return policy.approvals;
  const { migrationApproval: _ignored, ...matrix } = policy.approvals;
  return matrix;
}

const describeRequirements = (requirements: readonly RequiredApproval[]): string => requirements.map((r) => `${r.count} ${r.role}${r.onCall ? ' (on call)' : ''}`).join(', ') || 'none';

export function rederiveDecisions(events: Iterable<AuditEvent>): RederivationReport {
  const checked: Record<RederivedDecision, number> = { approval_requirements: 0, approval_grant: 0, approval_quorum: 0, booking: 0, start: 0, rollback_trigger: 0 };
  const findings: Finding[] = [];
  const policyFiles = new Map<string, PolicyFile[]>();
  const policySets = new Map<string, PolicySet>();
  let inForce: string | null = null;
  const approvals = new Map<string, ApprovalState>();
  /** approvalId → the decider made the change fully approved at its last grant. */
  const quorumReached = new Map<string, boolean>();
  const changes = new Map<string, { kind: ChangeKind; includesMigration: boolean; releaseId: string | null }>();
  const releaseHasMigration = new Map<string, boolean>();
  const facts: SchedulingFacts = emptySchedulingFacts();
  const watchSamples = new Map<string, MetricSample[]>();
  const watchRules = new Map<string, RollbackTrigger[]>();
  const lastFired = new Map<string, string>();
  let eventsRead = 0;
  let lastPosition = 0n;

  const policyFor = (recorded: string | null): { set: PolicySet; version: string } | { error: string } => {
    const version = inForce ?? recorded;
    if (version === null) return { error: 'no policy version was in force' };
    let set = policySets.get(version);
    if (set === undefined) {
      const files = policyFiles.get(version);
      if (files === undefined) return { error: `policy version ${version} was never activated in this log` };
      // A version recorded in the log is read back as it was (schema only), even if activation rules grew since.
      set = loadPolicySet(files, { recorded: true });
      policySets.set(version, set);
    }
    return { set, version };
  };

  for (const event of events) {
    eventsRead += 1;
    lastPosition = event.globalPosition;
    const { data } = event;
    const flag = (decision: RederivedDecision, reason: string, policyVersion: string | null = inForce): void => {
      findings.push({ decision, position: event.globalPosition.toString(), streamId: event.streamId, type: event.type, at: new Date(event.at).toISOString(), policyVersion, reason });
    };

    if (event.type === 'PolicyVersionActivated') {
      const version = str(data['policyVersion']);
      if (version !== null && Array.isArray(data['files'])) policyFiles.set(version, data['files'] as PolicyFile[]);
      inForce = version;
      continue;
    }
    if (event.type === 'ChangeRequestSubmitted') {
      const draft = (data['draft'] ?? {}) as Record<string, unknown>;
      const id = str(data['changeRequestId']);
      if (id !== null) changes.set(id, { kind: (str(data['kind']) ?? 'normal') as ChangeKind, includesMigration: draft['includesMigration'] === true, releaseId: str(draft['releaseId']) });
    }
    if (event.type === 'ReleasePlanned' || event.type === 'ReleaseRevised') {
      const releaseId = str(data['releaseId']);
      const listed = Array.isArray(data['changes']) && (data['changes'] as { kind?: unknown }[]).some((c) => c.kind === 'migration');
      if (releaseId !== null && (listed || event.type === 'ReleasePlanned')) releaseHasMigration.set(releaseId, listed);
    }
    if (event.type === 'ReleaseMigrationRecorded') {
      const releaseId = str(data['releaseId']);
      if (releaseId !== null) releaseHasMigration.set(releaseId, true);
    }

    if (APPROVAL_TYPES.has(event.type)) {
      const approvalId = str(data['approvalId']) ?? '';
      const state = approvals.get(approvalId) ?? approvalDecider.initialState();
      if (event.type === 'ApprovalsRequested') {
        checked.approval_requirements += 1;
        const subject = (data['subject'] ?? {}) as Record<string, unknown>;
        const environment = str(subject['environment']) ?? '';
        const recorded = (Array.isArray(data['requirements']) ? data['requirements'] : []) as RequiredApproval[];
        const policy = policyFor(str(data['policyVersion']));
        const change = changes.get(str(subject['changeRequestId']) ?? '');
        if ('error' in policy) flag('approval_requirements', policy.error);
        else if (!(environment in policy.set.environments)) flag('approval_requirements', `no policy for environment ${environment} in ${policy.version}`, policy.version);
        else if (change !== undefined) {
          const environmentPolicy = policy.set.environments[environment]!;
          const kind = (str(data['kind']) ?? change.kind) as ChangeKind;
          const includesMigration = change.includesMigration || (change.releaseId !== null && releaseHasMigration.get(change.releaseId) === true);
          // Whether an emergency had to bypass windows depends on the clock at its planned time; the recorded answer is taken.
          const emergencyOutsideWindows = recorded.some((r) => r.sources.includes('window_bypass'));
          try {
            const required = computeRequiredApprovals(environment, effectiveMatrix(environmentPolicy), environmentPolicy.emergency, { kind, includesMigration, emergencyOutsideWindows });
            const weaker = required.filter((need) => {
              const got = recorded.find((r) => r.role === need.role);
              return got === undefined || got.count < need.count || (need.onCall && !got.onCall);
            });
            if (weaker.length > 0) {
              flag('approval_requirements', `requested ${describeRequirements(recorded)}, but policy ${policy.version} requires ${describeRequirements(required)} for a ${kind} change to ${environment}`, policy.version);
            }
          } catch (error) {
            flag('approval_requirements', `policy ${policy.version} allows no such request: ${(error as Error).message}`, policy.version);
          }
        }
      } else if (event.type === 'ApprovalGranted') {
        checked.approval_grant += 1;
        const role = str(data['role']) ?? '';
        const command: GrantApproval = {
          type: 'GrantApproval',
          data: { approvalId, approver: str(data['approver']) ?? '', approverRoles: [role as GrantApproval['data']['role']], approverOnCall: data['onCall'] === true, role: role as GrantApproval['data']['role'], now: new Date(event.at) },
        };
        try {
          quorumReached.set(approvalId, decideApproval(command, state).some((e) => e.type === 'ChangeFullyApproved'));
        } catch (error) {
          quorumReached.set(approvalId, false);
          flag('approval_grant', `the approvals decider refuses this grant: ${(error as Error).message}`);
        }
      } else if (event.type === 'ChangeFullyApproved') {
        checked.approval_quorum += 1;
        const justified = data['basis'] === 'no_approval_required' ? state.status !== 'not_requested' && state.requirements.length === 0 : quorumReached.get(approvalId) === true;
        if (!justified) {
          const grants = state.status === 'not_requested' ? [] : state.grants;
          const needs = state.status === 'not_requested' ? 'no approvals were requested' : `it needs ${describeRequirements(state.requirements)}`;
          flag('approval_quorum', `recorded as fully approved, but the grants (${grants.map((g) => `${g.role} ${g.approver}`).join(', ') || 'none'}) do not make the quorum: ${needs}`);
        }
        quorumReached.delete(approvalId);
      }
      approvals.set(approvalId, approvalDecider.evolve(state, { type: event.type, data } as unknown as ApprovalEvent));
    }

    if (event.type === 'DeploymentScheduled' || event.type === 'DeploymentDue') {
      const changeRequestId = str(data['changeRequestId']) ?? '';
      const policy = policyFor(str(data['policyVersion']) ?? event.policyVersion);
      if (event.type === 'DeploymentScheduled') {
        checked.booking += 1;
        const bookedAt = str(data['bookedAt']);
        if ('error' in policy) flag('booking', policy.error);
        else {
          const decision = decideBooking(policy.set, facts, changeRequestId, bookedAt === null ? new Date(event.at) : new Date(bookedAt));
          if (decision.decision !== 'book') {
            flag('booking', `decideBooking under ${policy.version} would ${decision.decision === 'refuse' ? `refuse it: ${decision.reasons.join('; ')}` : `ignore it: ${decision.why}`}`, policy.version);
          } else if (Date.parse(decision.booking.scheduledFor) !== Date.parse(str(data['scheduledFor']) ?? '')) {
            flag('booking', `booked for ${str(data['scheduledFor'])}, but decideBooking under ${policy.version} gives ${decision.booking.scheduledFor}`, policy.version);
          }
        }
      } else {
        checked.start += 1;
        const booking = facts.bookings.get(changeRequestId);
        const dueAt = str(data['dueAt']) ?? new Date(event.at).toISOString();
        if (booking === undefined) flag('start', 'a start with no booking waiting for it');
        else if ('error' in policy) flag('start', policy.error);
        else {
          const decision = decideStart(policy.set, facts, booking, dueAt, new Date(event.at));
          if (decision.decision !== 'start') {
            const why = 'reasons' in decision ? decision.reasons.join('; ') : 'reason' in decision ? decision.reason : `it fell due at ${dueAt}, not at the booked slot ${booking.scheduledFor}`;
            flag('start', `decideStart under ${policy.version} says ${decision.decision}: ${why}`, policy.version);
          }
        }
      }
    }
    if (FACT_TYPES.has(event.type)) recordFact(facts, { type: event.type, data } as unknown as GovernanceFact);

    if (event.type === 'PostDeploymentWatchStarted' && Array.isArray(data['rules'])) {
      watchRules.set(event.streamId, (data['rules'] as (RollbackTrigger & { source?: string })[]).filter((rule) => rule.source === undefined || rule.source === 'rollback_trigger'));
    }
    if (event.type === 'MetricSamplesRecorded' && Array.isArray(data['samples'])) {
      watchSamples.set(event.streamId, [...(watchSamples.get(event.streamId) ?? []), ...(data['samples'] as MetricSample[])]);
    }
    if (event.type === 'RollbackTriggerFired') {
      checked.rollback_trigger += 1;
      const triggerId = str(data['triggerId']) ?? '';
      const rule = watchRules.get(event.streamId)?.find((r) => r.id === triggerId);
      const firedAt = str(data['firedAt']) ?? new Date(event.at).toISOString();
      const key = `${event.streamId}|${triggerId}`;
      if (rule === undefined) flag('rollback_trigger', `trigger ${triggerId} is not among the rules the watch started with`);
      else {
        const samples = (watchSamples.get(event.streamId) ?? []).filter((s) => s.metric === rule.metric && Date.parse(s.at) <= Date.parse(firedAt));
        const previous = lastFired.get(key);
        const evaluation = evaluateRollbackTrigger(rule, samples, { now: new Date(firedAt), ...(previous === undefined ? {} : { lastFiredAt: previous }) });
        if (evaluation.status !== 'fired') flag('rollback_trigger', `the recorded samples do not fire ${triggerId}: ${evaluation.reason}`);
      }
      lastFired.set(key, firedAt);
    }
  }
  return { basis: { eventsRead, lastPosition: lastPosition.toString() }, checked, ok: findings.length === 0, findings };
}

export function rederivationMarkdown(report: RederivationReport): string {
  const counts = Object.entries(report.checked).map(([decision, count]) => `${decision.replace(/_/g, ' ')} ${count}`).join(', ');
  return [
    `# Re-derived decisions: ${report.ok ? 'every recorded decision is justified by the events' : `${report.findings.length} decision(s) NOT justified by the events`}`,
    '',
    `Replayed ${report.basis.eventsRead} events up to position ${report.basis.lastPosition}; checked ${counts}.`,
    '',
    ...(report.findings.length === 0
      ? []
      : [
          '| position | at | stream | event | decision | why it is not justified |',
          '|---|---|---|---|---|---|',
          ...report.findings.map((f) => `| ${f.position} | ${f.at} | ${f.streamId} | ${f.type} | ${f.decision} | ${f.reason.replace(/\|/g, '\\|')} |`),
          '',
        ]),
  ].join('\n');
}
