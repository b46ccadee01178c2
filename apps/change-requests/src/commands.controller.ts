import { CHANGE_REQUESTS_CONTEXT, FLAGS_CONTEXT, HOTFIXES_CONTEXT, RELEASE_PLANS_CONTEXT } from '@gatehouse/contracts';
import { busCommand, commandMetrics, CommandOutcomes, type CommandRpcContext, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject, UseInterceptors } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { changeRequestCommands } from './commands.js';
import { flagCommands } from './flag-commands.js';
import { hotfixCommands } from './hotfix-commands.js';
import { releasePlanCommands } from './release-plan-commands.js';

// Each method hands the command to its handler (commands.ts, hotfix-commands.ts, flag-commands.ts,
// release-plan-commands.ts): those validate the payload, gather the facts and let the decider answer.

/** changeRequests.* (releases, change requests, testing gates) */
@Controller()
@UseInterceptors(CommandOutcomes)
export class ChangeRequestCommandsController {
  private readonly handle: ReturnType<typeof changeRequestCommands>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    this.handle = changeRequestCommands(ctx, commandMetrics(ctx.metrics, ctx.name));
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'createRelease'))
  createRelease(@Payload() raw: unknown) {
    return this.handle.createRelease(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'reviseRelease'))
  reviseRelease(@Payload() raw: unknown) {
    return this.handle.reviseRelease(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'recordMigration'))
  recordMigration(@Payload() raw: unknown) {
    return this.handle.recordMigration(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'submitChange'))
  submitChange(@Payload() raw: unknown) {
    return this.handle.submitChange(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'startReview'))
  startReview(@Payload() raw: unknown) {
    return this.handle.startReview(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'completeReview'))
  completeReview(@Payload() raw: unknown) {
    return this.handle.completeReview(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'rejectChange'))
  rejectChange(@Payload() raw: unknown) {
    return this.handle.rejectChange(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'cancelChange'))
  cancelChange(@Payload() raw: unknown) {
    return this.handle.cancelChange(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'closeChange'))
  closeChange(@Payload() raw: unknown) {
    return this.handle.closeChange(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'recordValidationCheck'))
  recordValidationCheck(@Payload() raw: unknown) {
    return this.handle.recordValidationCheck(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'signOffValidation'))
  signOffValidation(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.signOffValidation(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'recordGateResult'))
  recordGateResult(@Payload() raw: unknown) {
    return this.handle.recordGateResult(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'overrideGate'))
  overrideGate(@Payload() raw: unknown) {
    return this.handle.overrideGate(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'getChange'))
  getChange(@Payload() raw: unknown) {
    return this.handle.getChange(raw);
  }

  @MessagePattern(busCommand(CHANGE_REQUESTS_CONTEXT, 'getRelease'))
  getRelease(@Payload() raw: unknown) {
    return this.handle.getRelease(raw);
  }
}

/** hotfixes.* (the emergency hotfix lane) */
@Controller()
@UseInterceptors(CommandOutcomes)
export class HotfixCommandsController {
  private readonly handle: ReturnType<typeof hotfixCommands>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    this.handle = hotfixCommands(ctx, commandMetrics(ctx.metrics, ctx.name));
  }

  @MessagePattern(busCommand(HOTFIXES_CONTEXT, 'identifyIncident'))
  identifyIncident(@Payload() raw: unknown) {
    return this.handle.identifyIncident(raw);
  }

  @MessagePattern(busCommand(HOTFIXES_CONTEXT, 'createHotfixBranch'))
  createHotfixBranch(@Payload() raw: unknown) {
    return this.handle.createHotfixBranch(raw);
  }

  @MessagePattern(busCommand(HOTFIXES_CONTEXT, 'startStagingValidation'))
  startStagingValidation(@Payload() raw: unknown) {
    return this.handle.startStagingValidation(raw);
  }

  @MessagePattern(busCommand(HOTFIXES_CONTEXT, 'completeStagingValidation'))
  completeStagingValidation(@Payload() raw: unknown) {
    return this.handle.completeStagingValidation(raw);
  }

  @MessagePattern(busCommand(HOTFIXES_CONTEXT, 'completePostIncidentReview'))
  completePostIncidentReview(@Payload() raw: unknown) {
    return this.handle.completePostIncidentReview(raw);
  }

  @MessagePattern(busCommand(HOTFIXES_CONTEXT, 'getHotfix'))
  getHotfix(@Payload() raw: unknown) {
    return this.handle.getHotfix(raw);
  }
}

/** flags.* (feature flags) */
@Controller()
@UseInterceptors(CommandOutcomes)
export class FlagCommandsController {
  private readonly handle: ReturnType<typeof flagCommands>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    this.handle = flagCommands(ctx, commandMetrics(ctx.metrics, ctx.name));
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'changeFlag'))
  changeFlag(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.changeFlag(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'getFlag'))
  getFlag(@Payload() raw: unknown) {
    return this.handle.getFlag(raw);
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'listFlags'))
  listFlags(@Payload() raw: unknown) {
    return this.handle.listFlags(raw);
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'evaluateFlag'))
  evaluateFlag(@Payload() raw: unknown) {
    return this.handle.evaluateFlag(raw);
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'flagsOfService'))
  flagsOfService(@Payload() raw: unknown) {
    return this.handle.flagsOfService(raw);
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'rampFlags'))
  rampFlags(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.rampFlags(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(FLAGS_CONTEXT, 'turnOffFlags'))
  turnOffFlags(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.turnOffFlags(raw, rpc.getCommand());
  }
}

/** releasePlans.* (prerequisites and the communication plan) */
@Controller()
@UseInterceptors(CommandOutcomes)
export class ReleasePlanCommandsController {
  private readonly handle: ReturnType<typeof releasePlanCommands>;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    this.handle = releasePlanCommands(ctx, commandMetrics(ctx.metrics, ctx.name));
  }

  @MessagePattern(busCommand(RELEASE_PLANS_CONTEXT, 'addPrerequisite'))
  addPrerequisite(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.addPrerequisite(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(RELEASE_PLANS_CONTEXT, 'setPrerequisiteStatus'))
  setPrerequisiteStatus(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.setPrerequisiteStatus(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(RELEASE_PLANS_CONTEXT, 'setCommunicationPlan'))
  setCommunicationPlan(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext) {
    return this.handle.setCommunicationPlan(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(RELEASE_PLANS_CONTEXT, 'getReleasePlan'))
  getReleasePlan(@Payload() raw: unknown) {
    return this.handle.getReleasePlan(raw);
  }
}
