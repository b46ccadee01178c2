import { commandMetrics, type ServiceDefinition, startTimerRunner } from '@gatehouse/service-kit';
import { registerCommands } from './commands.js';
import { registerFlagCommands } from './flag-commands.js';
import { registerReleasePlanCommands, releasePlanTimerTarget } from './release-plan-commands.js';
import { startReleaseCommunication } from './release-communication.js';
import { webhookNotifications } from './notification-webhook.js';
import { registerHotfixCommands } from './hotfix-commands.js';
import { hotfixTimerTarget, startHotfixLane } from './hotfix-process.js';

import { startProcessManagers } from './process-managers.js';
import { startValidationTimeouts, validationTimerTarget } from './validation-timeouts.js';

/**
 * Releases and change requests: serves `changeRequests.*` commands on `release-<id>` and
 * `changeRequest-<id>` streams and moves changes along as scheduling, deployments, monitoring
 * and approvals report (see process-managers.ts). The emergency hotfix lane: `hotfixes.*` commands
 * on `hotfix-<id>` streams, its reactions and deadlines (hotfix-commands.ts, hotfix-process.ts); the deadlines
 * of the lane, of release plans and of post-deployment validation are timers fired by the service's timer runner. Feature
 * flags: `flags.*` commands on `flag-<name>` streams (flag-commands.ts). Release plans: `releasePlans.*`
 * on `releasePlan-<releaseId>` streams and their deadlines (release-plan-commands.ts). Post-deployment
 * validation: check results and sign-offs (commands.ts) and its timeout timer (validation-timeouts.ts).
 */
export const changeRequestsService: ServiceDefinition = {
  name: 'change-requests',
  async start(ctx) {
    const metrics = commandMetrics(ctx.metrics, 'change-requests');
    const unregister = [...(await registerCommands(ctx, metrics)), ...(await registerHotfixCommands(ctx, metrics)), ...(await registerFlagCommands(ctx, metrics)), ...(await registerReleasePlanCommands(ctx, metrics))];
    const consumer = await startProcessManagers(ctx, metrics);
    const hotfixLane = await startHotfixLane(ctx, metrics);
    const validationTimeouts = await startValidationTimeouts(ctx);
    // The deadlines the hotfix lane, release plans and post-deployment validations arm, fired when the clock reaches them.
    const timers = await startTimerRunner({
      owner: ctx.name,
      store: ctx.store,
      events: ctx.events,
      clock: ctx.clock,
      targets: { hotfix: hotfixTimerTarget(ctx, metrics), releasePlan: releasePlanTimerTarget(ctx, metrics), changeRequest: validationTimerTarget(ctx, metrics) },
      ...(ctx.tickIntervalMs === undefined ? {} : { intervalMs: ctx.tickIntervalMs }),
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    // The communication plan goes out only where there is somewhere to send it.
    const webhook = process.env['GATEHOUSE_NOTIFICATION_WEBHOOK_URL'];
    const communication = webhook === undefined || webhook === '' ? undefined : await startReleaseCommunication(ctx, metrics, webhookNotifications(webhook));
    return {
      stop: async () => {
        await communication?.stop();
        await timers.stop();
        await validationTimeouts.stop();
        await hotfixLane.stop();
        await consumer.stop();
        await Promise.all(unregister.map((u) => u()));
      },
    };
  },
};
