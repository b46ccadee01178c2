import { SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { type DynamicModule, Module } from '@nestjs/common';
import { MONITORING, MonitoringController } from './monitoring.controller.js';
import { type MonitoringServiceOptions, startMonitoring } from './monitoringService.js';

@Module({})
export class MonitoringModule {
  static with(options: MonitoringServiceOptions): DynamicModule {
    return {
      module: MonitoringModule,
      controllers: [MonitoringController],
      providers: [{ provide: MONITORING, useFactory: (ctx: ServiceContext) => startMonitoring(ctx, options), inject: [SERVICE_CONTEXT] }],
    };
  }
}
