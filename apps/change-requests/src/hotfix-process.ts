/**
 * The hotfix lane's reactions and deadlines.
 *
 * Process manager `change-requests-hotfix-lane` (durable; command ids `<eventId>:<Command>`):
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
import type { EventConsumer } from '@gatehouse/bus';
import { ApprovalEventSchemas, HOTFIX_CATEGORY, HotfixEventSchemas, hotfixStreamId } from '@gatehouse/contracts';
import { DomainError, type HotfixCommand, hotfixDecider, type HotfixEvent, type HotfixState, type HotfixStatus } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, startTicker, type Ticker } from '@gatehouse/service-kit';
import { z } from 'zod';
import { hotfixOfChange, shipsValidatedRelease } from './hotfix-lane.js';
import { loadHotfixEvents } from './hotfix-streams.js';
import { type ExistingChange, loadChange, changeRequestStream } from './streams.js';

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
  DeploymentStarted: z.object({ changeRequestId: z.string().min(1), deploymentId: z.string().min(1), environment: z.string().min(1), startedAt: z.iso.datetime({ offset: true }).optional() }),
  StagingValidationCompleted: HotfixEventSchemas.StagingValidationCompleted,
  StagingValidationTimeCapped: HotfixEventSchemas.StagingValidationTimeCapped,
} as const;
type Schemas = typeof HotfixLaneEventSchemas;
type Consumed = { [K in keyof Schemas]: { type: K; data: z.output<Schemas[K]> } }[keyof Schemas];

/** Statuses from which the expedited approval may be recorded (validation ended acceptably). */
const AWAITING_APPROVAL: readonly HotfixStatus[] = ['validated', 'time_capped'];

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

export interface RunningHotfixLane {
  stop(): Promise<void>;
}

export async function startHotfixLane(ctx: ServiceContext, metrics: CommandMetrics, options: HotfixLaneOptions = {}): Promise<RunningHotfixLane> {
  const deadlinePollIntervalMs = options.deadlinePollIntervalMs ?? ctx.tickIntervalMs ?? HOTFIX_DEADLINE_POLL_INTERVAL_MS;
  const { store, clock, logger } = ctx;

  /** One command on a hotfix stream caused by `cause`; a refusal is final and logged, anything else is retried. */
  async function apply(cause: StoredEvent, command: HotfixCommand): Promise<void> {
    const metadata = { actor: ACTOR, correlationId: typeof cause.metadata.correlationId === 'string' ? cause.metadata.correlationId : cause.id };
    try {
      const result = await handleCommand({ store, decider: hotfixDecider, streamId: hotfixStreamId(command.data.hotfixId), command, commandId: `${cause.id}:${command.type}`, metadata });
      metrics.eventsAppended(result.events.map((e) => e.type));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      logger.warn({ err: error.message, code: error.code, eventId: cause.id, eventType: cause.type, command: command.type, hotfixId: command.data.hotfixId }, 'hotfix lane command refused');
    }
  }

  /** The hotfix lane change behind an approvals or deployments event, with its hotfix's events; null when it is none. */
  async function laneOf(changeRequestId: string): Promise<{ change: ExistingChange; hotfixId: string; events: HotfixEvent[]; status: HotfixStatus | 'none' } | null> {
    const change = await loadChange(store, changeRequestId);
    if (change.status === 'not_submitted') return null;
    const hotfixId = hotfixOfChange(change);
    if (hotfixId === null) return null;
    const events = await loadHotfixEvents(store, hotfixId);
    const state = events.reduce(hotfixDecider.evolve, hotfixDecider.initialState());
    return { change, hotfixId, events, status: state.status };
  }

  async function react(event: StoredEvent, consumed: Consumed): Promise<void> {
    const now = clock.now();
    switch (consumed.type) {
      case 'ChangeFullyApproved': {
        const lane = await laneOf(consumed.data.subject.changeRequestId);
        if (lane === null) return;
        if (!AWAITING_APPROVAL.includes(lane.status as HotfixStatus)) {
          // Approved before staging validation ended: recorded when it ends (see below).
          logger.info({ hotfixId: lane.hotfixId, status: lane.status, changeRequestId: lane.change.changeRequestId }, 'hotfix change approved before its validation concluded');
          return;
        }
        if (!shipsValidatedRelease(lane.change, lane.events)) return warnOtherRelease(event, lane.hotfixId, lane.change);
        return apply(event, { type: 'RecordExpeditedApproval', data: { hotfixId: lane.hotfixId, approvalId: consumed.data.approvalId, now } });
      }
      case 'StagingValidationCompleted':
      case 'StagingValidationTimeCapped': {
        if (consumed.type === 'StagingValidationCompleted' && consumed.data.outcome !== 'passed') return;
        const { hotfixId } = consumed.data;
        const approved = await approvedChangeOf(hotfixId, event.globalPosition);
        if (approved === null) return;
        return apply(event, { type: 'RecordExpeditedApproval', data: { hotfixId, approvalId: approved, now } });
      }
      case 'DeploymentStarted': {
        const lane = await laneOf(consumed.data.changeRequestId);
        if (lane === null) return;
        if (!shipsValidatedRelease(lane.change, lane.events)) return warnOtherRelease(event, lane.hotfixId, lane.change);
        const { hotfixId, change } = lane;
        if (AWAITING_APPROVAL.includes(lane.status as HotfixStatus) && change.approvalId !== null) {
          await apply(event, { type: 'RecordExpeditedApproval', data: { hotfixId, approvalId: change.approvalId, now } });
        }
        // The SLA is measured to the moment the fix started to roll out, not to when this reaction ran.
        const startedAt = consumed.data.startedAt === undefined ? now : new Date(consumed.data.startedAt);
        return apply(event, { type: 'DeployHotfixToProduction', data: { hotfixId, deploymentId: consumed.data.deploymentId, now: startedAt } });
      }
    }
  }

  function warnOtherRelease(event: StoredEvent, hotfixId: string, change: ExistingChange): void {
    logger.warn(
      { eventId: event.id, eventType: event.type, hotfixId, changeRequestId: change.changeRequestId, releaseId: change.draft.releaseId },
      'hotfix change ships a release other than the one validated in staging: the lane ignores it',
    );
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

  const lane: EventConsumer = await ctx.events.consume({
    name: HOTFIX_LANE_CONSUMER,
    categories: ['approval', 'deployment', HOTFIX_CATEGORY],
    eventTypes: Object.keys(HotfixLaneEventSchemas),
    dataSchemas: HotfixLaneEventSchemas,
    handler: async ({ event }) => react(event, { type: event.type, data: event.data } as Consumed),
  });

  const deadlines = new OpenHotfixDeadlines();
  // Rebuilt from the log at every start, nothing durable kept: the checks it triggers are idempotent.
  const index: EventConsumer = await ctx.events.consume({
    name: HOTFIX_DEADLINES_CONSUMER,
    replay: true,
    categories: [HOTFIX_CATEGORY],
    handler: async ({ event }) => deadlines.on(event),
  });

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
    async stop() {
      await ticker.stop();
      await index.stop();
      await lane.stop();
    },
  };
}
