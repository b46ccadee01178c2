import { commandMetrics, type ServiceDefinition } from '@gatehouse/service-kit';
import { registerCommands } from './commands.js';

import { startProcessManagers } from './process-managers.js';

/**
 * Releases and change requests: serves `changeRequests.*` commands on `release-<id>` and
 * `changeRequest-<id>` streams and moves changes along as scheduling, deployments, monitoring
 * and approvals report (see process-managers.ts).
 */
export const changeRequestsService: ServiceDefinition = {
  name: 'change-requests',
  async start(ctx) {
    const metrics = commandMetrics(ctx.metrics, 'change-requests');
    const unregister = await registerCommands(ctx, metrics);
    const consumer = await startProcessManagers(ctx, metrics);
    return {
      stop: async () => {
        await consumer.stop();
        await Promise.all(unregister.map((u) => u()));
      },
    };
  },
};
