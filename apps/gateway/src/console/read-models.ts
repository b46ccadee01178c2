import type { CommandSender } from '../lifecycle/command-sender.js';
import { PROJECTION_VIEWS } from '../lifecycle/lifecycle.controllers.js';

/** The projections' read models the console pages combine (shapes of apps/projections' views, as JSON). */
export interface RunningVersion {
  service: string;
  environment: string;
  version: string;
  changeRequestId: string;
  since: string;
  previous: string[];
}
export interface ScheduledDeployment {
  changeRequestId: string;
  releaseId: string | null;
  service: string;
  version: string;
  environment: string;
  changeType: string | null;
  strategy: string | null;
  scheduledFor: string;
  windowId: string | null;
  status: 'booked' | 'due' | 'started';
}
export interface ActiveDeployment {
  deploymentId: string;
  changeRequestId: string;
  service: string;
  version: string;
  environment: string;
  strategy: string | null;
  totalSteps: number;
  currentStep: number;
  currentStepName: string | null;
  trafficPercent: number;
  startedAt: string;
}
export interface ListedChange {
  changeRequestId: string;
  status: string;
  kind: string;
  title: string;
  environments: string[];
  service: string | null;
  version: string | null;
  updatedAt: string;
}

async function items<T>(sender: CommandSender, view: string, filter: object): Promise<T[]> {
  const reply = await sender.dispatch<{ items: T[] }>({ context: 'projections', command: 'query' }, { view, filter });
  return reply.items;
}

export const readModels = {
  versions: (sender: CommandSender, filter: { environment?: string } = {}) => items<RunningVersion>(sender, PROJECTION_VIEWS.versions, filter),
  schedule: (sender: CommandSender, filter: { environment?: string } = {}) => items<ScheduledDeployment>(sender, PROJECTION_VIEWS.schedule, filter),
  activeDeployments: (sender: CommandSender) => items<ActiveDeployment>(sender, PROJECTION_VIEWS.activeDeployments, {}),
  changes: (sender: CommandSender, filter: { environment?: string; status?: string } = {}) => items<ListedChange>(sender, PROJECTION_VIEWS.changeRequests, filter),
};
