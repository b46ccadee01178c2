import { createHash } from 'node:crypto';
import type { CommandDecider } from '@gatehouse/service-kit';

/** The target refused to start a deployment (cluster unknown, unreachable, workload missing): nothing was changed anywhere. */
export type KubernetesDeploymentRefused = {
  type: 'KubernetesDeploymentRefused';
  data: { deploymentId: string; changeRequestId: string; service: string; version: string; environment: string; reason: string; at: string };
};

/**
 * Command id of a refusal: one per due event and reason. Every replica replays the same DeploymentDue, and a
 * redelivery brings it again; they find the refusal already recorded under this id. A refusal for another
 * reason (the cluster's state changed since) is a new fact and is recorded.
 */
export const refusalCommandId = (dueEventId: string, reason: string): string => `${dueEventId}:refused:${createHash('sha256').update(reason).digest('hex').slice(0, 16)}`;

/** Records the refusal it is given; `handleCommand` makes that once per command id (append with the expected version). */
export const refusalRecorder: CommandDecider<KubernetesDeploymentRefused, KubernetesDeploymentRefused, null> = {
  decide: (refusal) => [refusal],
  evolve: () => null,
  initialState: () => null,
};
