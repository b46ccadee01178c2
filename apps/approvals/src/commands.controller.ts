import { type CommandContext, requireCaller } from '@gatehouse/bus';
import {
  APPROVALS_CONTEXT,
  type ApprovalReply,
  CHANGE_REQUESTS_CONTEXT,
  type ChangeView,
  GetApprovalPayload,
  GetOnCallRosterPayload,
  GrantApprovalPayload,
  onCallRosterStream,
  type OnCallRosterReply,
  RejectApprovalPayload,
  RELEASE_PLANS_CONTEXT,
  type ReleasePlanView,
  RevokeApprovalPayload,
  SetOnCallRosterPayload,
} from '@gatehouse/contracts';
import { approvalDecider, type ApprovalCommand, ApprovalsNotOpenedYetError, checkReleasePlan, IllegalTransitionError, NotFoundError, onCallAt, onCallRosterDecider, parseOrThrow } from '@gatehouse/domain';
import { ROLES, type Role } from '@gatehouse/policy';
import { busCommand, type CommandMetrics, commandMetrics, CommandOutcomes, type CommandRpcContext, handleCommand, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject, UseInterceptors } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { approvalStream, loadApproval, loadRoster, reply, rosterReply } from './approvals.js';

/**
 * How long a grant or rejection waits for the approval request of a change that already awaits approval
 * (the reaction opening it is moments behind the change's own event), inside the caller's 5 s bus timeout.
 */
export const OPENING_WAIT_MS = 3_000;
/** First look again after 25 ms, doubling to at most 200 ms: about 18 stream reads if the request never opens. */
const openingPollMs = (attempt: number): number => Math.min(200, 25 * 2 ** attempt);

// Who approves, and in which roles, is the verified caller's (the gateway signed it from the JWT), never the payload's.
const approverOf = (meta: CommandContext) => {
  const caller = requireCaller(meta);
  return { approver: caller.subject, approverRoles: caller.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r)) };
};

/** `approvals.*` commands: each validates its payload, gathers the facts, and lets the decider answer. */
@Controller()
@UseInterceptors(CommandOutcomes)
export class ApprovalCommandsController {
  private readonly metrics: CommandMetrics;

  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {
    this.metrics = commandMetrics(ctx.metrics, ctx.name);
  }

