/**
 * What if a proposed policy had been in force? Each change the period booked (or refused to book)
 * is decided again at the same moment, on the same facts, by the same pure functions the services
 * use — `decideBooking` for when it could go, `computeRequiredApprovals` for whose approval it
 * needed — but under the proposed policy set. The change is then refused (no slot, or an approval
 * it never got), delayed (by how long), moved earlier, allowed (where it was refused), or unchanged;
 * other differences (strategy, window) are listed. Each change is judged against the recorded
 * history of the others, not a re-simulated one: the first-order effect of the proposal.
 */
import { type ApprovalMatrix, type EnvironmentPolicy, type PolicySet } from '@gatehouse/policy';
import { computeRequiredApprovals, type RequiredApproval } from '../approvals/requiredApprovals.js';
import type { ChangeKind } from '../change-request/changeRequest.js';
import { decideBooking } from '../scheduling/decisions.js';
import { emptySchedulingFacts, GOVERNANCE_FACT_TYPES, type GovernanceFact, recordFact } from '../scheduling/governance.js';
import { type AuditEvent, inPeriod, type Period, str } from './auditEvent.js';

export type WhatIfVerdict = 'refused' | 'delayed' | 'earlier' | 'allowed' | 'unchanged';

export interface WhatIfLine {
  changeRequestId: string;
  environment: string;
  service: string | null;
  version: string | null;
  kind: string;
  /** When the recorded decision was made (governance time). */
  decidedAt: string;
  recorded: { outcome: 'booked'; scheduledFor: string; strategy: string | null } | { outcome: 'refused'; reasons: string[] };
  proposed: { outcome: 'booked'; scheduledFor: string; strategy: string | null } | { outcome: 'refused'; reasons: string[] };
  verdict: WhatIfVerdict;
  /** Positive: how much later than recorded it could have started; negative: earlier. */
  delayMinutes: number | null;
  /** Approvals the proposed policy asks for that the change never got. */
  missingApprovals: { role: string; missing: number }[];
  differences: string[];
}

export interface WhatIfReport {
  period: { from: string; to: string };
  proposedPolicyVersion: string;
  summary: Record<WhatIfVerdict, number>;
  changes: WhatIfLine[];
}

const MS_PER_MINUTE = 60_000;
const FACT_TYPES: ReadonlySet<string> = new Set(GOVERNANCE_FACT_TYPES);

/** As the approvals service reads the matrix: the migration approver counts only when the policy's requirements ask for it. */
function effectiveMatrix(policy: EnvironmentPolicy): ApprovalMatrix {
  if (policy.requirements.migrationApproval) return policy.approvals;
  const { migrationApproval: _ignored, ...matrix } = policy.approvals;
  return matrix;
}

interface ChangeMemo {
  kind: ChangeKind;
  includesMigration: boolean;
  releaseId: string | null;
  requirements: RequiredApproval[];
  grants: { role: string; approver: string }[];
  decided: boolean;
}

