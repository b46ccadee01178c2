/**
 * The compliance report for a period: every production change with its approvals and whether
 * separation of duties held, emergency changes with their VP approval and post-incident review,
 * rollbacks with their evidence, and policy changes with who made them. Separation of duties is
 * checked again here from the recorded facts — not taken from the decider's word — so a grant that
 * got into the log around the rules shows up as a violation.
 */
import { type AuditEvent, isoOrNull, type Period, inPeriod } from './auditEvent.js';
import { type ChangeFact, foldGovernanceHistory, type GovernanceHistory } from './history.js';

export const PRODUCTION = 'production';
/** The role the emergency path's window bypass asks for (deploy/policies: `emergency.windowBypassRole`). */
const WINDOW_BYPASS_SOURCE = 'window_bypass';

export interface ApprovalLine {
  role: string;
  approver: string;
  onCall: boolean;
  grantedAt: string;
  position: string;
  /** Revoked or invalidated later: it no longer counts. */
  withdrawn: boolean;
}

export interface SeparationOfDutiesCheck {
  held: boolean;
  violations: string[];
}

export interface ProductionChangeLine {
  changeRequestId: string;
  title: string;
  kind: string;
  service: string | null;
  version: string | null;
  releaseId: string | null;
  author: string;
  initiator: string | null;
  submittedAt: string;
  status: string;
  outcome: string | null;
  deployedAt: string | null;
  policyVersion: string | null;
  required: { role: string; count: number; onCall: boolean; sources: string[] }[];
  approvals: ApprovalLine[];
  fullyApprovedAt: string | null;
  separationOfDuties: SeparationOfDutiesCheck;
  /** Position of the submission; the story (`gatehouse why <id>`) has every other. */
  position: string;
}

export interface EmergencyChangeLine {
  changeRequestId: string;
  hotfixId: string | null;
  incidentId: string | null;
  severity: string | null;
  /** Deployed outside windows or in a blackout/freeze: the VP's approval was required. */
  windowBypass: boolean;
  vpApproval: { approver: string; grantedAt: string; position: string } | null;
  postIncidentReview: { status: 'completed' | 'completed_late' | 'overdue' | 'due' | 'not_recorded'; dueAt: string | null; completedAt: string | null; reviewRef: string | null; completedBy: string | null };
}

export interface RollbackLine {
  /** rolled_back: the deployment or its watch was rolled back; aborted: the rollout was stopped and the previous version restored. */
  ending: 'rolled_back' | 'aborted';
  changeRequestId: string;
  deploymentId: string;
  service: string | null;
  environment: string;
  version: string | null;
  restoredVersion: string | null;
  initiator: string;
  actor: string | null;
  reason: string;
  at: string;
  position: string;
  evidence: Record<string, unknown> | null;
}

export interface PolicyChangeLine {
  policyVersion: string;
  previousVersion: string | null;
  activatedAt: string;
  actor: string | null;
  environments: string[];
  position: string;
}

export interface ComplianceReport {
  period: { from: string; to: string };
  /** How much of the log the report rests on. */
  basis: { eventsRead: number; lastPosition: string };
  summary: {
    productionChanges: number;
    separationOfDutiesViolations: number;
    emergencyChanges: number;
    emergencyWithoutVpApproval: number;
    postIncidentReviewsOutstanding: number;
    rollbacks: number;
    policyChanges: number;
  };
  productionChanges: ProductionChangeLine[];
  emergencyChanges: EmergencyChangeLine[];
  rollbacks: RollbackLine[];
  policyChanges: PolicyChangeLine[];
}

/** Separation of duties as the policy recorded with the request states it, checked on the grants that count. */
export function checkSeparationOfDuties(change: ChangeFact): SeparationOfDutiesCheck {
  const approval = change.approval;
  if (approval === null) return { held: true, violations: [] };
  const violations: string[] = [];
  const standing = approval.grants.filter((g) => !g.withdrawn);
  const owners = new Set([change.author, approval.author, ...(change.initiator === null ? [] : [change.initiator]), ...(approval.initiator === null ? [] : [approval.initiator])]);
  for (const grant of standing) {
    if (owners.has(grant.approver)) violations.push(`${grant.approver} approved as ${grant.role} but authored or initiated the change`);
  }
  const rolesBy = new Map<string, string[]>();
  for (const grant of standing) rolesBy.set(grant.approver, [...(rolesBy.get(grant.approver) ?? []), grant.role]);
  for (const [approver, roles] of rolesBy) {
    if (roles.length > 1) violations.push(`${approver} filled ${roles.length} approvals (${roles.join(', ')}): one person, one approval`);
  }
  return { held: violations.length === 0, violations };
}

