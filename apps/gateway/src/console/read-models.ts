import type { ActiveDeploymentView, ChangeRequestView, RunningVersionView, ScheduledDeploymentView } from '@gatehouse/contracts';
import type { CommandSender } from '../lifecycle/command-sender.js';
import { PROJECTION_VIEWS } from '../lifecycle/lifecycle.controllers.js';

/** The projections' read models the console pages combine; their item shapes are the projections' contract. */
async function items<T>(sender: CommandSender, view: string, filter: object): Promise<T[]> {
  const reply = await sender.dispatch<{ items: T[] }>({ context: 'projections', command: 'query' }, { view, filter });
  return reply.items;
}

export const readModels = {
  versions: (sender: CommandSender, filter: { environment?: string } = {}) => items<RunningVersionView>(sender, PROJECTION_VIEWS.versions, filter),
  schedule: (sender: CommandSender, filter: { environment?: string } = {}) => items<ScheduledDeploymentView>(sender, PROJECTION_VIEWS.schedule, filter),
  activeDeployments: (sender: CommandSender) => items<ActiveDeploymentView>(sender, PROJECTION_VIEWS.activeDeployments, {}),
  changes: (sender: CommandSender, filter: { environment?: string; status?: string } = {}) => items<ChangeRequestView>(sender, PROJECTION_VIEWS.changeRequests, filter),
};
