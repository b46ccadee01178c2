import { nestService, type RunningService, type ServiceDefinition } from '@gatehouse/service-kit';
import { ChangeRequestsModule } from './change-requests.module.js';

/**
 * Releases and change requests: serves `changeRequests.*` commands on `release-<id>` and
 * `changeRequest-<id>` streams and moves changes along as scheduling, deployments, monitoring
 * and approvals report (process-managers.ts). The emergency hotfix lane: `hotfixes.*` commands
 * on `hotfix-<id>` streams, its reactions and deadlines (hotfix-commands.ts, hotfix-process.ts); the deadlines
 * of the lane, of release plans and of post-deployment validation are timers fired by the service's timer runner. Feature
 * flags: `flags.*` commands on `flag-<name>` streams (flag-commands.ts). Release plans: `releasePlans.*`
 * on `releasePlan-<releaseId>` streams and their deadlines (release-plan-commands.ts). Post-deployment
 * validation: check results and sign-offs (commands.ts) and its timeout timer (validation-timeouts.ts).
 * Declared in Nest controllers: every command's `@MessagePattern` in commands.controller.ts, the reactions'
 * `@EventPattern`s in reactions.controller.ts and communication.controller.ts; the timer runner is a provider
 * of change-requests.module.ts.
 */
export const changeRequestsService: ServiceDefinition = {
  name: 'change-requests',
  // GATEHOUSE_NOTIFICATION_WEBHOOK_URL is read at each start, as before (tests set it per run).
  start: (ctx): Promise<RunningService> => nestService('change-requests', ChangeRequestsModule.with({ notificationWebhookUrl: process.env['GATEHOUSE_NOTIFICATION_WEBHOOK_URL'] })).start(ctx),
};
