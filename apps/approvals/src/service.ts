import { nestService, type ServiceDefinition } from '@gatehouse/service-kit';
import { ApprovalsModule } from './approvals.module.js';

/**
 * The approvals service: `approvals.*` commands in commands.controller.ts (`@MessagePattern`), its process
 * managers in reactions.controller.ts (`@EventPattern`, durable consumers), on the host's bus.
 */
export const approvalsService: ServiceDefinition = nestService('approvals', ApprovalsModule);
