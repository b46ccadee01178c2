export { KubernetesTarget, canaryReplicas, withVersion, LABEL_COLOR, LABEL_TRACK, LABEL_DEPLOYMENT, LABEL_WORKLOAD, ANNOTATION_PREVIOUS, ANNOTATION_STEP, ANNOTATION_FAILURE, type KubernetesTargetOptions, type ClusterObservation, type PreviousRevision } from './kubernetesTarget.js';
export { createKubernetesTarget, targetFromEnvironment, kubernetesStreamId, KUBERNETES_CATEGORY, type TargetEnvironment } from './fromEnvironment.js';
export { ClusterStepError, ClusterUnreachableError, InvalidManifestError, UnknownClusterError } from './errors.js';
export { withRetry, isTransient, type RetryOptions } from './retry.js';
