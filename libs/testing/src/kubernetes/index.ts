export { KubernetesStandIn, startKubernetesStandIns, type KubernetesStandInOptions, type RequestRecord, type RequestSeen } from './apiServer.js';
export { kubeconfigFor, writeKubeconfig, type KubeconfigContext } from './kubeconfig.js';
export { JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, jsonPatch, mergePatch, strategicMergePatch, JsonPatchError, type JsonPatchOperation } from './patch.js';
