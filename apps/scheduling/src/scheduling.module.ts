import { SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { type DynamicModule, Module } from '@nestjs/common';
import { SchedulingController } from './scheduling.controller.js';
import { SchedulingShell, schedulingMetrics } from './schedulingService.js';
import { SCHEDULING_OPTIONS, type SchedulingServiceOptions, SchedulingTimers } from './timers.provider.js';

export type { SchedulingServiceOptions } from './timers.provider.js';

@Module({})
export class SchedulingModule {
  static with(options: SchedulingServiceOptions): DynamicModule {
    return {
      module: SchedulingModule,
      controllers: [SchedulingController],
      providers: [
        { provide: SCHEDULING_OPTIONS, useFactory: () => options },
        { provide: SchedulingShell, useFactory: (ctx: ServiceContext) => new SchedulingShell(ctx, schedulingMetrics(ctx.metrics)), inject: [SERVICE_CONTEXT] },
        SchedulingTimers,
      ],
    };
  }
}
