import { SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { type DynamicModule, Module } from '@nestjs/common';
import { DEPLOYMENTS, DeploymentsController } from './deployments.controller.js';
import { type DeploymentsServiceOptions, startDeployments } from './deploymentsService.js';

@Module({})
export class DeploymentsModule {
  static with(options: DeploymentsServiceOptions): DynamicModule {
    return {
      module: DeploymentsModule,
      controllers: [DeploymentsController],
      providers: [{ provide: DEPLOYMENTS, useFactory: (ctx: ServiceContext) => startDeployments(ctx, options), inject: [SERVICE_CONTEXT] }],
    };
  }
}