const firstProductionDeployment = (change: ChangeFact) => change.deployments.find((d) => d.environment === PRODUCTION);

function productionChangesIn(history: GovernanceHistory, period: Period): ChangeFact[] {
  return [...history.changes.values()].filter((change) => {
    if (!change.environments.includes(PRODUCTION)) return false;
    const deployed = firstProductionDeployment(change);
    return inPeriod(change.submittedAt, period) || (deployed !== undefined && inPeriod(deployed.startedAt, period));
  });
}

function productionLine(history: GovernanceHistory, change: ChangeFact): ProductionChangeLine {
  const release = change.releaseId === null ? undefined : history.releases.get(change.releaseId);
  const deployed = firstProductionDeployment(change);
  const approval = change.approval;
  return {
    changeRequestId: change.changeRequestId,
    title: change.title,
    kind: change.kind,
    service: deployed?.service ?? release?.service ?? null,
    version: deployed?.version ?? release?.version ?? null,
    releaseId: change.releaseId,
    author: change.author,
    initiator: change.initiator,
    submittedAt: new Date(change.submittedAt).toISOString(),
    status: change.status,
    outcome: change.closed?.outcome ?? null,
    deployedAt: isoOrNull(deployed?.startedAt ?? null),
    policyVersion: approval?.policyVersion ?? change.policyVersion,
    required: approval?.requirements.map(({ role, count, onCall, sources }) => ({ role, count, onCall, sources })) ?? [],
    approvals:
      approval?.grants.map((g) => ({ role: g.role, approver: g.approver, onCall: g.onCall, grantedAt: new Date(g.at).toISOString(), position: g.position.toString(), withdrawn: g.withdrawn })) ?? [],
    fullyApprovedAt: isoOrNull(approval?.fullyApprovedAt ?? null),
    separationOfDuties: checkSeparationOfDuties(change),
    position: change.submittedPosition.toString(),
  };
}

function emergencyLine(history: GovernanceHistory, change: ChangeFact, reportEnd: number): EmergencyChangeLine {
  const approval = change.approval;
  const bypass = approval?.requirements.find((r) => r.sources.includes(WINDOW_BYPASS_SOURCE));
  const vpGrant = bypass === undefined ? undefined : approval?.grants.find((g) => g.role === bypass.role && !g.withdrawn);
  const hotfix = change.hotfixId === null ? undefined : history.hotfixes.get(change.hotfixId);
  const review = hotfix?.review ?? null;
  const dueAt = hotfix?.reviewDueAt ?? null;
  const status =
    review !== null
      ? review.late ? 'completed_late' : 'completed'
      : hotfix?.reviewOverdue === true || (dueAt !== null && dueAt < reportEnd) ? 'overdue' : dueAt !== null ? 'due' : 'not_recorded';
  return {
    changeRequestId: change.changeRequestId,
    hotfixId: change.hotfixId,
    incidentId: hotfix?.incidentId ?? null,
    severity: hotfix?.severity ?? null,
    windowBypass: bypass !== undefined,
    vpApproval: vpGrant === undefined ? null : { approver: vpGrant.approver, grantedAt: new Date(vpGrant.at).toISOString(), position: vpGrant.position.toString() },
    postIncidentReview: { status, dueAt: isoOrNull(dueAt), completedAt: isoOrNull(review?.at ?? null), reviewRef: review?.ref ?? null, completedBy: review?.by ?? null },
  };
}

/**
 * The report over [from, to): changes submitted or deployed to production in the period, rollbacks
 * and policy activations that happened in it. Reviews are judged as of the period's end.
 */
