import type { DeploymentEffect } from '@gatehouse/domain';
import type { EffectPort } from '@gatehouse/service-kit';
import type { DeploymentTarget } from './target.js';

/**
 * The deployment effects on a cluster, each checked before it is performed: a step is in place when the
 * cluster's rollout is that deployment's step; a rollback is in place when the version serves all traffic
 * and no rollout is left. So an effect resumed after a crash, or raced by a replica, changes nothing twice.
 */
export function clusterEffects(target: DeploymentTarget): EffectPort<DeploymentEffect> {
  return {
    async isDone(effect) {
      if (effect.kind === 'ApplyDeploymentStep') {
        const { rollout } = await target.status(effect.step);
        return rollout?.deploymentId === effect.step.deploymentId && rollout.stepIndex === effect.step.index;
      }
      const status = await target.status(effect.to);
      return status.rollout === undefined && status.stableVersion === effect.to.version;
    },
    async perform(effect) {
      if (effect.kind === 'ApplyDeploymentStep') await target.apply(effect.step);
      else await target.rollback(effect.to);
    },
  };
}