export function whatIfPolicy(events: Iterable<AuditEvent>, proposed: PolicySet, period: Period): WhatIfReport {
  const facts = emptySchedulingFacts();
  const changes = new Map<string, ChangeMemo>();
  const approvalOwner = new Map<string, string>();
  const releaseHasMigration = new Set<string>();
  const lines: WhatIfLine[] = [];

  for (const event of events) {
    const { data } = event;
    const changeRequestId = str(data['changeRequestId']);
    const memo = changeRequestId === null ? undefined : changes.get(changeRequestId);
    switch (event.type) {
      case 'ChangeRequestSubmitted': {
        const draft = (data['draft'] ?? {}) as Record<string, unknown>;
        if (changeRequestId !== null) {
          changes.set(changeRequestId, { kind: (str(data['kind']) ?? 'normal') as ChangeKind, includesMigration: draft['includesMigration'] === true, releaseId: str(draft['releaseId']), requirements: [], grants: [], decided: false });
        }
        break;
      }
      case 'ReleasePlanned':
      case 'ReleaseRevised':
        if (Array.isArray(data['changes']) && (data['changes'] as { kind?: unknown }[]).some((c) => c.kind === 'migration')) releaseHasMigration.add(str(data['releaseId']) ?? '');
        break;
      case 'ReleaseMigrationRecorded':
        releaseHasMigration.add(str(data['releaseId']) ?? '');
        break;
      case 'ApprovalsRequested': {
        const owner = str(((data['subject'] ?? {}) as Record<string, unknown>)['changeRequestId']);
        const owned = owner === null ? undefined : changes.get(owner);
        if (owned !== undefined && owner !== null) {
          approvalOwner.set(str(data['approvalId']) ?? '', owner);
          owned.requirements = Array.isArray(data['requirements']) ? (data['requirements'] as RequiredApproval[]) : [];
          owned.grants = [];
        }
        break;
      }
      case 'ApprovalGranted': {
        const owned = changes.get(approvalOwner.get(str(data['approvalId']) ?? '') ?? '');
        owned?.grants.push({ role: str(data['role']) ?? '', approver: str(data['approver']) ?? '' });
        break;
      }
      case 'ApprovalRevoked': {
        const owned = changes.get(approvalOwner.get(str(data['approvalId']) ?? '') ?? '');
        if (owned !== undefined) owned.grants = owned.grants.filter((g) => g.approver !== data['approver']);
        break;
      }
      case 'ApprovalsInvalidated': {
        const owned = changes.get(approvalOwner.get(str(data['approvalId']) ?? '') ?? '');
        if (owned !== undefined) owned.grants = [];
        break;
      }
      case 'DeploymentScheduled':
      case 'SchedulingRefused':
        if (memo !== undefined && changeRequestId !== null && !memo.decided && inPeriod(event.at, period)) {
          memo.decided = true;
          lines.push(judge(proposed, facts, changeRequestId, memo, event, releaseHasMigration));
        }
        break;
      default:
        break;
    }
    if (FACT_TYPES.has(event.type)) recordFact(facts, { type: event.type, data } as unknown as GovernanceFact);
  }
  const summary: Record<WhatIfVerdict, number> = { refused: 0, delayed: 0, earlier: 0, allowed: 0, unchanged: 0 };
  for (const line of lines) summary[line.verdict] += 1;
  return { period: { from: period.from.toISOString(), to: period.to.toISOString() }, proposedPolicyVersion: proposed.policyVersion, summary, changes: lines };
}

