/**
 * Approvals: one approval request per change request (`approval-<changeRequestId>`, approvalId = the
 * change request's id). Requirements come from the environment policy when the change starts waiting
 * for approval; grants, rejections and revocations enforce separation of duties in the domain decider.
 */
import { type CommandContext, type EventConsumer, requireCaller } from '@gatehouse/bus';
import {
  APPROVALS_CONTEXT,
  type ApprovalReply,
  CHANGE_REQUESTS_CONTEXT,
  ChangeRequestEventSchemas,
  type ChangeView,
  GetApprovalPayload,
  GetOnCallRosterPayload,
  GrantApprovalPayload,
  onCallRosterStream,
  type OnCallRosterReply,
  SetOnCallRosterPayload,
  RejectApprovalPayload,
  ReleaseEventSchemas,
  RELEASE_PLANS_CONTEXT,
  type ReleasePlanView,
  RevokeApprovalPayload,
} from '@gatehouse/contracts';
import {
  approvalDecider,
  type ApprovalCommand,
  type ApprovalEvent,
  type ApprovalState,
  carriesMigration,
  checkReleasePlan,
  DomainError,
  computeRequiredApprovals,
  foldEvents,
  type InvalidateApprovals,
  invalidationFor,
  onCallAt,
  onCallPeopleAt,
  onCallRosterDecider,
  type OnCallRosterEvent,
  type OnCallRosterState,
  outstandingApprovals,
  parseOrThrow,
  type ReleaseApprovalsInvalidated,
  type RequestApprovals,
  UnknownEnvironmentError,
} from '@gatehouse/domain';
import type { EventMetadata, EventStore, StoredEvent } from '@gatehouse/eventstore';
import { evaluateDeployment, type ApprovalMatrix, type EnvironmentPolicy, type PolicySet, ROLES, type Role } from '@gatehouse/policy';
import { type CommandMetrics, commandMetrics, handleCommand, registerCountedCommands, type ServiceContext, type ServiceDefinition } from '@gatehouse/service-kit';


export const approvalStream = (changeRequestId: string): string => `approval-${changeRequestId}`;
/** Actor recorded on the events this service's process managers cause. */
export const PROCESS_MANAGER_ACTOR = 'approvals';
/** Durable consumer names of the process managers. */
export const APPROVALS_CONSUMERS = ['approvals-request-on-change', 'approvals-invalidate-on-release-revision'] as const;

export const approvalsService: ServiceDefinition = {
  name: 'approvals',
  async start(ctx) {
    const metrics = commandMetrics(ctx.metrics, 'approvals');
    const unregister = await registerCommands(ctx, metrics);
    const consumers = await startProcessManagers(ctx, metrics);
    return {
      stop: async () => {
        for (const consumer of consumers) await consumer.stop();
        await Promise.all(unregister.map((u) => u()));
      },
    };
  },
};

// ---------------------------------------------------------------- commands

