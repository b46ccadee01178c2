export { type WorkflowAwait, type Cause, commandIdFor, type WorkflowIgnore, type RefusalClassifier, type RefusalKind, type WorkflowSend, type Workflow, type WorkflowOutput } from './workflow.js';
export {
  CHANGE_LIFECYCLE_ACTOR,
  type ChangeLifecycleCommand,
  type ChangeLifecycleEvent,
  type ChangeLifecycleInput,
  type ChangeLifecycleOutput,
  type ChangeLifecycleState,
  changeLifecycleWorkflow,
  changeRequestIdOf,
  changeRequestStreamId,
  classifyChangeLifecycleRefusal,
  decideChangeLifecycle,
  evolveChangeLifecycle,
  initialChangeLifecycleState,
  type LifecyclePolicyFacts,
  releaseStreamId,
} from './changeLifecycle.js';
export {
  decideHotfixLane,
  type HotfixLaneChange,
  type HotfixLaneEvent,
  type HotfixLaneInput,
  type HotfixLaneOutput,
  hotfixLaneWorkflow,
  hotfixStreamIdOf,
} from './hotfixLane.js';
