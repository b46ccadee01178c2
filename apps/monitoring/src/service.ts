import { MONITORING_CONTEXT } from '@gatehouse/contracts';
import { nestService, type ServiceDefinition } from '@gatehouse/service-kit';
import { MonitoringModule } from './monitoring.module.js';
import type { MonitoringServiceOptions } from './monitoringService.js';

/**
 * The monitoring service: `monitoring.*` commands and its reactions in monitoring.controller.ts
 * (`@MessagePattern`, `@EventPattern`), the watch runtime and its timers in monitoringService.ts.
 */
export function createMonitoringService(options: MonitoringServiceOptions = {}): ServiceDefinition {
  return nestService(MONITORING_CONTEXT, MonitoringModule.with(options));
}

export const monitoringService: ServiceDefinition = createMonitoringService();
