import { DEPLOYMENT_START_TARGET } from '@gatehouse/domain';
import { createTimerRunner, SERVICE_CONTEXT, type ServiceContext, type TimerRunner } from '@gatehouse/service-kit';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { moveLegacyStartTimers, startTimerTarget } from './start-timers.js';

export const SCHEDULING_OPTIONS = 'SCHEDULING_OPTIONS';

export interface SchedulingServiceOptions {
  /** How often the timer runner looks at the clock. @defaultValue the host's tick interval, or DEFAULT_TIMER_INTERVAL_MS */
  timerPollIntervalMs?: number;
}

/**
 * The service's timer runner: records `TimerFired` for the bookings' start timers when the clock reaches them, from the
 * application's start (after moving an earlier version's `timer-<id>` timers over) to the module's destruction. Its
 * index is fed by the replay subscription of scheduling.controller.ts (`indexTimers`).
 */
@Injectable()
export class SchedulingTimers implements OnApplicationBootstrap, OnModuleDestroy {
  readonly runner: TimerRunner;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(SCHEDULING_OPTIONS) options: SchedulingServiceOptions,
  ) {
    const intervalMs = options.timerPollIntervalMs ?? ctx.tickIntervalMs;
    this.runner = createTimerRunner({
      owner: ctx.name,
      store: ctx.store,
      clock: ctx.clock,
      targets: { [DEPLOYMENT_START_TARGET]: startTimerTarget },
      ...(intervalMs === undefined ? {} : { intervalMs }),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await moveLegacyStartTimers(this.ctx);
    this.runner.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.runner.stop();
  }
}
