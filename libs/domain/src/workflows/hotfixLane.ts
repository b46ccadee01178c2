/**
 * The hotfix lane workflow: how a hotfix follows its production emergency change. The expedited approval
 * is recorded once the change is approved and staging validation ended acceptably (whichever comes last),
 * and the production deployment's start is recorded at the moment it started (the SLA is measured to it).
 * Pure: the facts it needs about the change (which hotfix it ships, whether it ships the validated release,
 * its approval) are gathered by the service into the input; every command's time is its fact's time.
 */
import { assertNever } from '../decider.js';
import { hotfixDecider, type HotfixCommand, type HotfixEvent, type HotfixState, type HotfixStatus } from '../hotfix/hotfix.js';
import { commandIdFor, type Workflow, type WorkflowOutput } from './workflow.js';

export const hotfixStreamIdOf = (hotfixId: string): string => `hotfix-${hotfixId}`;

/** The events the lane reacts to (the fields it reads). */
export type HotfixLaneEvent =
  | { type: 'ChangeFullyApproved'; data: { approvalId: string; approvedAt: string } }
  | { type: 'StagingValidationCompleted'; data: { hotfixId: string; outcome: 'passed' | 'failed'; completedAt: string } }
  | { type: 'StagingValidationTimeCapped'; data: { hotfixId: string; cappedAt: string } }
  | { type: 'DeploymentStarted'; data: { deploymentId: string; startedAt: string } };

/** The hotfix lane change an approvals or deployments event is about (gathered by the service). */
export interface HotfixLaneChange {
  changeRequestId: string;
  hotfixId: string;
  /** The change ships the very release the hotfix validated in staging. */
  shipsValidatedRelease: boolean;
  /** The change's approval, once recorded. */
  approvalId: string | null;
}

export interface HotfixLaneInput {
  eventId: string;
  event: HotfixLaneEvent;
  /** For approvals and deployments events: the hotfix lane change they concern; null when the change is none. */
  change: HotfixLaneChange | null;
  /** For a concluded validation: the approval of an approved production change of the hotfix shipping the validated release, if any. */
  approvedChangeApprovalId?: string | null;
}

export type HotfixLaneOutput = WorkflowOutput<'hotfix', HotfixCommand>;

/** Statuses from which the expedited approval may be recorded (validation ended acceptably). */
const AWAITING_APPROVAL: readonly HotfixStatus[] = ['validated', 'time_capped'];

const statusOf = (state: HotfixState): HotfixStatus | 'none' => state.status;

export function decideHotfixLane(input: HotfixLaneInput, state: HotfixState): HotfixLaneOutput[] {
  const { event, eventId } = input;
  const send = (command: HotfixCommand): HotfixLaneOutput => ({ kind: 'send', target: 'hotfix', streamId: hotfixStreamIdOf(command.data.hotfixId), commandId: commandIdFor({ eventId }, command.type), command });
  const status = statusOf(state);
  switch (event.type) {
    case 'ChangeFullyApproved': {
      const change = input.change;
      if (change === null) return [{ kind: 'ignore', reason: 'not a hotfix lane change' }];
      // Approved before staging validation ended: recorded when it ends.
      if (!AWAITING_APPROVAL.includes(status as HotfixStatus)) return [{ kind: 'ignore', reason: `hotfix ${change.hotfixId} is ${status}: the approval is recorded when its staging validation ends` }];
      if (!change.shipsValidatedRelease) return [otherRelease(change)];
      return [send({ type: 'RecordExpeditedApproval', data: { hotfixId: change.hotfixId, approvalId: event.data.approvalId, now: new Date(event.data.approvedAt) } })];
    }
    case 'StagingValidationCompleted':
    case 'StagingValidationTimeCapped': {
      if (event.type === 'StagingValidationCompleted' && event.data.outcome !== 'passed') return [{ kind: 'ignore', reason: 'staging validation failed' }];
      const approvalId = input.approvedChangeApprovalId ?? null;
      if (approvalId === null) return [{ kind: 'ignore', reason: 'no approved production change of the hotfix yet: the approval is recorded when it is approved' }];
      const now = new Date(event.type === 'StagingValidationCompleted' ? event.data.completedAt : event.data.cappedAt);
      return [send({ type: 'RecordExpeditedApproval', data: { hotfixId: event.data.hotfixId, approvalId, now } })];
    }
    case 'DeploymentStarted': {
      const change = input.change;
      if (change === null) return [{ kind: 'ignore', reason: 'not a hotfix lane change' }];
      if (!change.shipsValidatedRelease) return [otherRelease(change)];
      const { hotfixId } = change;
      // The SLA is measured to the moment the fix started to roll out, not to when this reaction ran.
      const startedAt = new Date(event.data.startedAt);
      const approve = AWAITING_APPROVAL.includes(status as HotfixStatus) && change.approvalId !== null;
      return [
        ...(approve ? [send({ type: 'RecordExpeditedApproval', data: { hotfixId, approvalId: change.approvalId as string, now: startedAt } })] : []),
        send({ type: 'DeployHotfixToProduction', data: { hotfixId, deploymentId: event.data.deploymentId, now: startedAt } }),
      ];
    }
    default:
      return assertNever(event);
  }
}

function otherRelease(change: HotfixLaneChange): HotfixLaneOutput {
  return { kind: 'ignore', reason: `change ${change.changeRequestId} ships a release other than the one hotfix ${change.hotfixId} validated in staging: the lane ignores it` };
}

export const hotfixLaneWorkflow: Workflow<HotfixLaneInput, HotfixState, HotfixLaneOutput, HotfixEvent> = {
  decide: decideHotfixLane,
  evolve: hotfixDecider.evolve,
  initialState: hotfixDecider.initialState,
};