export function complianceReport(events: Iterable<AuditEvent>, period: Period): ComplianceReport {
  const history = foldGovernanceHistory(events, { at: new Date(period.to.getTime() - 1) });
  const production = productionChangesIn(history, period).sort((a, b) => a.submittedAt - b.submittedAt);
  const productionChanges = production.map((change) => productionLine(history, change));
  const emergencyChanges = production.filter((change) => change.kind === 'emergency').map((change) => emergencyLine(history, change, period.to.getTime()));
  const rollbacks: RollbackLine[] = [];
  for (const change of history.changes.values()) {
    for (const d of change.deployments) {
      if (d.rollback === null || !inPeriod(d.rollback.at, period)) continue;
      rollbacks.push({
        ending: d.rollback.ending,
        changeRequestId: change.changeRequestId,
        deploymentId: d.deploymentId,
        service: d.service,
        environment: d.environment,
        version: d.version,
        restoredVersion: d.rollback.toVersion,
        initiator: d.rollback.initiator,
        actor: d.rollback.actor,
        reason: d.rollback.reason,
        at: new Date(d.rollback.at).toISOString(),
        position: d.rollback.position.toString(),
        evidence: d.rollback.evidence,
      });
    }
  }
  rollbacks.sort((a, b) => a.at.localeCompare(b.at));
  const policyChanges = history.policies
    .filter((p) => inPeriod(p.activatedAt, period))
    .map((p) => ({ policyVersion: p.policyVersion, previousVersion: p.previousVersion, activatedAt: new Date(p.activatedAt).toISOString(), actor: p.actor, environments: p.environments, position: p.position.toString() }));
  return {
    period: { from: period.from.toISOString(), to: period.to.toISOString() },
    basis: { eventsRead: history.eventsRead, lastPosition: history.lastPosition.toString() },
    summary: {
      productionChanges: productionChanges.length,
      separationOfDutiesViolations: productionChanges.filter((c) => !c.separationOfDuties.held).length,
      emergencyChanges: emergencyChanges.length,
      emergencyWithoutVpApproval: emergencyChanges.filter((e) => e.windowBypass && e.vpApproval === null).length,
      postIncidentReviewsOutstanding: emergencyChanges.filter((e) => e.postIncidentReview.status === 'overdue' || e.postIncidentReview.status === 'due').length,
      rollbacks: rollbacks.length,
      policyChanges: policyChanges.length,
    },
    productionChanges,
    emergencyChanges,
    rollbacks,
    policyChanges,
  };
}

// ---------------------------------------------------------------- renderings

/** RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes. */
export function csvField(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvRow = (fields: (string | number | boolean | null)[]): string => fields.map(csvField).join(',');

/**
 * One CSV table, one row per finding, so a spreadsheet can filter it: `section` says which part of
 * the report the row belongs to (production_change, emergency_change, rollback, policy_change).
 */
export function complianceCsv(report: ComplianceReport): string {
  const header = ['section', 'id', 'at', 'service', 'version', 'environment', 'kind', 'author', 'approvals', 'separation_of_duties', 'vp_approval', 'post_incident_review', 'initiator', 'reason', 'evidence', 'policy_version', 'position'];
  const rows: string[] = [csvRow(header)];
  for (const c of report.productionChanges) {
    rows.push(csvRow([
      'production_change', c.changeRequestId, c.deployedAt ?? c.submittedAt, c.service, c.version, PRODUCTION, c.kind, c.author,
      c.approvals.filter((a) => !a.withdrawn).map((a) => `${a.role}:${a.approver}`).join('; '),
      c.separationOfDuties.held ? 'held' : `VIOLATED: ${c.separationOfDuties.violations.join('; ')}`,
      null, null, c.initiator, c.outcome ?? c.status, null, c.policyVersion, c.position,
    ]));
  }
  for (const e of report.emergencyChanges) {
    rows.push(csvRow([
      'emergency_change', e.changeRequestId, null, null, null, PRODUCTION, 'emergency', null, null, null,
      e.vpApproval === null ? (e.windowBypass ? 'MISSING' : 'not required') : `${e.vpApproval.approver} at ${e.vpApproval.grantedAt}`,
      `${e.postIncidentReview.status}${e.postIncidentReview.reviewRef === null ? '' : ` ${e.postIncidentReview.reviewRef}`}`,
      null, e.incidentId === null ? null : `incident ${e.incidentId} (${e.severity ?? 'unknown severity'})`, null, null, e.vpApproval?.position ?? null,
    ]));
  }
  for (const r of report.rollbacks) {
    rows.push(csvRow([r.ending === 'aborted' ? 'rollback_abort' : 'rollback', r.changeRequestId, r.at, r.service, r.version, r.environment, null, null, null, null, null, null, `${r.initiator}${r.actor === null ? '' : ` (${r.actor})`}`, r.reason, r.evidence === null ? null : JSON.stringify(r.evidence), null, r.position]));
  }
  for (const p of report.policyChanges) {
    rows.push(csvRow(['policy_change', p.policyVersion, p.activatedAt, null, null, p.environments.join(' '), null, p.actor, null, null, null, null, null, p.previousVersion === null ? 'first version' : `replaces ${p.previousVersion}`, null, p.policyVersion, p.position]));
  }
  return `${rows.join('\r\n')}\r\n`;
}

const cell = (text: string | null): string => (text ?? '-').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function complianceMarkdown(report: ComplianceReport): string {
  const { summary } = report;
  const lines = [
    `# Compliance report ${report.period.from} to ${report.period.to}`,
    '',
    `Based on ${report.basis.eventsRead} events up to position ${report.basis.lastPosition}.`,
    '',
    `- Production changes: ${summary.productionChanges}; separation of duties ${summary.separationOfDutiesViolations === 0 ? 'held for every one' : `VIOLATED for ${summary.separationOfDutiesViolations}`}`,
    `- Emergency changes: ${summary.emergencyChanges}; without the required VP approval: ${summary.emergencyWithoutVpApproval}; post-incident reviews outstanding: ${summary.postIncidentReviewsOutstanding}`,
    `- Rollbacks: ${summary.rollbacks}`,
    `- Policy changes: ${summary.policyChanges}`,
    '',
    '## Production changes',
    '',
    '| change | service version | kind | author | approvals (role: person) | separation of duties | outcome | policy |',
    '|---|---|---|---|---|---|---|---|',
    ...report.productionChanges.map((c) =>
      `| ${cell(c.changeRequestId)} | ${cell(`${c.service ?? '?'} ${c.version ?? '?'}`)} | ${c.kind} | ${cell(c.author)}${c.initiator === null ? '' : ` (via ${cell(c.initiator)})`} | ${cell(c.approvals.filter((a) => !a.withdrawn).map((a) => `${a.role}: ${a.approver}`).join(', ') || 'none')} | ${c.separationOfDuties.held ? 'held' : `**violated**: ${cell(c.separationOfDuties.violations.join('; '))}`} | ${cell(c.outcome ?? c.status)} | ${cell(c.policyVersion?.slice(0, 12) ?? null)} |`,
    ),
    '',
    '## Emergency changes',
    '',
    '| change | incident | VP approval | post-incident review |',
    '|---|---|---|---|',
    ...report.emergencyChanges.map((e) =>
      `| ${cell(e.changeRequestId)} | ${cell(e.incidentId === null ? null : `${e.incidentId} (${e.severity ?? '?'})`)} | ${e.vpApproval === null ? (e.windowBypass ? '**missing**' : 'not required') : cell(`${e.vpApproval.approver} at ${e.vpApproval.grantedAt}`)} | ${e.postIncidentReview.status}${e.postIncidentReview.reviewRef === null ? '' : ` (${cell(e.postIncidentReview.reviewRef)})`}${e.postIncidentReview.dueAt === null ? '' : `, due ${e.postIncidentReview.dueAt}`} |`,
    ),
    '',
    '## Rollbacks',
    '',
    '| at | change | service | from → to | how | reason | evidence |',
    '|---|---|---|---|---|---|---|',
    ...report.rollbacks.map((r) =>
      `| ${r.at} | ${cell(r.changeRequestId)} | ${cell(`${r.service ?? '?'} in ${r.environment}`)} | ${cell(`${r.version ?? '?'} → ${r.restoredVersion ?? 'none'}`)} | ${cell(`${r.ending === 'aborted' ? 'aborted' : r.initiator}${r.actor === null ? '' : ` (${r.actor})`}`)} | ${cell(r.reason)} | ${r.evidence === null ? '-' : `position ${r.position}`} |`,
    ),
    '',
    '## Policy changes',
    '',
    '| activated | version | by | replaces | environments |',
    '|---|---|---|---|---|',
    ...report.policyChanges.map((p) => `| ${p.activatedAt} | ${cell(p.policyVersion.slice(0, 12))} | ${cell(p.actor)} | ${cell(p.previousVersion?.slice(0, 12) ?? 'first version')} | ${cell(p.environments.join(', '))} |`),
    '',
  ];
  return lines.join('\n');
}
