import { SCHEDULING_CONTEXT } from '@gatehouse/contracts';
import { nestService, type ServiceDefinition } from '@gatehouse/service-kit';
import { SchedulingModule, type SchedulingServiceOptions } from './scheduling.module.js';

/**
 * The scheduling service: `scheduling.*` commands and the planner's reactions in scheduling.controller.ts
 * (`@MessagePattern`, `@EventPattern`), the start timers' workflow and timer runner in start-timers.ts and timers.provider.ts, the shell they share in
 * schedulingService.ts.
 */
export function createSchedulingService(options: SchedulingServiceOptions = {}): ServiceDefinition {
  return nestService(SCHEDULING_CONTEXT, SchedulingModule.with(options));
}

export const schedulingService: ServiceDefinition = createSchedulingService();
