export { createDeploymentsService, deploymentsService, DEPLOYMENT_TICK_INTERVAL_MS, type DeploymentsServiceOptions } from './deploymentsService.js';
export { SandboxTarget, DEFAULT_SANDBOX_ROLLOUT_SECONDS, type DeploymentTarget, type SandboxTargetOptions, type TargetStatus, type TargetStep, type WorkloadRef, type RolloutState } from './target.js';
export { AbortDeploymentPayload, PromoteDeploymentPayload, RollbackDeploymentPayload, DeploymentCommandResult, DeploymentEvents, DEPLOYMENTS_CONTEXT } from '@gatehouse/contracts';
export {
  KubernetesTarget,
  createKubernetesTarget,
  targetFromEnvironment,
  kubernetesStreamId,
  canaryReplicas,
  KUBERNETES_CATEGORY,
  ClusterStepError,
  ClusterUnreachableError,
  InvalidManifestError,
  UnknownClusterError,
  type KubernetesTargetOptions,
  type ClusterObservation,
  type PreviousRevision,
  type TargetEnvironment,
} from './kubernetes/index.js';
