import type { RollbackPolicy } from '@gatehouse/policy';
import { deploymentStreamId, evolveDeployment, type DeploymentState, type RollBackDeployment, type RollbackInitiator } from '../deployment/deployment.js';
import type { Workflow, WorkflowSend } from '../workflows/workflow.js';

/** The one output of the rollback workflow: a `RollBackDeployment` on the deployment's stream. */
export type RollbackOutput = WorkflowSend<'deployment', RollBackDeployment>;

/**
 * The one owner of the rollback reaction. A watch's `RollbackTriggerFired` (action "rollback"), an aborted
 * watch (`PostDeploymentWatchAborted`) and a person's rollback request all become one `RollBackDeployment` on the deployment's stream, whose decider records the
 * intent (`DeploymentRollbackRequested`); the effect runner then restores the previous version on the cluster
 * (checking it first) and records `DeploymentRolledBack`. No other code reacts to a trigger with a rollback.
 */
type RollbackRules = Pick<RollbackPolicy, 'manualWindowMinutes' | 'beyondWindow'>;

/** A watch's trigger fired: `eventId` is the firing event's id, from which the command id derives. */
export type RollbackTriggered = Readonly<{
  type: 'RollbackTriggered';
  eventId: string;
  data: Readonly<{ changeRequestId: string; triggerId: string; action: string; reason: string; evidence: Readonly<Record<string, unknown>> }>;
  actor: string;
  policy: RollbackRules;
  now: Date;
}>;

/** A person (or a tool on their behalf) asked for a rollback with this command id. */
export type RollbackRequested = Readonly<{
  type: 'RollbackRequested';
  commandId: string;
  data: Readonly<{ changeRequestId: string; reason: string; initiator: RollbackInitiator; actor: string; evidence?: Readonly<Record<string, unknown>>; incidentReviewRef?: string }>;
  policy: RollbackRules;
  now: Date;
}>;

/** A post-deployment watch was aborted on an inconclusive analysis (a person's decision, or its time ran out). */
export type WatchAborted = Readonly<{
  type: 'WatchAborted';
  eventId: string;
  data: Readonly<{ changeRequestId: string; reason: string; actor: string; analysis: Readonly<Record<string, unknown>> }>;
  policy: RollbackRules;
  now: Date;
}>;

export type RollbackInput = RollbackTriggered | RollbackRequested | WatchAborted;

/** A trigger's rollback is asked for only while there is something to restore. */
const RESTORABLE: ReadonlySet<DeploymentState['status']> = new Set(['running', 'succeeded', 'failed']);

export function decideRollback(input: RollbackInput, state: DeploymentState): RollbackOutput[] {
  const { changeRequestId } = input.data;
  const streamId = deploymentStreamId(changeRequestId);
  if (input.type === 'RollbackTriggered') {
    const { data, eventId } = input;
    if (data.action !== 'rollback' || !RESTORABLE.has(state.status)) return [];
    return [
      {
        kind: 'send',
        target: 'deployment',
        streamId,
        commandId: `${eventId}:RollBackDeployment`,
        command: {
          type: 'RollBackDeployment',
          data: { changeRequestId, reason: `automatic rollback: ${data.reason}`, initiator: 'automatic', actor: input.actor, evidence: { triggerId: data.triggerId, ...data.evidence }, policy: input.policy, now: input.now },
        },
      },
    ];
  }
  if (input.type === 'WatchAborted') {
    if (!RESTORABLE.has(state.status)) return [];
    const { reason, actor, analysis } = input.data;
    return [
      {
        kind: 'send',
        target: 'deployment',
        streamId,
        commandId: `${input.eventId}:RollBackDeployment`,
        // The analysis policy decided it (not the manual window): recorded as automatic, with who aborted and why.
        command: { type: 'RollBackDeployment', data: { changeRequestId, reason: `post-deployment watch aborted: ${reason}`, initiator: 'automatic', actor, evidence: { analysis }, policy: input.policy, now: input.now } },
      },
    ];
  }
  // A person's request always reaches the decider, so a refusal (window, state) is returned to them by name.
  const { reason, initiator, actor, evidence, incidentReviewRef } = input.data;
  return [
    {
      kind: 'send',
      target: 'deployment',
      streamId,
      commandId: input.commandId,
      command: {
        type: 'RollBackDeployment',
        data: { changeRequestId, reason, initiator, actor, ...(evidence !== undefined && { evidence }), ...(incidentReviewRef !== undefined && { incidentReviewRef }), policy: input.policy, now: input.now },
      },
    },
  ];
}

export const rollbackWorkflow: Workflow<RollbackInput, DeploymentState, RollbackOutput, Parameters<typeof evolveDeployment>[1]> = {
  decide: decideRollback,
  evolve: evolveDeployment,
  initialState: () => ({ status: 'not_started' }),
};
