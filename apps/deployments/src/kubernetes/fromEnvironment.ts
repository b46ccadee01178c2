import type { ServiceContext } from '@gatehouse/service-kit';
import { type DeploymentTarget, SandboxTarget } from '../target.js';

/** Category of the executor's events: `kubernetes-<deploymentId>` holds every wave and cluster step of one deployment. */
export const KUBERNETES_CATEGORY = 'kubernetes';
export const kubernetesStreamId = (deploymentId: string): string => `${KUBERNETES_CATEGORY}-${deploymentId}`;

/** The environment variables that choose and configure the deployment target. */
export interface TargetEnvironment {
  /** Path of a kubeconfig: set, deployments run on Kubernetes; unset, on the in-process sandbox. */
  KUBECONFIG?: string;
  /** Namespace of the governed workloads. @defaultValue 'default' */
  GATEHOUSE_K8S_NAMESPACE?: string;
  /** Readiness poll period in ms. @defaultValue 1000 */
  GATEHOUSE_K8S_POLL_MS?: string;
  /** Sandbox only: keep its state in this file. */
  GATEHOUSE_SANDBOX_STATE?: string;
}

/**
 * `KUBECONFIG` set → the Kubernetes executor; unset → the sandbox (the embedded default). The executor and
 * @kubernetes/client-node are loaded only when chosen, so the sandbox does not pay for them.
 */
export function targetFromEnvironment(env: TargetEnvironment = process.env): (ctx: ServiceContext) => Promise<DeploymentTarget> {
  const kubeconfigPath = env.KUBECONFIG;
  if (kubeconfigPath !== undefined && kubeconfigPath !== '') {
    const pollIntervalMs = env.GATEHOUSE_K8S_POLL_MS !== undefined ? Number(env.GATEHOUSE_K8S_POLL_MS) : undefined;
    if (pollIntervalMs !== undefined && !(pollIntervalMs > 0)) throw new Error(`GATEHOUSE_K8S_POLL_MS must be a positive number of ms, got '${env.GATEHOUSE_K8S_POLL_MS}'`);
    return async (ctx) => {
      const { createKubernetesTarget } = await import('./createKubernetesTarget.js');
      return createKubernetesTarget(ctx, kubeconfigPath, { ...(env.GATEHOUSE_K8S_NAMESPACE ? { namespace: env.GATEHOUSE_K8S_NAMESPACE } : {}), ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}) });
    };
  }
  const stateFile = env.GATEHOUSE_SANDBOX_STATE;
  return async (ctx) => new SandboxTarget({ clock: ctx.clock, ...(stateFile ? { stateFile } : {}) });
}
