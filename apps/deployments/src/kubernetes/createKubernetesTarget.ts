import { KubeConfig } from '@kubernetes/client-node';
import type { ServiceContext } from '@gatehouse/service-kit';
import { kubernetesStreamId } from './fromEnvironment.js';
import { type ClusterObservation, KubernetesTarget, type KubernetesTargetOptions } from './kubernetesTarget.js';

/**
 * The Kubernetes executor for a service context: kubeconfig from `kubeconfigPath`, clusters from the active
 * policies (checked now: a cluster without a context refuses the start, naming it), every observation an
 * event on `kubernetes-<deploymentId>`.
 */
export function createKubernetesTarget(ctx: ServiceContext, kubeconfigPath: string, options: Partial<Omit<KubernetesTargetOptions, 'kubeconfig' | 'policies' | 'observe'>> = {}): KubernetesTarget {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(kubeconfigPath);
  const target = new KubernetesTarget({
    kubeconfig,
    policies: () => ctx.policies.current,
    clock: ctx.clock,
    logger: ctx.logger,
    observe: async (observation: ClusterObservation) => {
      await ctx.store.appendToStream(kubernetesStreamId(observation.data.deploymentId), [{ type: observation.type, data: observation.data, metadata: { actor: ctx.name } }]);
    },
    ...options,
  });
  target.verifyClusters();
  return target;
}

