/**
 * Approvals: one approval request per change request (`approval-<changeRequestId>`, approvalId = the
 * change request's id). Requirements come from the environment policy when the change starts waiting
 * for approval; grants, rejections and revocations enforce separation of duties in the domain decider.
 * What the commands (commands.controller.ts) and reactions (reactions.controller.ts) share: streams, replies, requests.
 */
import { type ApprovalReply, type ChangeView, onCallRosterStream, type OnCallRosterReply } from '@gatehouse/contracts';
import {
  approvalDecider,
  type ApprovalEvent,
  type ApprovalState,
  carriesMigration,
  DomainError,
  computeRequiredApprovals,
  foldEvents,
  type InvalidateApprovals,
  onCallPeopleAt,
  onCallRosterDecider,
  type OnCallRosterEvent,
  type OnCallRosterState,
  outstandingApprovals,
  type RequestApprovals,
  UnknownEnvironmentError,
} from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { evaluateDeployment, type ApprovalMatrix, type EnvironmentPolicy, type PolicySet } from '@gatehouse/policy';

export const approvalStream = (changeRequestId: string): string => `approval-${changeRequestId}`;
/** Actor recorded on the events this service's process managers cause. */
export const PROCESS_MANAGER_ACTOR = 'approvals';
/** Durable consumer names of the process managers. */
export const APPROVALS_CONSUMERS = ['approvals-request-on-change', 'approvals-invalidate-on-release-revision'] as const;

export async function loadRoster(store: EventStore, role: string): Promise<OnCallRosterState> {
  const events = await store.readStream(onCallRosterStream(role));
  return foldEvents(onCallRosterDecider, events.map((e) => ({ type: e.type, data: e.data }) as OnCallRosterEvent));
}

export function rosterReply(role: string, state: OnCallRosterState, now: Date, events: string[], duplicate: boolean): OnCallRosterReply {
  return { role, streamId: onCallRosterStream(role), shifts: state.shifts, onCallNow: onCallPeopleAt(state, now), setBy: state.setBy, setAt: state.setAt, events, duplicate };
}

export function reply(changeRequestId: string, state: ApprovalState, events: string[], duplicate: boolean): ApprovalReply {
  return {
    approvalId: changeRequestId,
    streamId: approvalStream(changeRequestId),
    events,
    status: state.status,
    outstanding: outstandingApprovals(state),
    duplicate,
  };
}

export async function loadApproval(store: EventStore, approvalId: string): Promise<ApprovalState> {
  const events = await store.readStream(approvalStream(approvalId));
  return foldEvents(approvalDecider, events.map((e) => ({ type: e.type, data: e.data }) as ApprovalEvent));
}

/** Approvals this service requested for a release, up to a position in the log (scans only its own ApprovalsRequested events). */
export async function approvalsOfRelease(store: EventStore, releaseId: string, untilPosition: bigint): Promise<string[]> {
  const ids: string[] = [];
  for await (const event of store.readAll({ eventTypes: ['ApprovalsRequested'], untilPosition })) {
    if (!event.streamId.startsWith(approvalStream(''))) continue;
    const { approvalId, subject } = event.data as { approvalId: string; subject: { releaseId: string | null } };
    if (subject.releaseId === releaseId) ids.push(approvalId);
  }
  return ids;
}

/** The RequestApprovals command for a change awaiting approval, from the policy now active; a refusal is returned, not thrown. */
export function requestApprovalsFor(change: ChangeView, policySet: PolicySet, now: Date): RequestApprovals | DomainError {
  const environment = change.draft.environments[0] ?? '';
  // The environment may have left the policy since the change was submitted.
  const policy = policySet.environments[environment];
  if (policy === undefined) return new UnknownEnvironmentError(environment, Object.keys(policySet.environments).sort());
  return {
    type: 'RequestApprovals',
    data: {
      approvalId: change.changeRequestId,
      subject: { changeRequestId: change.changeRequestId, releaseId: change.release?.releaseId ?? null, environment, revision: change.release?.revision ?? 0 },
      author: change.draft.author,
      ...(change.draft.initiator === undefined ? {} : { initiator: change.draft.initiator }),
      kind: change.kind,
      // Every source counts: the draft's own word, a migration the release lists, or one CI reported for it since.
      includesMigration: carriesMigration({
        changeFlag: change.draft.includesMigration,
        releaseChanges: change.release?.changes ?? [],
        recordedMigrations: change.release?.migrations ?? [],
      }),
      emergencyOutsideWindows: change.kind === 'emergency' && bypassNeeded(policySet, policy, change, now),
      matrix: effectiveMatrix(policy),
      emergency: policy.emergency,
      policyVersion: policySet.policyVersion,
      now,
    },
  };
}

/** The requirements a new request would have now; undefined when they cannot be computed (the environment or its emergency path left the policy). */
export function recomputedRequirements(change: ChangeView, policySet: PolicySet, now: Date): InvalidateApprovals['data']['recomputed'] {
  const request = requestApprovalsFor(change, policySet, now);
  if (request instanceof DomainError) return undefined;
  const { subject, matrix, emergency, kind, includesMigration, emergencyOutsideWindows, policyVersion } = request.data;
  try {
    return { requirements: computeRequiredApprovals(subject.environment, matrix, emergency, { kind, includesMigration, emergencyOutsideWindows }), policyVersion };
  } catch (error) {
    if (error instanceof DomainError) return undefined;
    throw error;
  }
}

/** The policy's `requirements.migrationApproval` switches the matrix's migration approver on (as evaluateDeployment reads it). */
function effectiveMatrix(policy: EnvironmentPolicy): ApprovalMatrix {
  if (policy.requirements.migrationApproval) return policy.approvals;
  const { migrationApproval: _ignored, ...matrix } = policy.approvals;
  return matrix;
}

/** Would this emergency deploy outside the windows or in a blackout/freeze at its planned time (or now, if that passed)? */
function bypassNeeded(policySet: PolicySet, policy: EnvironmentPolicy, change: ChangeView, now: Date): boolean {
  const bypassRole = policy.emergency.windowBypassRole;
  if (bypassRole === undefined) return false;
  const planned = new Date(change.draft.schedule.planned);
  const at = planned.getTime() > now.getTime() ? planned : now;
  const decision = evaluateDeployment(policySet, { environment: policy.environment, at, changeType: 'emergency' });
  return decision.requiredApprovals.some((r) => r.role === bypassRole);
}
