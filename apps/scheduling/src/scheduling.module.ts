import { SERVICE_CONTEXT, type ServiceContext, startTicker, type Ticker } from '@gatehouse/service-kit';
import { type DynamicModule, Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulingController } from './scheduling.controller.js';
import { fireDueTimers, SchedulingShell, schedulingMetrics, TIMER_POLL_INTERVAL_MS } from './schedulingService.js';

export interface SchedulingServiceOptions {
  /** @defaultValue TIMER_POLL_INTERVAL_MS, or the host's tick interval */
  timerPollIntervalMs?: number;
}

const SCHEDULING_OPTIONS = 'SCHEDULING_OPTIONS';

/** The timer loop: fires the shell's due timers from start to stop. */
@Injectable()
class DueTimerLoop implements OnApplicationBootstrap, OnModuleDestroy {
  private ticker: Ticker | undefined;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(SchedulingShell) private readonly shell: SchedulingShell,
    @Inject(SCHEDULING_OPTIONS) private readonly options: SchedulingServiceOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.ticker = startTicker(
      this.options.timerPollIntervalMs ?? this.ctx.tickIntervalMs ?? TIMER_POLL_INTERVAL_MS,
      () => fireDueTimers(this.ctx, this.shell.pendingTimers, this.shell.metrics.timersFired),
      (error) => this.ctx.logger.error({ error: String(error) }, 'timer loop failed'),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.ticker?.stop();
  }
}

@Module({})
export class SchedulingModule {
  static with(options: SchedulingServiceOptions): DynamicModule {
    return {
      module: SchedulingModule,
      controllers: [SchedulingController],
      providers: [
        { provide: SCHEDULING_OPTIONS, useFactory: () => options },
        { provide: SchedulingShell, useFactory: (ctx: ServiceContext) => new SchedulingShell(ctx, schedulingMetrics(ctx.metrics)), inject: [SERVICE_CONTEXT] },
        DueTimerLoop,
      ],
    };
  }
}
