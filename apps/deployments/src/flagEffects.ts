import { type CommandBus, CommandFailedError } from '@gatehouse/bus';
import { FLAGS_CONTEXT, type FlagView, type RampFlagsPayload, type TurnOffFlagsPayload } from '@gatehouse/contracts';
import type { DeploymentEffect } from '@gatehouse/domain';
import type { DeploymentStrategy } from '@gatehouse/policy';
import { type EffectPort, PermanentEffectError } from '@gatehouse/service-kit';

/** The flags service as a feature-flag deployment uses it (change-requests serves `flags.*`). */
export interface FlagsPort {
  flagsOf(service: string, environment: string): Promise<FlagView[]>;
  ramp(payload: RampFlagsPayload): Promise<void>;
  turnOff(payload: TurnOffFlagsPayload): Promise<void>;
}

/** Refusals of the flags service that every retry would meet again (libs/domain `NoFlagBoundError`). */
const PERMANENT_FLAG_REFUSALS: ReadonlySet<string> = new Set(['NO_FLAG_BOUND']);

export function busFlagsPort(commands: CommandBus): FlagsPort {
  return {
    flagsOf: async (service, environment) => (await commands.send<{ flags: FlagView[] }>(FLAGS_CONTEXT, 'flagsOfService', { service, environment })).flags,
    ramp: async (payload) => {
      try {
        await commands.send(FLAGS_CONTEXT, 'rampFlags', payload);
      } catch (error) {
        // No flag bound to the service: the deployment fails now rather than ramping nothing on every lease.
        if (error instanceof CommandFailedError && PERMANENT_FLAG_REFUSALS.has(String((error.details as { code?: unknown } | undefined)?.code))) {
          throw new PermanentEffectError(error.remoteMessage, { cause: error });
        }
        throw error;
      }
    },
    turnOff: async (payload) => void (await commands.send(FLAGS_CONTEXT, 'turnOffFlags', payload)),
  };
}

/**
 * A feature-flag deployment's effects: each plan step's intent (recorded by the deployment decider) is performed
 * on the cluster (the code ships dark) and then on the flags bound to the service, set to the step's percentage;
 * a rollback restores the cluster and turns off the flags this deployment ramped. Both check the flags first, so
 * a resumed or raced intent changes nothing twice. Deployments of any other strategy go to the cluster only.
 */
export function featureFlagEffects(cluster: EffectPort<DeploymentEffect>, strategyOf: (changeRequestId: string) => Promise<DeploymentStrategy | null>, flags: FlagsPort): EffectPort<DeploymentEffect> {
  const isFeatureFlag = async (effect: DeploymentEffect) => (await strategyOf(effect.changeRequestId)) === 'feature-flag';
  const flagsDone = async (effect: DeploymentEffect): Promise<boolean> => {
    if (effect.kind === 'ApplyDeploymentStep') {
      const { service, environment, deploymentId, index } = effect.step;
      const bound = await flags.flagsOf(service, environment);
      // No flag bound: not done, so the ramp is attempted; its refusal (naming the service) fails the deployment.
      return bound.length > 0 && bound.every((f) => f.environments[environment]?.ramp?.deploymentId === deploymentId && f.environments[environment]?.ramp?.stepIndex === index);
    }
    const { service, environment, deploymentId } = effect.to;
    const bound = await flags.flagsOf(service, environment);
    return bound.every((f) => f.environments[environment]?.ramp?.deploymentId !== deploymentId || f.environments[environment]?.enabled === false);
  };
  return {
    async isDone(effect) {
      if (!(await cluster.isDone(effect))) return false;
      return !(await isFeatureFlag(effect)) || flagsDone(effect);
    },
    async perform(effect) {
      if (!(await cluster.isDone(effect))) await cluster.perform(effect);
      if (!(await isFeatureFlag(effect))) return;
      if (effect.kind === 'ApplyDeploymentStep') {
        const { service, environment, deploymentId, index, trafficPercent } = effect.step;
        await flags.ramp({ commandId: effect.effectId, deploymentId, changeRequestId: effect.changeRequestId, service, environment, stepIndex: index, percentage: trafficPercent });
      } else {
        const { service, environment, deploymentId } = effect.to;
        await flags.turnOff({ commandId: effect.effectId, deploymentId, changeRequestId: effect.changeRequestId, service, environment, reason: `deployment ${deploymentId} rolled back` });
      }
    },
  };
}
