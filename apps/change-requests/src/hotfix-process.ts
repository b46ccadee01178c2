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
 * Deadlines: an index of open hotfix deadlines, rebuilt from the `hotfix` streams at every start (replay
 * consumer `change-requests-hotfix-deadlines`), and a ticker that sends `CheckHotfixDeadlines` when one is
 * due on the injected clock. One command id per hotfix and deadline kind, and a decider that decides only
 * that kind's event, make each of `HotfixSlaBreached`, `StagingValidationTimeCapped` and
 * `PostIncidentReviewOverdue` a fact exactly once, across restarts and replicas.
 */
import type { ReceivedEvent } from '@gatehouse/bus';
import { ApprovalEventSchemas, HOTFIX_CATEGORY, HotfixEventSchemas, hotfixStreamId } from '@gatehouse/contracts';
import {
  type HotfixCommand,
  hotfixDecider,
  type HotfixEvent,
  type HotfixLaneChange,
  type HotfixLaneEvent,
  type HotfixLaneInput,
  hotfixLaneWorkflow,
  type HotfixState,
  type WorkflowSend,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, startTicker, type Ticker, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';
import { hotfixOfChange, shipsValidatedRelease } from './hotfix-lane.js';
import { loadHotfixEvents } from './hotfix-streams.js';
import { loadChange, changeRequestStream } from './streams.js';

export const HOTFIX_LANE_CONSUMER = 'change-requests-hotfix-lane';
export const HOTFIX_DEADLINES_CONSUMER = 'change-requests-hotfix-deadlines';
/** How often the deadline ticker looks at the clock, in ms. */
export const HOTFIX_DEADLINE_POLL_INTERVAL_MS = 1_000;
/** Actor recorded on the events the lane's reactions and deadline checks cause. */
const ACTOR = 'change-requests';

export interface HotfixLaneOptions {
  /** @defaultValue HOTFIX_DEADLINE_POLL_INTERVAL_MS */
  deadlinePollIntervalMs?: number;
}

/** What the lane reads of other contexts' events (loose: producers may add fields). */
export const HotfixLaneEventSchemas = {
  ChangeFullyApproved: ApprovalEventSchemas.ChangeFullyApproved,
  DeploymentStarted: z.object({ changeRequestId: z.string().min(1), deploymentId: z.string().min(1), environment: z.string().min(1), startedAt: z.iso.datetime({ offset: true }) }),
  StagingValidationCompleted: HotfixEventSchemas.StagingValidationCompleted,
  StagingValidationTimeCapped: HotfixEventSchemas.StagingValidationTimeCapped,
} as const;

// ---------------------------------------------------------------- deadlines

export const DEADLINE_KINDS = ['sla', 'validation-cap', 'review'] as const;
export type DeadlineKind = (typeof DEADLINE_KINDS)[number];
/** The one event each deadline check may decide. */
export const DEADLINE_EVENT: Readonly<Record<DeadlineKind, 'HotfixSlaBreached' | 'StagingValidationTimeCapped' | 'PostIncidentReviewOverdue'>> = {
  sla: 'HotfixSlaBreached',
  'validation-cap': 'StagingValidationTimeCapped',
  review: 'PostIncidentReviewOverdue',
};

/** Deterministic per hotfix and deadline kind: however many ticks or replicas check, the deadline's event is appended once. */
export const deadlineCommandId = (hotfixId: string, kind: DeadlineKind): string => `${hotfixStreamId(hotfixId)}:CheckHotfixDeadlines:${kind}`;

/** Deadlines per open hotfix (due instant in ms by kind), folded from the hotfix streams; a hotfix leaves when its review is done. */
export class OpenHotfixDeadlines {
  private readonly open = new Map<string, { correlationId: string | undefined; due: Partial<Record<DeadlineKind, number>> }>();

  on(event: Pick<StoredEvent, 'type' | 'data' | 'metadata'>): void {
    const hotfix = event as unknown as HotfixEvent;
    const { hotfixId } = hotfix.data;
    switch (hotfix.type) {
      case 'IncidentIdentified': {
        const correlationId = typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : undefined;
        this.open.set(hotfixId, { correlationId, due: {} });
        if (hotfix.data.slaDueAt !== null) this.arm(hotfixId, 'sla', hotfix.data.slaDueAt);
        return;
      }
      case 'StagingValidationStarted':
        if (hotfix.data.deadline !== null) this.arm(hotfixId, 'validation-cap', hotfix.data.deadline);
        return;
      case 'StagingValidationCompleted':
      case 'StagingValidationTimeCapped':
        return this.disarm(hotfixId, 'validation-cap');
      case 'HotfixDeployedToProduction':
      case 'HotfixSlaBreached':
        return this.disarm(hotfixId, 'sla');
      case 'PostIncidentReviewDue':
        return this.arm(hotfixId, 'review', hotfix.data.dueAt);
      case 'PostIncidentReviewOverdue':
        return this.disarm(hotfixId, 'review');
      case 'PostIncidentReviewCompleted':
        // The lane's last step: nothing of it can fall due any more.
        this.open.delete(hotfixId);
        return;
      default:
        return;
    }
  }

  /** Deadlines at or past `now`, earliest first. */
  dueAt(now: Date): Array<{ hotfixId: string; kind: DeadlineKind; correlationId: string | undefined }> {
    const due: Array<{ hotfixId: string; kind: DeadlineKind; correlationId: string | undefined; at: number }> = [];
    for (const [hotfixId, entry] of this.open) {
      for (const kind of DEADLINE_KINDS) {
        const at = entry.due[kind];
        if (at !== undefined && at <= now.getTime()) due.push({ hotfixId, kind, correlationId: entry.correlationId, at });
      }
    }
    return due.sort((a, b) => a.at - b.at).map(({ at: _at, ...rest }) => rest);
  }

  /** Hotfixes with at least one deadline still open. */
  get size(): number {
    return [...this.open.values()].filter((entry) => Object.keys(entry.due).length > 0).length;
  }

  private arm(hotfixId: string, kind: DeadlineKind, at: string): void {
    const entry = this.open.get(hotfixId);
    if (entry !== undefined) entry.due[kind] = Date.parse(at);
  }

  private disarm(hotfixId: string, kind: DeadlineKind): void {
    // The entry stays until the review is done: a deadline may still be armed after the others passed.
    const entry = this.open.get(hotfixId);
    if (entry !== undefined) delete entry.due[kind];
  }
}

/** The hotfix decider narrowed to one deadline's event, so each deadline has its own command id. */
function deadlineDecider(kind: DeadlineKind) {
  return { ...hotfixDecider, decide: (command: HotfixCommand, state: HotfixState) => hotfixDecider.decide(command, state).filter((e) => e.type === DEADLINE_EVENT[kind]) };
}

// ---------------------------------------------------------------- the lane

/** The lane's two reactions (hotfix.controller.ts routes the deliveries here) and its deadline ticker. */
export interface HotfixLane {
  /** The hotfix lane workflow: the handler of its durable consumer. */
  onLaneEvent(received: ReceivedEvent): Promise<void>;
  /** The open deadlines, rebuilt from the log at every start (a replay subscription): the checks they trigger are idempotent. */
  onHotfixEvent(event: StoredEvent): void;
  stop(): Promise<void>;
}

/** The categories the lane workflow reads. */
export const HOTFIX_LANE_CATEGORIES = ['approval', 'deployment', HOTFIX_CATEGORY] as const;

export function startHotfixLane(ctx: ServiceContext, metrics: CommandMetrics, options: HotfixLaneOptions = {}): HotfixLane {
  const deadlinePollIntervalMs = options.deadlinePollIntervalMs ?? ctx.tickIntervalMs ?? HOTFIX_DEADLINE_POLL_INTERVAL_MS;
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

  const deadlines = new OpenHotfixDeadlines();

  async function checkDue(): Promise<void> {
    const now = clock.now();
    for (const { hotfixId, kind, correlationId } of deadlines.dueAt(now)) {
      try {
        const result = await handleCommand({
          store,
          decider: deadlineDecider(kind),
          streamId: hotfixStreamId(hotfixId),
          command: { type: 'CheckHotfixDeadlines', data: { hotfixId, now } },
          commandId: deadlineCommandId(hotfixId, kind),
          metadata: { actor: ACTOR, correlationId: correlationId ?? hotfixStreamId(hotfixId) },
        });
        metrics.eventsAppended(result.events.map((e) => e.type));
      } catch (error) {
        // One hotfix's failure does not hold the others up; it is checked again on the next tick.
        logger.error({ hotfixId, kind, error: String(error) }, 'hotfix deadline check failed');
      }
    }
  }

  const ticker: Ticker = startTicker(deadlinePollIntervalMs, checkDue, (error) => logger.error({ error: String(error) }, 'hotfix deadline loop failed'));

  return {
    onLaneEvent,
    onHotfixEvent: (event) => deadlines.on(event),
    stop: () => ticker.stop(),
  };
}
