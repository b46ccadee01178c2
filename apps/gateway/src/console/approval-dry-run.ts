import { onCallRosterStream } from '@gatehouse/contracts';
import {
  type ApprovalEvent,
  approvalDecider,
  decideApproval,
  DomainError,
  foldEvents,
  onCallAt,
  type OnCallRosterEvent,
  onCallRosterDecider,
  outstandingApprovals,
} from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import type { Role } from '@gatehouse/policy';
import type { Principal } from '../auth/jwt.js';

/** The approvals service keeps one approval stream per change request (apps/approvals approvalStream). */
const approvalStreamOf = (changeRequestId: string): string => `approval-${changeRequestId}`;

export interface ApprovalDryRun {
  changeRequestId: string;
  role: Role;
  /** True when the approvals decider would accept the grant now, on the facts stored now. */
  allowed: boolean;
  /** Why not, in the decider's words (own change, second role, not on call, role not required, ...). */
  reason: string | null;
  /** The refusal's error name, to switch on. */
  code: string | null;
  /** Roles still missing, and whether they must be on call. */
  outstanding: { role: string; missing: number; onCall: boolean }[];
}

/**
 * Runs the approvals service's own decision (domain `decideApproval`) on the approval and on-call
 * streams as stored, with the caller's verified identity, and writes nothing: the console explains a
 * refusal before the click. The service decides again when the grant is sent, so this is advice only.
 */
export async function approvalDryRun(store: EventStore, input: { changeRequestId: string; role: Role; principal: Principal; now: Date }): Promise<ApprovalDryRun> {
  const { changeRequestId, role, principal, now } = input;
  const approval = foldEvents(approvalDecider, (await store.readStream(approvalStreamOf(changeRequestId))).map((e) => ({ type: e.type, data: e.data }) as ApprovalEvent));
  const roster = foldEvents(onCallRosterDecider, (await store.readStream(onCallRosterStream(role))).map((e) => ({ type: e.type, data: e.data }) as OnCallRosterEvent));
  const outstanding = approval.status === 'not_requested' ? [] : outstandingApprovals(approval).map((o) => ({ role: o.role, missing: o.missing, onCall: o.onCall }));
  try {
    decideApproval(
      { type: 'GrantApproval', data: { approvalId: changeRequestId, approver: principal.sub, approverRoles: principal.roles, approverOnCall: onCallAt(roster, principal.sub, now), role, now } },
      approval,
    );
    return { changeRequestId, role, allowed: true, reason: null, code: null, outstanding };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { changeRequestId, role, allowed: false, reason: error.message, code: error.code, outstanding };
  }
}