async function registerCommands(ctx: ServiceContext, metrics: CommandMetrics): Promise<Array<() => Promise<void>>> {
  const { store, clock, commands } = ctx;

  async function decide(p: { commandId: string; changeRequestId: string; correlationId?: string | undefined }, actor: string, command: ApprovalCommand): Promise<ApprovalReply> {
    const streamId = approvalStream(p.changeRequestId);
    const result = await handleCommand({ store, decider: approvalDecider, streamId, command, commandId: p.commandId, metadata: { actor, correlationId: p.correlationId ?? p.commandId } });
    metrics.eventsAppended(result.events.map((e) => e.type));
    return reply(p.changeRequestId, result.state, result.decided.map((e) => e.type), result.duplicate);
  }

  /** The release plan's rule: no approval while a prerequisite of the change's release is pending or failed (its owner named). */
  async function refuseWhilePlanOpen(changeRequestId: string): Promise<void> {
    const { release } = await commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId });
    if (release === null) return;
    const plan = await commands.send<ReleasePlanView>(RELEASE_PLANS_CONTEXT, 'getReleasePlan', { releaseId: release.releaseId });
    const refusal = checkReleasePlan(release.releaseId, plan.prerequisites, `approving change ${changeRequestId}`);
    if (refusal !== null) throw refusal;
  }

  // Who approves, and in which roles, is the verified caller's (the gateway signed it from the JWT), never the payload's.
  const approverOf = (meta: CommandContext) => {
    const caller = requireCaller(meta);
    return { approver: caller.subject, approverRoles: caller.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r)) };
  };
  const handlers: Record<string, (payload: unknown, meta: CommandContext) => Promise<ApprovalReply>> = {
    grant: async (raw, meta) => {
      const p = parseOrThrow(GrantApprovalPayload, raw, `${APPROVALS_CONTEXT}.grant payload`);
      const { approver, approverRoles } = approverOf(meta);
      const { role, comment } = p;
      await refuseWhilePlanOpen(p.changeRequestId);
      const now = clock.now();
      // On call is what the roster Gatehouse keeps says at the moment of the approval, not what the approver says.
      const approverOnCall = onCallAt(await loadRoster(store, role), approver, now);
      return decide(p, approver, {
        type: 'GrantApproval',
        data: { approvalId: p.changeRequestId, approver, approverRoles, approverOnCall, role, ...(comment === undefined ? {} : { comment }), now },
      });
    },
    reject: async (raw, meta) => {
      const p = parseOrThrow(RejectApprovalPayload, raw, `${APPROVALS_CONTEXT}.reject payload`);
      const { approver, approverRoles } = approverOf(meta);
      return decide(p, approver, { type: 'RejectApproval', data: { approvalId: p.changeRequestId, approver, approverRoles, reason: p.reason, now: clock.now() } });
    },
    revoke: async (raw, meta) => {
      const p = parseOrThrow(RevokeApprovalPayload, raw, `${APPROVALS_CONTEXT}.revoke payload`);
      const { approver } = approverOf(meta);
      // Asked of the owner at the moment of the revocation: once the deployment started, the approver hears so now,
      // rather than being told yes while the withdrawal is refused later, out of sight, by change-requests.
      const { status, window } = await commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId: p.changeRequestId });
      return decide(p, approver, { type: 'RevokeApproval', data: { approvalId: p.changeRequestId, approver, reason: p.reason, change: { status, window }, now: clock.now() } });
    },
    get: async (raw) => {
      const p = parseOrThrow(GetApprovalPayload, raw, `${APPROVALS_CONTEXT}.get payload`);
      return reply(p.changeRequestId, await loadApproval(store, p.changeRequestId), [], false);
    },
  };

  const rosterHandlers: Record<string, (payload: unknown, meta: CommandContext) => Promise<OnCallRosterReply>> = {
    setOnCallRoster: async (raw, meta) => {
      const p = parseOrThrow(SetOnCallRosterPayload, raw, `${APPROVALS_CONTEXT}.setOnCallRoster payload`);
      // Who sets the roster is the verified caller, like an approver: never a payload field.
      const { approver: setBy, approverRoles: setterRoles } = approverOf(meta);
      const now = clock.now();
      const streamId = onCallRosterStream(p.role);
      const result = await handleCommand({
        store,
        decider: onCallRosterDecider,
        streamId,
        command: { type: 'SetOnCallRoster', data: { role: p.role, shifts: p.shifts, setBy, setterRoles, now } },
        commandId: p.commandId,
        metadata: { actor: setBy, correlationId: p.correlationId ?? p.commandId },
      });
      metrics.eventsAppended(result.events.map((e) => e.type));
      return rosterReply(p.role, result.state, now, result.decided.map((e) => e.type), result.duplicate);
    },
    getOnCallRoster: async (raw) => {
      const p = parseOrThrow(GetOnCallRosterPayload, raw, `${APPROVALS_CONTEXT}.getOnCallRoster payload`);
      return rosterReply(p.role, await loadRoster(store, p.role), clock.now(), [], false);
    },
  };

  return registerCountedCommands(ctx.commands, APPROVALS_CONTEXT, { ...handlers, ...rosterHandlers }, metrics);
}

async function loadRoster(store: EventStore, role: string): Promise<OnCallRosterState> {
  const events = await store.readStream(onCallRosterStream(role));
  return foldEvents(onCallRosterDecider, events.map((e) => ({ type: e.type, data: e.data }) as OnCallRosterEvent));
}

function rosterReply(role: string, state: OnCallRosterState, now: Date, events: string[], duplicate: boolean): OnCallRosterReply {
  return { role, streamId: onCallRosterStream(role), shifts: state.shifts, onCallNow: onCallPeopleAt(state, now), setBy: state.setBy, setAt: state.setAt, events, duplicate };
}

function reply(changeRequestId: string, state: ApprovalState, events: string[], duplicate: boolean): ApprovalReply {
  return {
    approvalId: changeRequestId,
    streamId: approvalStream(changeRequestId),
    events,
    status: state.status,
    outstanding: outstandingApprovals(state),
    duplicate,
  };
}

