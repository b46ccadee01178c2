import { commandMetrics, createTimerRunner, SERVICE_CONTEXT, type ServiceContext, type TimerRunner } from '@gatehouse/service-kit';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { hotfixTimerTarget } from './hotfix-process.js';
import { releasePlanTimerTarget } from './release-plan-commands.js';
import { validationTimerTarget } from './validation-timeouts.js';

/**
 * The service's timer runner: fires the deadlines the hotfix lane, release plans and post-deployment validations arm when the clock reaches
 * them, from the application's start to the module's destruction. Its index is fed by the replay subscription
 * of reactions.controller.ts (`indexTimers`).
 */
@Injectable()
export class ServiceTimers implements OnApplicationBootstrap, OnModuleDestroy {
  readonly runner: TimerRunner;

  constructor(@Inject(SERVICE_CONTEXT) ctx: ServiceContext) {
    const metrics = commandMetrics(ctx.metrics, ctx.name);
    this.runner = createTimerRunner({
      owner: ctx.name,
      store: ctx.store,
      clock: ctx.clock,
      targets: { hotfix: hotfixTimerTarget(ctx, metrics), releasePlan: releasePlanTimerTarget(ctx, metrics), changeRequest: validationTimerTarget(ctx, metrics) },
      ...(ctx.tickIntervalMs === undefined ? {} : { intervalMs: ctx.tickIntervalMs }),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
  }

  onApplicationBootstrap(): void {
    this.runner.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.runner.stop();
  }
}
