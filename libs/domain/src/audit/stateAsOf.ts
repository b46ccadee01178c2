/**
 * Time travel: what was scheduled, approved and running in an environment at a moment of the log (a
 * governance instant or a global position), and which policy version applied — folded from the
 * events up to that moment only, so the answer is the one the system would have given then.
 */
import { type AuditEvent, isoOrNull, type LogMoment } from './auditEvent.js';
import { type ChangeFact, foldGovernanceHistory } from './history.js';

export interface StateChangeLine {
  changeRequestId: string;
  title: string;
  kind: string;
  status: string;
  service: string | null;
  version: string | null;
  author: string;
}

export interface EnvironmentState {
  asOf: { position: string } | { at: string };
  environment: string;
  basis: { eventsRead: number; lastPosition: string };
  policy: { policyVersion: string; activatedAt: string; actor: string | null; position: string } | null;
  running: { service: string; version: string; changeRequestId: string; since: string }[];
  scheduled: (StateChangeLine & { scheduledFor: string })[];
  approved: (StateChangeLine & { approvers: { role: string; approver: string }[]; approvedAt: string | null })[];
  awaitingApproval: (StateChangeLine & { missing: { role: string; missing: number }[] })[];
  deploying: (StateChangeLine & { deploymentId: string; startedAt: string })[];
}

/** Statuses of a change that is approved and not yet deploying. */
const APPROVED_NOT_STARTED = new Set(['approved']);
const OPEN_STATUSES = new Set(['submitted', 'under_review', 'awaiting_approval']);

export function environmentStateAsOf(events: Iterable<AuditEvent>, moment: LogMoment, environment: string): EnvironmentState {
  const history = foldGovernanceHistory(events, moment);
  const line = (change: ChangeFact): StateChangeLine => {
    const release = change.releaseId === null ? undefined : history.releases.get(change.releaseId);
    return { changeRequestId: change.changeRequestId, title: change.title, kind: change.kind, status: change.status, service: release?.service ?? null, version: release?.version ?? null, author: change.author };
  };
  const inEnvironment = [...history.changes.values()].filter((c) => c.environments.includes(environment)).sort((a, b) => a.submittedAt - b.submittedAt);
  const policy = [...history.policies].reverse().find((p) => p.environments.length === 0 || p.environments.includes(environment)) ?? null;
  return {
    asOf: 'position' in moment ? { position: moment.position.toString() } : { at: moment.at.toISOString() },
    environment,
    basis: { eventsRead: history.eventsRead, lastPosition: history.lastPosition.toString() },
    policy: policy === null ? null : { policyVersion: policy.policyVersion, activatedAt: new Date(policy.activatedAt).toISOString(), actor: policy.actor, position: policy.position.toString() },
    running: [...history.running.values()]
      .filter((r) => r.environment === environment)
      .map((r) => ({ service: r.service, version: r.version, changeRequestId: r.changeRequestId, since: new Date(r.since).toISOString() }))
      .sort((a, b) => a.service.localeCompare(b.service)),
    scheduled: inEnvironment
      .filter((c) => c.status === 'scheduled' && c.booking !== null)
      .map((c) => ({ ...line(c), scheduledFor: c.booking!.scheduledFor })),
    approved: inEnvironment
      .filter((c) => APPROVED_NOT_STARTED.has(c.status) || (c.status === 'scheduled' && c.approval?.fullyApprovedAt !== null))
      .map((c) => ({
        ...line(c),
        approvers: c.approval?.grants.filter((g) => !g.withdrawn).map((g) => ({ role: g.role, approver: g.approver })) ?? [],
        approvedAt: isoOrNull(c.approval?.fullyApprovedAt ?? null),
      })),
    awaitingApproval: inEnvironment
      .filter((c) => OPEN_STATUSES.has(c.status))
      .map((c) => ({
        ...line(c),
        missing:
          c.approval?.requirements
            .map((r) => ({ role: r.role, missing: r.count - (c.approval?.grants.filter((g) => g.role === r.role && !g.withdrawn).length ?? 0) }))
            .filter((r) => r.missing > 0) ?? [],
      })),
    deploying: inEnvironment.flatMap((c) => {
      const running = c.deployments.filter((d) => d.environment === environment && d.succeededAt === null && d.rollback === null && d.failedAt === null && d.abortedAt === null);
      return running.map((d) => ({ ...line(c), deploymentId: d.deploymentId, startedAt: new Date(d.startedAt).toISOString() }));
    }),
  };
}

export function environmentStateMarkdown(state: EnvironmentState): string {
  const when = 'position' in state.asOf ? `position ${state.asOf.position}` : state.asOf.at;
  const who = (l: StateChangeLine) => `${l.changeRequestId} (${l.service ?? '?'} ${l.version ?? '?'}, ${l.kind}, by ${l.author})`;
  return [
    `# ${state.environment} as of ${when}`,
    '',
    `Policy in force: ${state.policy === null ? 'none recorded' : `${state.policy.policyVersion} (activated ${state.policy.activatedAt}${state.policy.actor === null ? '' : ` by ${state.policy.actor}`})`}`,
    '',
    '## Running',
    ...(state.running.length === 0 ? ['- nothing recorded'] : state.running.map((r) => `- ${r.service} ${r.version} since ${r.since} (change ${r.changeRequestId})`)),
    '',
    '## Deploying',
    ...(state.deploying.length === 0 ? ['- none'] : state.deploying.map((d) => `- ${who(d)}, started ${d.startedAt}`)),
    '',
    '## Scheduled',
    ...(state.scheduled.length === 0 ? ['- none'] : state.scheduled.map((s) => `- ${who(s)} for ${s.scheduledFor}`)),
    '',
    '## Approved',
    ...(state.approved.length === 0 ? ['- none'] : state.approved.map((a) => `- ${who(a)}: ${a.approvers.map((g) => `${g.role} ${g.approver}`).join(', ') || 'no approval required'}${a.approvedAt === null ? '' : ` at ${a.approvedAt}`}`)),
    '',
    '## Awaiting approval',
    ...(state.awaitingApproval.length === 0 ? ['- none'] : state.awaitingApproval.map((a) => `- ${who(a)}${a.missing.length === 0 ? '' : `: missing ${a.missing.map((m) => `${m.missing} ${m.role}`).join(', ')}`}`)),
    '',
  ].join('\n');
}
