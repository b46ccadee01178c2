import { DEPLOYMENTS_CONTEXT } from '@gatehouse/contracts';
import { nestService, type ServiceDefinition } from '@gatehouse/service-kit';
import { DeploymentsModule } from './deployments.module.js';
import type { DeploymentsServiceOptions } from './deploymentsService.js';

/**
 * The deployments service: `deployments.*` commands and its reactions in deployments.controller.ts
 * (`@MessagePattern`, `@EventPattern`), the runner, its cluster effects and its tick in deploymentsService.ts.
 */
export function createDeploymentsService(options: DeploymentsServiceOptions = {}): ServiceDefinition {
  return nestService(DEPLOYMENTS_CONTEXT, DeploymentsModule.with(options));
}

export const deploymentsService: ServiceDefinition = createDeploymentsService();
