/**
 * The hotfix lane's reactions and deadlines.
 *
 * Workflow `hotfixLaneWorkflow` (libs/domain), run as durable consumer `change-requests-hotfix-lane`
 * (command ids `<eventId>:<Command>`; each command's time is its fact's):
 * - `ChangeFullyApproved` of the hotfix's production emergency change → `RecordExpeditedApproval`;
 * - staging validation concluded (passed or capped) while that change is already approved → the same;
 * - `DeploymentStarted` of that change → `DeployHotfixToProduction` at the deployment's start (SLA met or
 *   breached, post-incident review due), recording the approval first if it had not been yet.
 *
 * Deadlines: workflow `hotfixDeadlinesWorkflow` (libs/domain), run as durable consumer
 * `change-requests-hotfix-deadlines`, arms a timer for the SLA, the staging validation cap and the
 * post-incident review as the hotfix's events set them, and cancels each when the fact that ends it is
 * recorded. The service's timer runner sends the fired timer's `CheckHotfixDeadlines` to the `hotfix` target
 * (`hotfixTimerTarget`) once, across restarts and replicas, so each of `HotfixSlaBreached`,
 * `StagingValidationTimeCapped` and `PostIncidentReviewOverdue` is a fact exactly once.
 */
import type { ReceivedEvent } from '@gatehouse/bus';
import { ApprovalEventSchemas, HOTFIX_CATEGORY, HotfixEventSchemas } from '@gatehouse/contracts';
import {
  type HotfixCommand,
  hotfixDeadlinesWorkflow,
  hotfixDecider,
  type HotfixEvent,
  type HotfixLaneChange,
  type HotfixLaneEvent,
  type HotfixLaneInput,
  hotfixLaneWorkflow,
  type HotfixState,
  parseOrThrow,
  type WorkflowSend,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, type TimerTarget, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';
import { hotfixOfChange, shipsValidatedRelease } from './hotfix-lane.js';
import { loadHotfixEvents } from './hotfix-streams.js';
import { loadChange, changeRequestStream } from './streams.js';

export const HOTFIX_LANE_CONSUMER = 'change-requests-hotfix-lane';
export const HOTFIX_DEADLINES_CONSUMER = 'change-requests-hotfix-deadlines';
/** Actor recorded on the events the lane's reactions and deadline checks cause. */
const ACTOR = 'change-requests';

/** What the lane reads of other contexts' events (loose: producers may add fields). */
export const HotfixLaneEventSchemas = {
  ChangeFullyApproved: ApprovalEventSchemas.ChangeFullyApproved,
  DeploymentStarted: z.object({ changeRequestId: z.string().min(1), deploymentId: z.string().min(1), environment: z.string().min(1), startedAt: z.iso.datetime({ offset: true }) }),
  StagingValidationCompleted: HotfixEventSchemas.StagingValidationCompleted,
  StagingValidationTimeCapped: HotfixEventSchemas.StagingValidationTimeCapped,
} as const;

// ---------------------------------------------------------------- deadlines

/** What a hotfix deadline timer sends (armed by `hotfixDeadlinesWorkflow`); its time is the instant it fired. */
const CheckHotfixDeadlinesTimerCommand = z.object({ type: z.literal('CheckHotfixDeadlines'), data: z.object({ hotfixId: z.string().min(1) }) });

/** The `hotfix` timer target: a fired deadline's `CheckHotfixDeadlines` records its fact (SLA breach, validation cap, overdue review). */
export function hotfixTimerTarget(ctx: ServiceContext, metrics: CommandMetrics): TimerTarget {
  return async (raw, { commandId, timer, firedAt, correlationId }) => {
    const { data } = parseOrThrow(CheckHotfixDeadlinesTimerCommand, raw, 'hotfix timer command');
    const command: HotfixCommand = { type: 'CheckHotfixDeadlines', data: { hotfixId: data.hotfixId, now: firedAt } };
    const result = await handleCommand({ store: ctx.store, decider: hotfixDecider, streamId: timer.streamId, command, commandId, metadata: { actor: ACTOR, correlationId } });
    const types = result.events.map((e) => e.type);
    metrics.eventsAppended(types);
    return types;
  };
}

// ---------------------------------------------------------------- the lane

/** The lane's two workflows, as the handlers of their durable consumers (reactions.controller.ts routes the deliveries here). */
export interface HotfixLane {
  /** The hotfix lane workflow. */
  onLaneEvent(received: ReceivedEvent): Promise<void>;
  /** The deadlines workflow: arms and cancels the hotfix's deadline timers. */
  onHotfixEvent(received: ReceivedEvent): Promise<void>;
}

/** The categories the lane workflow reads. */
export const HOTFIX_LANE_CATEGORIES = ['approval', 'deployment', HOTFIX_CATEGORY] as const;

export function hotfixLaneReactions(ctx: ServiceContext, metrics: CommandMetrics): HotfixLane {
  const { store, clock, logger } = ctx;

  /** The hotfix lane change behind an approvals or deployments event; null when it is none. */
  async function laneChangeOf(changeRequestId: string): Promise<{ change: HotfixLaneChange; events: HotfixEvent[] } | null> {
    const change = await loadChange(store, changeRequestId);
    if (change.status === 'not_submitted') return null;
    const hotfixId = hotfixOfChange(change);
    if (hotfixId === null) return null;
    const events = await loadHotfixEvents(store, hotfixId);
    return { change: { changeRequestId, hotfixId, shipsValidatedRelease: shipsValidatedRelease(change, events), approvalId: change.approvalId }, events };
  }

  /** Gathers the lane's input (the change and hotfix facts the decision needs) and folds the hotfix's state. */
  async function prepare(event: StoredEvent): Promise<{ input: HotfixLaneInput; state: HotfixState }> {
    const laneEvent = { type: event.type, data: event.data } as HotfixLaneEvent & { data: { hotfixId?: string; changeRequestId?: string; subject?: { changeRequestId: string } } };
    const fold = (events: readonly HotfixEvent[]): HotfixState => events.reduce(hotfixLaneWorkflow.evolve, hotfixLaneWorkflow.initialState());
    if (laneEvent.type === 'StagingValidationCompleted' || laneEvent.type === 'StagingValidationTimeCapped') {
      const { hotfixId } = laneEvent.data;
      const approvedChangeApprovalId = await approvedChangeOf(hotfixId, event.globalPosition);
      return { input: { eventId: event.id, event: laneEvent, change: null, approvedChangeApprovalId }, state: fold(await loadHotfixEvents(store, hotfixId)) };
    }
    const changeRequestId = laneEvent.type === 'ChangeFullyApproved' ? (event.data as { subject: { changeRequestId: string } }).subject.changeRequestId : (event.data as { changeRequestId: string }).changeRequestId;
    const lane = await laneChangeOf(changeRequestId);
    return { input: { eventId: event.id, event: laneEvent, change: lane?.change ?? null }, state: fold(lane?.events ?? []) };
  }

  async function send(output: WorkflowSend<'hotfix', HotfixCommand>, cause: StoredEvent): Promise<readonly string[]> {
    const metadata = { actor: ACTOR, correlationId: typeof cause.metadata.correlationId === 'string' ? cause.metadata.correlationId : cause.id };
    const result = await handleCommand({ store, decider: hotfixDecider, streamId: output.streamId, command: output.command, commandId: output.commandId, metadata });
    const types = result.events.map((e) => e.type);
    metrics.eventsAppended(types);
    return types;
  }

  /** The approval id of an approved production change of this hotfix (submitted up to `untilPosition`), if any. */
  async function approvedChangeOf(hotfixId: string, untilPosition: bigint): Promise<string | null> {
    const events = await loadHotfixEvents(store, hotfixId);
    for await (const submitted of store.readAll({ eventTypes: ['ChangeRequestSubmitted'], untilPosition })) {
      if (!submitted.streamId.startsWith(changeRequestStream(''))) continue;
      const { changeRequestId, draft } = submitted.data as { changeRequestId: string; draft: { hotfixId?: string } };
      if (draft.hotfixId !== hotfixId) continue;
      const change = await loadChange(store, changeRequestId);
      if (change.status === 'not_submitted' || change.approvalId === null || hotfixOfChange(change) !== hotfixId) continue;
      if (change.status === 'rejected' || change.status === 'cancelled' || !shipsValidatedRelease(change, events)) continue;
      return change.approvalId;
    }
    return null;
  }

  const onLaneEvent = workflowReaction({
    name: HOTFIX_LANE_CONSUMER,
    dataSchemas: HotfixLaneEventSchemas,
    workflow: hotfixLaneWorkflow,
    prepare,
    send,
    logger,
    metrics: ctx.metrics,
  });

  // The lane's deadlines: timers armed and cancelled by the hotfix's own events, fired by the service's timer runner.
  const onHotfixEvent = workflowReaction({
    name: HOTFIX_DEADLINES_CONSUMER,
    dataSchemas: HotfixEventSchemas,
    workflow: hotfixDeadlinesWorkflow,
    prepare: async (event) => ({ input: { event: { type: event.type, data: event.data } as HotfixEvent }, state: null }),
    timers: { store, owner: ctx.name, clock },
    logger,
    metrics: ctx.metrics,
  });

  return {
    onLaneEvent,
    onHotfixEvent,
  };
}
