import {
  ApprovalEventSchemas,
  ChangeRequestEventSchemas,
  GateEventSchemas,
  ReleaseEventSchemas,
  ReleasePlanEventSchemas,
  RequestSlotPayload,
  ReschedulePayload,
  SchedulingEvents,
  PolicyActivatedEvent,
  type PolicyActivatedData,
  type SlotBookedResult,
  type TimerFiredData,
  WorkflowTimerEvents,
  type WorkflowTimerArmedData,
  type WorkflowTimerFiredData,
} from '@gatehouse/contracts';
import {
  assertNever,
  type Booking,
  decideBooking,
  decideReschedule,
  decideReplan,
  decideStart,
  DomainError,
  emptySchedulingFacts,
  GOVERNANCE_FACT_TYPES,
  type GovernanceFact,
  IllegalTransitionError,
  movesMajorRelease,
  NotFoundError,
  recordFact,
  type ScheduleCommand,
  scheduleDecider,
  type ScheduleState,
  type SchedulingFacts,
  scheduleStreamId,
  DEPLOYMENT_START_TARGET,
  timerFireCommandId,
  WORKFLOW_TIMER_CATEGORY,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { loadPolicySet, type PolicyFile, type PolicySet } from '@gatehouse/policy';
import { handleCommand, POLICY_STREAM, registeredCounter, type ServiceContext } from '@gatehouse/service-kit';
import { z } from 'zod';
import type { Registry } from 'prom-client';
import { DecideDeploymentStartCommand, DEPLOYMENT_DUE_PURPOSE } from './start-timers.js';

const ACTOR = 'scheduling';


/** Refusal of a requested slot: every policy reason, and when the change could go instead. */
export class SlotRefusedError extends DomainError {
  override readonly name = 'SlotRefusedError';
  readonly code = 'SLOT_REFUSED' as const;
  constructor(
    readonly changeRequestId: string,
    readonly requestedAt: string,
    readonly reasons: readonly string[],
    readonly nextAllowedAt: string | undefined,
  ) {
    super(`${requestedAt} is not an allowed slot for change ${changeRequestId}: ${reasons.join('; ')}${nextAllowedAt ? `; next allowed start: ${nextAllowedAt}` : ''}`);
  }
}

/** Every event scheduling reads, validated against its contract before the shell sees it. */
export const CONSUMED_EVENTS = {
  ReleasePlanned: ReleaseEventSchemas.ReleasePlanned,
  ReleaseRevised: ReleaseEventSchemas.ReleaseRevised,
  ReleaseMigrationRecorded: ReleaseEventSchemas.ReleaseMigrationRecorded,
  ChangeRequestSubmitted: ChangeRequestEventSchemas.ChangeRequestSubmitted,
  ChangeRequestApproved: ChangeRequestEventSchemas.ChangeRequestApproved,
  ChangeRequestPreApproved: ChangeRequestEventSchemas.ChangeRequestPreApproved,
  ChangeCancelled: ChangeRequestEventSchemas.ChangeCancelled,
  ChangeRequestRejected: ChangeRequestEventSchemas.ChangeRequestRejected,
  ChangeApprovalWithdrawn: ChangeRequestEventSchemas.ChangeApprovalWithdrawn,
  ChangeFullyApproved: ApprovalEventSchemas.ChangeFullyApproved,
  GateResultRecorded: GateEventSchemas.GateResultRecorded,
  WarnGateOverridden: GateEventSchemas.WarnGateOverridden,
  ...ReleasePlanEventSchemas,
  ...SchedulingEvents,
  // The legacy `timer-<id>` events and the workflow timers' share their type names.
  TimerArmed: z.union([SchedulingEvents.TimerArmed, WorkflowTimerEvents.TimerArmed]),
  TimerFired: z.union([SchedulingEvents.TimerFired, WorkflowTimerEvents.TimerFired]),
  TimerCancelled: z.union([SchedulingEvents.TimerCancelled, WorkflowTimerEvents.TimerCancelled]),
  PolicyVersionActivated: PolicyActivatedEvent,
} as const;

const FACT_TYPES: ReadonlySet<string> = new Set(GOVERNANCE_FACT_TYPES);
const isGovernanceFact = (event: StoredEvent): boolean => FACT_TYPES.has(event.type);
const isWorkflowTimerEvent = (event: StoredEvent): boolean => event.streamId.startsWith(`${WORKFLOW_TIMER_CATEGORY}-`);

/** The start a fired timer asks for, and the command ids of what it decides. */
interface StartRequest {
  changeRequestId: string;
  dueAt: string;
  firedAt: string;
  /** The id of the command the decision appends, by decision. */
  commandIds: { start: string; rebook: string; refuse: string; block: string };
}

export type SchedulingMetrics = ReturnType<typeof schedulingMetrics>;

/**
 * The service shell: folds each event into the governance read model, asks the pure decision for the
 * event's reaction (decisions.ts in libs/domain) and appends what it decided. No rule lives here.
 * One per service start (a Nest provider of the scheduling module), fed by the planner's replay consumer.
 */
export class SchedulingShell {
  private readonly facts: SchedulingFacts = emptySchedulingFacts();
  private policy: PolicySet;
  /** Start timers (workflow timers this service armed) by timer id: the generation armed and the start it asks for. */
  private readonly startTimers = new Map<string, { generation: number; changeRequestId: string; dueAt: string }>();

  constructor(
    private readonly ctx: ServiceContext,
    readonly metrics: SchedulingMetrics,
  ) {
    this.policy = ctx.policies.current;
  }

  async on(event: StoredEvent): Promise<void> {
    if (isGovernanceFact(event)) recordFact(this.facts, { type: event.type, data: event.data } as GovernanceFact);
    const data = event.data as Record<string, unknown>;
    const changeRequestId = typeof data['changeRequestId'] === 'string' ? data['changeRequestId'] : '';
    switch (event.type) {
      case 'ChangeRequestApproved':
      case 'ChangeRequestPreApproved':
        return this.book(event, changeRequestId);
      case 'ChangeCancelled':
      case 'ChangeRequestRejected':
        return this.cancel(event, changeRequestId, `change ${event.type === 'ChangeCancelled' ? 'cancelled' : 'rejected'}`);
      case 'ChangeApprovalWithdrawn':
        return this.cancel(event, changeRequestId, `approval withdrawn: ${String(data['reason'])}`);
      case 'DeploymentScheduled':
      case 'DeploymentRescheduled': {
        if (movesMajorRelease(this.facts, { type: event.type, data: event.data } as GovernanceFact)) {
          const release = this.facts.releases.get(String(data['releaseId']));
          await this.replan(event, `major release ${release?.service ?? ''} ${release?.version ?? ''} booked to production for ${String(data['scheduledFor'])} (its freezes now apply)`);
        }
        return;
      }
      case 'TimerArmed':
        if (isWorkflowTimerEvent(event)) this.noteStartTimer(event.data as WorkflowTimerArmedData);
        return;
      case 'TimerCancelled':
        if (isWorkflowTimerEvent(event)) this.startTimers.delete(String(data['timerId']));
        return;
      case 'TimerFired':
        return isWorkflowTimerEvent(event) ? this.startTimerFired(event, event.data as WorkflowTimerFiredData) : this.legacyTimerFired(event, event.data as TimerFiredData);
      case 'PolicyVersionActivated':
        if (event.streamId !== POLICY_STREAM) return;
        return this.activate(event, (event.data as PolicyActivatedData).files);
      default:
        return;
    }
  }

  async requestSlot(payload: RequestSlotPayload): Promise<SlotBookedResult> {
    const actor = payload.actor ?? 'unknown';
    return this.move(payload.changeRequestId, new Date(payload.at), `slot ${payload.at} requested by ${actor}`, payload.commandId, actor, payload.correlationId);
  }

  async reschedule(payload: ReschedulePayload): Promise<SlotBookedResult> {
    const actor = payload.actor ?? 'unknown';
    return this.move(payload.changeRequestId, payload.at === undefined ? undefined : new Date(payload.at), payload.reason, payload.commandId, actor, payload.correlationId);
  }

  private append(streamId: string, commandId: string, command: ScheduleCommand, metadata: Record<string, unknown>) {
    return handleCommand({ store: this.ctx.store, decider: scheduleDecider, streamId, command, commandId, metadata: { actor: ACTOR, ...metadata } }).then((result) => {
      result.events.forEach((e) => this.metrics.appended.inc({ type: e.type }));
      return result;
    });
  }

  /** Bookings count against the per-window limit from the moment they are decided, before their event comes back. */
  private remember(result: { state: ScheduleState }): void {
    if (result.state.status !== 'scheduled') return;
    this.facts.bookings.set(result.state.booking.changeRequestId, result.state.booking);
    this.facts.blocked.delete(result.state.booking.changeRequestId);
  }

  private async book(event: StoredEvent, changeRequestId: string): Promise<void> {
    const now = this.ctx.clock.now();
    const decision = decideBooking(this.policy, this.facts, changeRequestId, now);
    const streamId = scheduleStreamId(changeRequestId);
    const commandId = `${event.id}:BookDeployment`;
    switch (decision.decision) {
      case 'ignore':
        this.ctx.logger.warn({ changeRequestId, eventId: event.id }, decision.why);
        return;
      case 'refuse': {
        const { environment, reasons, nextAllowedAt } = decision;
        await this.append(streamId, commandId, { type: 'RefuseScheduling', data: { changeRequestId, environment, reasons, ...(nextAllowedAt ? { nextAllowedAt: nextAllowedAt.toISOString() } : {}), now } }, { ...correlationOf(event), policyVersion: decision.policyVersion });
        return;
      }
      case 'book':
        if (decision.note) this.ctx.logger.info({ changeRequestId }, decision.note);
        this.remember(await this.append(streamId, commandId, { type: 'BookDeployment', data: { booking: decision.booking, now } }, { ...correlationOf(event), policyVersion: decision.policyVersion }));
        return;
      default:
        return assertNever(decision);
    }
  }

  /** The change went away (cancelled, rejected) or lost its approval before its slot: the booking goes (and with it its start timer, deploymentStartWorkflow). */
  private async cancel(event: StoredEvent, changeRequestId: string, reason: string): Promise<void> {
    const booking = this.facts.bookings.get(changeRequestId) ?? this.facts.blocked.get(changeRequestId);
    if (booking === undefined) return;
    const now = this.ctx.clock.now();
    await this.append(scheduleStreamId(changeRequestId), `${event.id}:CancelBooking`, { type: 'CancelBooking', data: { changeRequestId, reason, now } }, correlationOf(event));
    this.facts.bookings.delete(changeRequestId);
    this.facts.blocked.delete(changeRequestId);
  }

  /** A new policy version: re-plan every booking under it (a version that does not load keeps the previous one). */
  private async activate(event: StoredEvent, files: PolicyFile[]): Promise<void> {
    try {
      this.policy = loadPolicySet(files, { recorded: true });
    } catch (error) {
      this.ctx.logger.error({ eventId: event.id, error: String(error) }, 'activated policy does not load; keeping the previous one for scheduling');
      return;
    }
    await this.replan(event, `policy ${this.policy.policyVersion}`);
  }

  private async replan(event: StoredEvent, cause: string): Promise<void> {
    const now = this.ctx.clock.now();
    for (const step of decideReplan(this.policy, this.facts, now, cause)) {
      const { changeRequestId, environment, policyVersion } = step;
      const streamId = scheduleStreamId(changeRequestId);
      const commandId = `${event.id}:Replan:${changeRequestId}`;
      const metadata = { ...correlationOf(event), policyVersion };
      if (step.decision === 'refuse') {
        await this.append(streamId, commandId, { type: 'RefuseScheduling', data: { changeRequestId, environment, reasons: step.reasons, now } }, metadata);
        this.facts.bookings.delete(changeRequestId);
        continue;
      }
      const { scheduledFor, windowId, reason } = step;
      this.remember(await this.append(streamId, commandId, { type: 'RescheduleDeployment', data: { changeRequestId, scheduledFor: scheduledFor.toISOString(), ...(windowId ? { windowId } : {}), policyVersion, reason, now } }, metadata));
    }
  }

  /** A workflow timer armed by this service's start workflow: remembered until it fires (its `TimerArmed` comes first in the log). */
  private noteStartTimer(armed: WorkflowTimerArmedData): void {
    if (armed.owner !== this.ctx.name || armed.target !== DEPLOYMENT_START_TARGET) return;
    const command = DecideDeploymentStartCommand.safeParse(armed.command);
    if (!command.success) return;
    this.startTimers.set(armed.timerId, { generation: armed.generation, ...command.data.data });
  }

  /** A start timer fired (and its command was taken): decide the start under the fired command's id. */
  private async startTimerFired(event: StoredEvent, fired: WorkflowTimerFiredData): Promise<void> {
    const timer = this.startTimers.get(fired.timerId);
    if (timer === undefined || timer.generation !== fired.generation) return;
    this.startTimers.delete(fired.timerId);
    if (fired.outcome !== 'sent') return;
    // One id for whichever command the decision appends: another replica, or a replay, decides nothing twice.
    const commandId = timerFireCommandId(fired);
    await this.start(event, { changeRequestId: timer.changeRequestId, dueAt: timer.dueAt, firedAt: fired.firedAt, commandIds: { start: commandId, rebook: commandId, refuse: commandId, block: commandId } });
  }

  /** A timer of an earlier version (`timer-<id>`) fired: decided under the ids that version used, so a start it already decided is not decided again. */
  private async legacyTimerFired(event: StoredEvent, fired: TimerFiredData): Promise<void> {
    const { timerId, dueAt, purpose, payload, firedAt } = fired;
    const changeRequestId = payload['changeRequestId'];
    if (purpose !== DEPLOYMENT_DUE_PURPOSE || typeof changeRequestId !== 'string') return;
    await this.start(event, { changeRequestId, dueAt, firedAt, commandIds: { start: timerId, rebook: `${timerId}:Rebook`, refuse: `${timerId}:Refuse`, block: `${timerId}:StartRefused` } });
  }

  /** A booking's timer fired: the start decision at the moment it fired (window, blackout, freeze, gates) says what happens. */
  private async start(event: StoredEvent, request: StartRequest): Promise<void> {
    const { changeRequestId, dueAt, firedAt, commandIds } = request;
    const booking = this.facts.bookings.get(changeRequestId);
    if (booking === undefined) return;
    const at = new Date(firedAt);
    const streamId = scheduleStreamId(changeRequestId);
    const decision = decideStart(this.policy, this.facts, booking, dueAt, at);
    const metadata = correlationOf(event);
    const now = this.ctx.clock.now();
    switch (decision.decision) {
      case 'stale':
        return;
      case 'start':
        // The fired timer is the causation: however often TimerFired is delivered, DeploymentDue is appended once.
        await this.append(streamId, commandIds.start, { type: 'MarkDeploymentDue', data: { changeRequestId, dueAt, now } }, metadata);
        return;
      case 'rebook': {
        const { scheduledFor, windowId, policyVersion, reason } = decision;
        this.remember(await this.append(streamId, commandIds.rebook, { type: 'RescheduleDeployment', data: { changeRequestId, scheduledFor: scheduledFor.toISOString(), ...(windowId ? { windowId } : {}), policyVersion, reason, now } }, { ...metadata, policyVersion }));
        return;
      }
      case 'refuse-slot':
        await this.append(streamId, commandIds.refuse, { type: 'RefuseScheduling', data: { changeRequestId, environment: booking.environment, reasons: decision.reasons, now } }, { ...metadata, policyVersion: decision.policyVersion });
        return;
      case 'block':
        await this.append(streamId, commandIds.block, { type: 'RefuseDeploymentStart', data: { changeRequestId, dueAt, reasons: decision.reasons, now } }, { ...metadata, policyVersion: this.policy.policyVersion });
        return;
      default:
        return assertNever(decision);
    }
  }

  /** The booking a person may move: scheduled, or blocked at its start and waiting for this new decision. */
  private async loadBooking(changeRequestId: string): Promise<Booking> {
    const history = await this.ctx.store.readStream(scheduleStreamId(changeRequestId));
    const current = history.reduce((s, e) => scheduleDecider.evolve(s, e as never), scheduleDecider.initialState());
    if (current.status === 'unbooked' || current.status === 'refused') throw new NotFoundError('deployment booking', changeRequestId);
    if (current.status !== 'scheduled' && current.status !== 'blocked') throw new IllegalTransitionError('deployment booking', 'reschedule', current.status, ['scheduled', 'blocked']);
    return current.booking;
  }

  private async move(changeRequestId: string, at: Date | undefined, reason: string, commandId: string, actor: string, correlationId: string | undefined): Promise<SlotBookedResult> {
    const booking = await this.loadBooking(changeRequestId);
    const now = this.ctx.clock.now();
    const decision = decideReschedule(this.policy, this.facts, booking, at, now);
    if (!decision.allowed) throw new SlotRefusedError(changeRequestId, decision.requestedAt.toISOString(), decision.reasons, decision.nextAllowedAt?.toISOString());
    const { scheduledFor, windowId, policyVersion } = decision;
    const result = await handleCommand({
      store: this.ctx.store,
      decider: scheduleDecider,
      streamId: scheduleStreamId(changeRequestId),
      command: { type: 'RescheduleDeployment', data: { changeRequestId, scheduledFor: scheduledFor.toISOString(), ...(windowId ? { windowId } : {}), policyVersion, reason, now } },
      commandId,
      metadata: { actor, ...(correlationId ? { correlationId } : {}), policyVersion },
    });
    if (result.state.status !== 'scheduled') throw new IllegalTransitionError('deployment booking', 'reschedule', result.state.status, ['scheduled']);
    this.remember(result);
    const booked = result.state.booking;
    return { changeRequestId, scheduledFor: booked.scheduledFor, ...(booked.windowId ? { windowId: booked.windowId } : {}), policyVersion: booked.policyVersion, duplicate: result.duplicate };
  }
}

const correlationOf = (event: StoredEvent) => ({ correlationId: (event.metadata.correlationId as string | undefined) ?? event.id });

export function schedulingMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    commands: counter('gatehouse_scheduling_commands_total', 'Scheduling commands handled, by command and outcome', ['command', 'outcome']),
    appended: counter('gatehouse_scheduling_events_appended_total', 'Events appended by scheduling, by type', ['type']),
  };
}
