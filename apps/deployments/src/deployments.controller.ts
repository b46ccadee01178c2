import { DEPLOYMENTS_CONTEXT, type DeploymentCommandResult } from '@gatehouse/contracts';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, busConsumer, busEvents, type CommandRpcContext } from '@gatehouse/service-kit';
import { Controller, Inject, type OnModuleDestroy } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import type { Deployments } from './deploymentsService.js';

export const DEPLOYMENTS = 'DEPLOYMENTS';

/** `deployments.*` commands and the runner's reactions, handed to the deployments runtime (deploymentsService.ts). */
@Controller()
export class DeploymentsController implements OnModuleDestroy {
  constructor(@Inject(DEPLOYMENTS) private readonly deployments: Deployments) {}

  @MessagePattern(busCommand(DEPLOYMENTS_CONTEXT, 'abort'))
  abort(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<DeploymentCommandResult> {
    return this.deployments.abort(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(DEPLOYMENTS_CONTEXT, 'promote'))
  promote(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<DeploymentCommandResult> {
    return this.deployments.promote(raw, rpc.getCommand());
  }

  @MessagePattern(busCommand(DEPLOYMENTS_CONTEXT, 'rollback'))
  rollback(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<DeploymentCommandResult> {
    return this.deployments.rollback(raw, rpc.getCommand());
  }

  /**
   * Replayed from the start at every start, with no durable state: the set of deployments with work left is
   * rebuilt; every replica replays it, and the claims in the store keep them from doing anything twice.
   */
  @EventPattern(
    busConsumer('deployments-runner'),
    busEvents({
      replay: true,
      categories: ['schedule', 'deployment'],
      eventTypes: ['DeploymentDue', 'DeploymentStarted', 'DeploymentRollbackRequested', 'DeploymentSucceeded', 'DeploymentFailed', 'DeploymentAborted', 'DeploymentRolledBack'],
    }),
  )
  onRunnerEvent(@Payload() event: StoredEvent): Promise<void> {
    return this.deployments.onRunnerEvent(event);
  }

  /** Durable: a firing must survive a restart; its command id (from the firing event) makes redelivery harmless. */
  @EventPattern(busConsumer('deployments-rollback-on-trigger'), busEvents({ categories: ['watch'], eventTypes: ['RollbackTriggerFired', 'PostDeploymentWatchAborted'] }))
  onRollbackTrigger(@Payload() event: StoredEvent): Promise<void> {
    return this.deployments.onRollbackTrigger(event);
  }

  onModuleDestroy(): Promise<void> {
    return this.deployments.stop();
  }
}