// ---------------------------------------------------------------- process managers

const RequestTriggerSchemas = {
  ChangeRequestSubmitted: ChangeRequestEventSchemas.ChangeRequestSubmitted,
  ChangeReviewCompleted: ChangeRequestEventSchemas.ChangeReviewCompleted,
} as const;

async function startProcessManagers(ctx: ServiceContext, metrics: CommandMetrics): Promise<EventConsumer[]> {
  const { store, clock, logger, commands } = ctx;

  async function run(event: StoredEvent, changeRequestId: string, command: ApprovalCommand, policyVersion?: string): Promise<void> {
    const metadata: EventMetadata = {
      actor: PROCESS_MANAGER_ACTOR,
      correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : event.id,
      ...(policyVersion === undefined ? {} : { policyVersion }),
    };
    try {
      const result = await handleCommand({ store, decider: approvalDecider, streamId: approvalStream(changeRequestId), command, commandId: `${event.id}:${command.type}`, metadata });
      metrics.eventsAppended(result.events.map((e) => e.type));
    } catch (error) {
      // A refusal will not change on redelivery: record it and move on; anything else is retried.
      if (!(error instanceof DomainError)) throw error;
      logger.warn({ err: error.message, code: error.code, eventId: event.id, eventType: event.type, command: command.type, changeRequestId }, 'process manager command refused');
    }
  }

  // A change waits for approvals from submission when it is an emergency (no review stage), otherwise once its review completes.
  const requests = await ctx.events.consume({
    name: APPROVALS_CONSUMERS[0],
    categories: ['changeRequest'],
    eventTypes: Object.keys(RequestTriggerSchemas),
    dataSchemas: RequestTriggerSchemas,
    handler: async ({ event }) => {
      if (event.type === 'ChangeRequestSubmitted' && (event.data as { kind: string }).kind !== 'emergency') return;
      const changeRequestId = (event.data as { changeRequestId: string }).changeRequestId;
      // Ask the owner for the change and its release rather than reading its streams.
      const change = await commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId });
      if (change.status !== 'awaiting_approval') return;
      const policySet = ctx.policies.current;
      const request = requestApprovalsFor(change, policySet, clock.now());
      if (request instanceof DomainError) {
        logger.warn({ err: request.message, code: request.code, changeRequestId }, 'approvals not requested');
        return;
      }
      await run(event, changeRequestId, request, policySet.policyVersion);
    },
  });

  const invalidations = await ctx.events.consume({
    name: APPROVALS_CONSUMERS[1],
    categories: ['release'],
    eventTypes: ['ReleaseApprovalsInvalidated'],
    dataSchemas: { ReleaseApprovalsInvalidated: ReleaseEventSchemas.ReleaseApprovalsInvalidated },
    handler: async ({ event }) => {
      const invalidated = { type: 'ReleaseApprovalsInvalidated', data: event.data } as ReleaseApprovalsInvalidated;
      const now = clock.now();
      // The approval that approved the release (domain glue) and every other open approval collected for it.
      const approvalIds = new Set(await approvalsOfRelease(store, invalidated.data.releaseId, event.globalPosition));
      if (invalidated.data.approvalId !== null) approvalIds.add(invalidated.data.approvalId);
      for (const approvalId of approvalIds) {
        const state = await loadApproval(store, approvalId);
        if (state.status !== 'pending' && state.status !== 'approved') continue;
        if (state.subject.revision >= invalidated.data.revision) continue;
        // The approvals are collected again for the release as it now is: a migration added to it needs the DBA.
        const change = await commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId: approvalId });
        const policySet = ctx.policies.current;
        const command = invalidationFor({ ...invalidated, data: { ...invalidated.data, approvalId } }, now, recomputedRequirements(change, policySet, now));
        if (command !== null) await run(event, approvalId, command, policySet.policyVersion);
      }
    },
  });

  return [requests, invalidations];
}

async function loadApproval(store: EventStore, approvalId: string): Promise<ApprovalState> {
  const events = await store.readStream(approvalStream(approvalId));
  return foldEvents(approvalDecider, events.map((e) => ({ type: e.type, data: e.data }) as ApprovalEvent));
}

/** Approvals this service requested for a release, up to a position in the log (scans only its own ApprovalsRequested events). */
async function approvalsOfRelease(store: EventStore, releaseId: string, untilPosition: bigint): Promise<string[]> {
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
function recomputedRequirements(change: ChangeView, policySet: PolicySet, now: Date): InvalidateApprovals['data']['recomputed'] {
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