function judge(
  proposed: PolicySet,
  facts: ReturnType<typeof emptySchedulingFacts>,
  changeRequestId: string,
  memo: ChangeMemo,
  event: AuditEvent,
  releaseHasMigration: ReadonlySet<string>,
): WhatIfLine {
  const { data } = event;
  const environment = str(data['environment']) ?? facts.changes.get(changeRequestId)?.environments[0] ?? '';
  const release = memo.releaseId === null ? undefined : facts.releases.get(memo.releaseId);
  const decidedAt = new Date(str(data['bookedAt']) ?? new Date(event.at).toISOString());
  const recorded: WhatIfLine['recorded'] =
    event.type === 'DeploymentScheduled'
      ? { outcome: 'booked', scheduledFor: new Date(str(data['scheduledFor']) ?? '').toISOString(), strategy: str(data['strategy']) }
      : { outcome: 'refused', reasons: Array.isArray(data['reasons']) ? (data['reasons'] as string[]) : [] };

  const decision = decideBooking(proposed, facts, changeRequestId, decidedAt);
  let proposedOutcome: WhatIfLine['proposed'] =
    decision.decision === 'book'
      ? { outcome: 'booked', scheduledFor: new Date(decision.booking.scheduledFor).toISOString(), strategy: decision.booking.strategy ?? null }
      : { outcome: 'refused', reasons: decision.decision === 'refuse' ? decision.reasons : [decision.why] };

  const missingApprovals: WhatIfLine['missingApprovals'] = [];
  const environmentPolicy = proposed.environments[environment];
  if (environmentPolicy !== undefined) {
    try {
      const required = computeRequiredApprovals(environment, effectiveMatrix(environmentPolicy), environmentPolicy.emergency, {
        kind: memo.kind,
        includesMigration: memo.includesMigration || (memo.releaseId !== null && releaseHasMigration.has(memo.releaseId)),
        emergencyOutsideWindows: memo.requirements.some((r) => r.sources.includes('window_bypass')),
      });
      for (const need of required) {
        const missing = need.count - memo.grants.filter((g) => g.role === need.role).length;
        if (missing > 0) missingApprovals.push({ role: need.role, missing });
      }
    } catch (error) {
      proposedOutcome = { outcome: 'refused', reasons: [(error as Error).message] };
    }
  }
  if (missingApprovals.length > 0 && proposedOutcome.outcome === 'booked') {
    proposedOutcome = { outcome: 'refused', reasons: [`not approved: the proposed policy also needs ${missingApprovals.map((m) => `${m.missing} ${m.role}`).join(', ')}, which the change never got`] };
  }

  let verdict: WhatIfVerdict;
  let delayMinutes: number | null = null;
  const differences: string[] = [];
  if (proposedOutcome.outcome === 'refused') verdict = recorded.outcome === 'refused' ? 'unchanged' : 'refused';
  else if (recorded.outcome === 'refused') verdict = 'allowed';
  else {
    delayMinutes = (Date.parse(proposedOutcome.scheduledFor) - Date.parse(recorded.scheduledFor)) / MS_PER_MINUTE;
    verdict = delayMinutes > 0 ? 'delayed' : delayMinutes < 0 ? 'earlier' : 'unchanged';
    if (proposedOutcome.strategy !== recorded.strategy) differences.push(`strategy ${recorded.strategy ?? 'none'} → ${proposedOutcome.strategy ?? 'none'}`);
  }
  if (verdict === 'delayed') differences.push(`starts ${formatMinutes(delayMinutes!)} later, at ${proposedOutcome.outcome === 'booked' ? proposedOutcome.scheduledFor : ''}`);
  if (verdict === 'earlier') differences.push(`starts ${formatMinutes(-delayMinutes!)} earlier`);
  return {
    changeRequestId,
    environment,
    service: release?.service ?? str(data['service']),
    version: release?.version ?? str(data['version']),
    kind: memo.kind,
    decidedAt: decidedAt.toISOString(),
    recorded,
    proposed: proposedOutcome,
    verdict,
    delayMinutes,
    missingApprovals,
    differences,
  };
}

function formatMinutes(minutes: number): string {
  const sign = minutes < 0 ? '-' : '';
  const size = Math.abs(minutes);
  if (size < 120) return `${sign}${size} min`;
  if (size < 2_880) return `${sign}${(size / 60).toFixed(1)} h`;
  return `${sign}${(size / 1_440).toFixed(1)} d`;
}

export function whatIfTable(report: WhatIfReport): string {
  const { summary } = report;
  const outcome = (o: WhatIfLine['recorded']) => (o.outcome === 'booked' ? `booked ${o.scheduledFor}` : `refused: ${o.reasons.join('; ')}`);
  return [
    `# What if policy ${report.proposedPolicyVersion} had applied from ${report.period.from} to ${report.period.to}`,
    '',
    `${report.changes.length} change(s) decided in the period: ${summary.refused} refused, ${summary.delayed} delayed, ${summary.earlier} earlier, ${summary.allowed} allowed where refused, ${summary.unchanged} unchanged.`,
    '',
    '| change | environment | service version | recorded | proposed | verdict | delay | notes |',
    '|---|---|---|---|---|---|---|---|',
    ...report.changes.map(
      (l) =>
        `| ${l.changeRequestId} | ${l.environment} | ${l.service ?? '?'} ${l.version ?? '?'} | ${outcome(l.recorded).replace(/\|/g, '\\|')} | ${outcome(l.proposed).replace(/\|/g, '\\|')} | ${l.verdict} | ${l.delayMinutes === null ? '-' : formatMinutes(l.delayMinutes)} | ${l.differences.join('; ').replace(/\|/g, '\\|') || '-'} |`,
    ),
    '',
  ].join('\n');
}
