export { createDeploymentsService, deploymentsService } from './service.js';
export { DeploymentsModule } from './deployments.module.js';
export { DEPLOYMENT_TICK_INTERVAL_MS, type DeploymentsServiceOptions } from './deploymentsService.js';
export { SandboxTarget, DEFAULT_SANDBOX_ROLLOUT_SECONDS, type DeploymentTarget, type SandboxTargetOptions, type TargetStatus, type TargetStep, type WorkloadRef, type RolloutState } from './target.js';
export { AbortDeploymentPayload, PromoteDeploymentPayload, RollbackDeploymentPayload, DeploymentCommandResult, DeploymentEvents, DEPLOYMENTS_CONTEXT } from '@gatehouse/contracts';
// Only the switch: the executor (and @kubernetes/client-node) loads when KUBECONFIG chooses it (./kubernetes/createKubernetesTarget.ts).
export { targetFromEnvironment, kubernetesStreamId, KUBERNETES_CATEGORY, type TargetEnvironment } from './kubernetes/fromEnvironment.js';