  @MessagePattern(busCommand(APPROVALS_CONTEXT, 'grant'))
  async grant(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<ApprovalReply> {
    const p = parseOrThrow(GrantApprovalPayload, raw, `${APPROVALS_CONTEXT}.grant payload`);
    const { approver, approverRoles } = approverOf(rpc.getCommand());
    const { role, comment } = p;
    await this.refuseWhilePlanOpen(await this.changeOf(p.changeRequestId));
    const now = this.ctx.clock.now();
    // On call is what the roster Gatehouse keeps says at the moment of the approval, not what the approver says.
    const approverOnCall = onCallAt(await loadRoster(this.ctx.store, role), approver, now);
    return this.decideOnceOpened(p, approver, {
      type: 'GrantApproval',
      data: { approvalId: p.changeRequestId, approver, approverRoles, approverOnCall, role, ...(comment === undefined ? {} : { comment }), now },
    });
  }

  @MessagePattern(busCommand(APPROVALS_CONTEXT, 'reject'))
  reject(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<ApprovalReply> {
    const p = parseOrThrow(RejectApprovalPayload, raw, `${APPROVALS_CONTEXT}.reject payload`);
    const { approver, approverRoles } = approverOf(rpc.getCommand());
    return this.decideOnceOpened(p, approver, {
      type: 'RejectApproval',
      data: { approvalId: p.changeRequestId, approver, approverRoles, reason: p.reason, now: this.ctx.clock.now() },
    });
  }

  @MessagePattern(busCommand(APPROVALS_CONTEXT, 'revoke'))
  async revoke(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<ApprovalReply> {
    const p = parseOrThrow(RevokeApprovalPayload, raw, `${APPROVALS_CONTEXT}.revoke payload`);
    const { approver } = approverOf(rpc.getCommand());
    // Asked of the owner at the moment of the revocation: once the deployment started, the approver hears so now,
    // rather than being told yes while the withdrawal is refused later, out of sight, by change-requests.
    const { status, window } = await this.changeOf(p.changeRequestId);
    return this.decide(p, approver, { type: 'RevokeApproval', data: { approvalId: p.changeRequestId, approver, reason: p.reason, change: { status, window }, now: this.ctx.clock.now() } });
  }

  @MessagePattern(busCommand(APPROVALS_CONTEXT, 'get'))
  async get(@Payload() raw: unknown): Promise<ApprovalReply> {
    const p = parseOrThrow(GetApprovalPayload, raw, `${APPROVALS_CONTEXT}.get payload`);
    return reply(p.changeRequestId, await loadApproval(this.ctx.store, p.changeRequestId), [], false);
  }

  @MessagePattern(busCommand(APPROVALS_CONTEXT, 'setOnCallRoster'))
  async setOnCallRoster(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<OnCallRosterReply> {
    const p = parseOrThrow(SetOnCallRosterPayload, raw, `${APPROVALS_CONTEXT}.setOnCallRoster payload`);
    // Who sets the roster is the verified caller, like an approver: never a payload field.
    const { approver: setBy, approverRoles: setterRoles } = approverOf(rpc.getCommand());
    const now = this.ctx.clock.now();
    const result = await handleCommand({
      store: this.ctx.store,
      decider: onCallRosterDecider,
      streamId: onCallRosterStream(p.role),
      command: { type: 'SetOnCallRoster', data: { role: p.role, shifts: p.shifts, setBy, setterRoles, now } },
      commandId: p.commandId,
      metadata: { actor: setBy, correlationId: p.correlationId ?? p.commandId },
    });
    this.metrics.eventsAppended(result.events.map((e) => e.type));
    return rosterReply(p.role, result.state, now, result.decided.map((e) => e.type), result.duplicate);
  }

  @MessagePattern(busCommand(APPROVALS_CONTEXT, 'getOnCallRoster'))
  async getOnCallRoster(@Payload() raw: unknown): Promise<OnCallRosterReply> {
    const p = parseOrThrow(GetOnCallRosterPayload, raw, `${APPROVALS_CONTEXT}.getOnCallRoster payload`);
    return rosterReply(p.role, await loadRoster(this.ctx.store, p.role), this.ctx.clock.now(), [], false);
  }

  private async decide(p: { commandId: string; changeRequestId: string; correlationId?: string | undefined }, actor: string, command: ApprovalCommand): Promise<ApprovalReply> {
    const result = await handleCommand({
      store: this.ctx.store,
      decider: approvalDecider,
      streamId: approvalStream(p.changeRequestId),
      command,
      commandId: p.commandId,
      metadata: { actor, correlationId: p.correlationId ?? p.commandId },
    });
    this.metrics.eventsAppended(result.events.map((e) => e.type));
    return reply(p.changeRequestId, result.state, result.decided.map((e) => e.type), result.duplicate);
  }

  /**
   * A grant or rejection of a change that awaits approval, whose approval request this service has not opened yet
   * (its reaction to the change's event is moments behind): waits for it, bounded, rather than answer that the
   * approval does not exist. A change not awaiting approval is told so (409), naming its status.
   */
  private async decideOnceOpened(
    p: { commandId: string; changeRequestId: string; correlationId?: string | undefined },
    actor: string,
    command: ApprovalCommand,
  ): Promise<ApprovalReply> {
    try {
      return await this.decide(p, actor, command);
    } catch (error) {
      if (!(error instanceof NotFoundError) || error.aggregate !== 'approval') throw error;
      // Asked now, not reused from before the decision: the change may have moved on meanwhile.
      const { status } = await this.changeOf(p.changeRequestId);
      if (status !== 'awaiting_approval') throw new IllegalTransitionError('change request', command.type, status, ['awaiting_approval']);
      const deadline = Date.now() + OPENING_WAIT_MS;
      for (let attempt = 0; (await loadApproval(this.ctx.store, p.changeRequestId)).status === 'not_requested'; attempt++) {
        if (Date.now() >= deadline) throw new ApprovalsNotOpenedYetError(p.changeRequestId, OPENING_WAIT_MS);
        await new Promise((resolve) => setTimeout(resolve, openingPollMs(attempt)));
      }
      return this.decide(p, actor, command);
    }
  }

  private changeOf(changeRequestId: string): Promise<ChangeView> {
    return this.ctx.commands.send<ChangeView>(CHANGE_REQUESTS_CONTEXT, 'getChange', { changeRequestId });
  }

  /** The release plan's rule: no approval while a prerequisite of the change's release is pending or failed (its owner named). */
  private async refuseWhilePlanOpen({ changeRequestId, release }: ChangeView): Promise<void> {
    if (release === null) return;
    const plan = await this.ctx.commands.send<ReleasePlanView>(RELEASE_PLANS_CONTEXT, 'getReleasePlan', { releaseId: release.releaseId });
    const refusal = checkReleasePlan(release.releaseId, plan.prerequisites, `approving change ${changeRequestId}`);
    if (refusal !== null) throw refusal;
  }
}
