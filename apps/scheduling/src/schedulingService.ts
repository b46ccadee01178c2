import type { EventConsumer } from '@gatehouse/bus';
import { RequestSlotPayload, ReschedulePayload, SCHEDULING_CONTEXT, type SlotBookedResult } from '@gatehouse/contracts';
import { DomainError, IllegalTransitionError, NotFoundError, parseOrThrow, type ChangeRequestSubmitted } from '@gatehouse/domain';
import { type StoredEvent, WrongExpectedVersionError } from '@gatehouse/eventstore';
import { type Approval, getEnvironmentPolicy, loadPolicySet, type PolicyFile, type PolicySet, type Role } from '@gatehouse/policy';
import { handleCommand, POLICY_STREAM, registeredCounter, type ServiceContext, type ServiceDefinition, startTicker } from '@gatehouse/service-kit';
import type { Counter, Registry } from 'prom-client';
import {
  checkDeploymentSlot,
  findDeploymentSlot,
  scheduleDecider,
  scheduleStreamId,
  timerDecider,
  timerStreamId,
  windowContaining,
  type Booking,
  type ScheduleCommand,
  type ScheduleState,
  type TimerState,
} from '@gatehouse/domain';
import { approvalsOfFills, emergencyBooking, type EmergencyChangeFacts, emergencyStart } from './emergency.js';

/** How often the timer loop looks for due timers, in ms. */
export const TIMER_POLL_INTERVAL_MS = 1_000;
export const DEPLOYMENT_DUE_PURPOSE = 'deployment-due';
const ACTOR = 'scheduling';
const MS_PER_MINUTE = 60_000;

export interface SchedulingServiceOptions {
  /** @defaultValue TIMER_POLL_INTERVAL_MS */
  timerPollIntervalMs?: number;
}

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

interface KnownChange {
  releaseId?: string;
  environments: string[];
  kind: Booking['changeType'];
  planned: string;
  author: string;
  includesMigration: boolean;
  hasRunbook: boolean;
}

/** What the process manager learns from the log: releases, changes, bookings, the latest policy and pending timers. */
class SchedulingState {
  readonly releases = new Map<string, { service: string; version: string }>();
  readonly changes = new Map<string, KnownChange>();
  readonly bookings = new Map<string, Booking>();
  /** timerId → due instant (ms) of armed timers not yet fired or cancelled. */
  readonly pendingTimers = new Map<string, number>();
  /** changeRequestId → who approved in which role, from its latest full approval (emergency changes go on these). */
  readonly approvals = new Map<string, Approval[]>();
  constructor(public policy: PolicySet) {}
}

export function createSchedulingService(options: SchedulingServiceOptions = {}): ServiceDefinition {
  return {
    name: SCHEDULING_CONTEXT,
    async start(ctx) {
      const state = new SchedulingState(ctx.policies.current);
      const metrics = schedulingMetrics(ctx.metrics);
      const append = async <S>(streamId: string, commandId: string, command: ScheduleCommand, metadata: Record<string, unknown>) => {
        const result = await handleCommand({ store: ctx.store, decider: scheduleDecider, streamId, command, commandId, metadata: { actor: ACTOR, ...metadata } });
        result.events.forEach((e) => metrics.appended.inc({ type: e.type }));
        return result as typeof result & { state: ScheduleState & S };
      };

      const planner = createPlanner(ctx, state, append);
      // The read model is rebuilt by replaying the log at every start (no durable state is kept or left behind);
      // every reaction is idempotent (deterministic command ids), so replayed events change nothing.
      const consumer: EventConsumer = await ctx.events.consume({
        name: 'scheduling-planner',
        replay: true,
        categories: ['release', 'changeRequest', 'approval', 'schedule', 'timer', 'policy'],
        handler: async ({ event }) => {
          try {
            await planner.on(event);
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            // A refusal by our own deciders is final for this event: log it rather than retry.
            ctx.logger.warn({ eventId: event.id, type: event.type, error: error.message, code: error.code }, 'scheduling reaction refused');
          }
        },
      });

      const ticker = startTicker(
        options.timerPollIntervalMs ?? ctx.tickIntervalMs ?? TIMER_POLL_INTERVAL_MS,
        () => fireDueTimers(ctx, state, metrics.timersFired),
        (error) => ctx.logger.error({ error: String(error) }, 'timer loop failed'),
      );

      const handle = <P>(command: string, run: (payload: P) => Promise<SlotBookedResult>) => async (payload: unknown) => {
        try {
          const result = await run(payload as P);
          metrics.commands.inc({ command, outcome: 'ok' });
          return result;
        } catch (error) {
          metrics.commands.inc({ command, outcome: error instanceof DomainError ? error.name : 'error' });
          throw error;
        }
      };
      const unregister = [
        await ctx.commands.register(SCHEDULING_CONTEXT, 'requestSlot', handle('requestSlot', (p: unknown) => planner.requestSlot(parseOrThrow(RequestSlotPayload, p, 'scheduling.requestSlot')))),
        await ctx.commands.register(SCHEDULING_CONTEXT, 'reschedule', handle('reschedule', (p: unknown) => planner.reschedule(parseOrThrow(ReschedulePayload, p, 'scheduling.reschedule')))),
      ];
      return {
        stop: async () => {
          await ticker.stop();
          await Promise.all(unregister.map((u) => u()));
          await consumer.stop();
        },
      };
    },
  };
}

export const schedulingService: ServiceDefinition = createSchedulingService();

type Append = (streamId: string, commandId: string, command: ScheduleCommand, metadata: Record<string, unknown>) => Promise<{ decided: readonly { type: string; data: unknown }[]; state: ScheduleState; duplicate: boolean }>;

function createPlanner(ctx: ServiceContext, state: SchedulingState, append: Append) {
  const correlationOf = (event: StoredEvent) => ({ correlationId: (event.metadata.correlationId as string | undefined) ?? event.id });

  function remember(booking: Booking): void {
    state.bookings.set(booking.changeRequestId, booking);
  }

  function emergencyFacts(changeRequestId: string, change: KnownChange): EmergencyChangeFacts {
    const { environments, author, includesMigration, hasRunbook } = change;
    return { environment: environments[0] ?? '', author, includesMigration, hasRunbook, approvals: state.approvals.get(changeRequestId) ?? [] };
  }

  async function book(event: StoredEvent, changeRequestId: string): Promise<void> {
    const change = state.changes.get(changeRequestId);
    if (change === undefined) {
      ctx.logger.warn({ changeRequestId, eventId: event.id }, 'approval of a change never submitted: nothing to book');
      return;
    }
    const streamId = scheduleStreamId(changeRequestId);
    const commandId = `${event.id}:BookDeployment`;
    const now = ctx.clock.now();
    const environment = change.environments[0] ?? '';
    const refuse = (reasons: string[], nextAllowedAt?: Date) =>
      append(streamId, commandId, { type: 'RefuseScheduling', data: { changeRequestId, environment, reasons, ...(nextAllowedAt ? { nextAllowedAt: nextAllowedAt.toISOString() } : {}), now } }, { ...correlationOf(event), policyVersion: state.policy.policyVersion });
    if (change.environments.length !== 1) {
      await refuse([`one deployment per change request: the change names ${change.environments.length} environments (${change.environments.join(', ')}); submit one change per environment`]);
      return;
    }
    const release = change.releaseId === undefined ? undefined : state.releases.get(change.releaseId);
    if (change.releaseId === undefined || release === undefined) {
      await refuse([change.releaseId === undefined ? 'the change names no release, so there is no service and version to deploy' : `release ${change.releaseId} is unknown`]);
      return;
    }
    if (!(environment in state.policy.environments)) {
      await refuse([`no policy for environment ${environment}`]);
      return;
    }
    const strategy = getEnvironmentPolicy(state.policy, environment).strategy.default;
    const from = new Date(Math.max(now.getTime(), Date.parse(change.planned)));
    if (change.kind === 'emergency') {
      const start = emergencyStart(state.policy, emergencyFacts(changeRequestId, change), from, strategy);
      if (start.allowed) {
        const booking = emergencyBooking({ changeRequestId, releaseId: change.releaseId, service: release.service, version: release.version, environment, changeType: change.kind, strategy }, from, start);
        const result = await append(streamId, commandId, { type: 'BookDeployment', data: { booking, now } }, { ...correlationOf(event), policyVersion: start.policyVersion });
        if (result.state.status === 'scheduled') remember(result.state.booking);
        return;
      }
      // Not allowed now with these approvals (e.g. approved before a blackout began): the next regular slot, as for any change.
      ctx.logger.info({ changeRequestId, reasons: start.reasons }, 'emergency change may not start now: booking the next regular slot');
    }
    const slot = findDeploymentSlot(state.policy, {
      changeRequestId,
      service: release.service,
      environment,
      changeType: change.kind,
      strategy,
      from,
      bookings: [...state.bookings.values()],
    });
    if (!slot.found) {
      await refuse(slot.reasons);
      return;
    }
    const booking: Booking = {
      changeRequestId,
      releaseId: change.releaseId,
      service: release.service,
      version: release.version,
      environment,
      changeType: change.kind,
      strategy,
      scheduledFor: slot.scheduledFor.toISOString(),
      ...(slot.window ? { windowId: slot.window.windowId } : {}),
      policyVersion: slot.policyVersion,
    };
    const result = await append(streamId, commandId, { type: 'BookDeployment', data: { booking, now } }, { ...correlationOf(event), policyVersion: slot.policyVersion });
    if (result.state.status === 'scheduled') remember(result.state.booking);
  }

  async function armTimer(event: StoredEvent, booking: Booking): Promise<void> {
    const timerId = dueTimerId(booking);
    await handleCommand({
      store: ctx.store,
      decider: timerDecider,
      streamId: timerStreamId(timerId),
      command: { type: 'ArmTimer', data: { timerId, dueAt: booking.scheduledFor, purpose: DEPLOYMENT_DUE_PURPOSE, payload: { changeRequestId: booking.changeRequestId }, now: ctx.clock.now() } },
      commandId: `${event.id}:ArmTimer`,
      metadata: { actor: ACTOR, ...correlationOf(event) },
    });
  }

  /** The change's approval was withdrawn before its slot: the booking and the timer that would start the deployment go; the next approval books again. */
  async function withdrawBooking(event: StoredEvent, changeRequestId: string, reason: string): Promise<void> {
    const booking = state.bookings.get(changeRequestId);
    if (booking === undefined) return;
    const now = ctx.clock.now();
    await append(scheduleStreamId(changeRequestId), `${event.id}:CancelBooking`, { type: 'CancelBooking', data: { changeRequestId, reason, now } }, correlationOf(event));
    const timerId = dueTimerId(booking);
    await handleCommand({
      store: ctx.store,
      decider: timerDecider,
      streamId: timerStreamId(timerId),
      command: { type: 'CancelTimer', data: { timerId, reason, now } },
      commandId: `${event.id}:CancelTimer`,
      metadata: { actor: ACTOR, ...correlationOf(event) },
    });
    state.bookings.delete(changeRequestId);
  }

  /** A new policy version: every booking whose slot it no longer allows moves to the next allowed slot (or is withdrawn). */
  async function replan(event: StoredEvent, files: PolicyFile[]): Promise<void> {
    let policy: PolicySet;
    try {
      policy = loadPolicySet(files);
    } catch (error) {
      ctx.logger.error({ eventId: event.id, error: String(error) }, 'activated policy does not load; keeping the previous one for scheduling');
      return;
    }
    state.policy = policy;
    const now = ctx.clock.now();
    for (const booking of [...state.bookings.values()]) {
      if (Date.parse(booking.scheduledFor) <= now.getTime()) continue;
      const change = state.changes.get(booking.changeRequestId);
      // An emergency that went through the bypass stays while the new policy still lets it go with its approvals.
      if (booking.emergencyBypass !== undefined && change !== undefined && emergencyStart(policy, emergencyFacts(booking.changeRequestId, change), new Date(booking.scheduledFor), booking.strategy).allowed) continue;
      const others = [...state.bookings.values()];
      const check = checkDeploymentSlot(policy, { ...booking, at: new Date(booking.scheduledFor), bookings: others });
      if (check.allowed) continue;
      const streamId = scheduleStreamId(booking.changeRequestId);
      const commandId = `${event.id}:Replan:${booking.changeRequestId}`;
      const slot = findDeploymentSlot(policy, { ...booking, from: now, bookings: others });
      const metadata = { ...correlationOf(event), policyVersion: policy.policyVersion };
      if (!slot.found) {
        await append(streamId, commandId, { type: 'RefuseScheduling', data: { changeRequestId: booking.changeRequestId, environment: booking.environment, reasons: [...check.reasons, ...slot.reasons], now } }, metadata);
        state.bookings.delete(booking.changeRequestId);
        continue;
      }
      const reason = `policy ${policy.policyVersion} no longer allows ${booking.scheduledFor}: ${check.reasons.join('; ')}`;
      const result = await append(
        streamId,
        commandId,
        {
          type: 'RescheduleDeployment',
          data: { changeRequestId: booking.changeRequestId, scheduledFor: slot.scheduledFor.toISOString(), ...(slot.window ? { windowId: slot.window.windowId } : {}), policyVersion: policy.policyVersion, reason, now },
        },
        metadata,
      );
      if (result.state.status === 'scheduled') remember(result.state.booking);
    }
  }

  async function onTimerFired(event: StoredEvent): Promise<void> {
    const { timerId, dueAt, purpose, payload } = event.data as { timerId: string; dueAt: string; purpose: string; payload: { changeRequestId?: string } };
    state.pendingTimers.delete(timerId);
    if (purpose !== DEPLOYMENT_DUE_PURPOSE || payload.changeRequestId === undefined) return;
    const changeRequestId = payload.changeRequestId;
    // The timer id is the causation: however often TimerFired is delivered, DeploymentDue is appended once.
    const result = await append(scheduleStreamId(changeRequestId), timerId, { type: 'MarkDeploymentDue', data: { changeRequestId, dueAt, now: ctx.clock.now() } }, correlationOf(event));
    if (result.state.status !== 'scheduled') state.bookings.delete(changeRequestId);
  }

  async function loadBooking(changeRequestId: string): Promise<Booking> {
    const history = await ctx.store.readStream(scheduleStreamId(changeRequestId));
    const current = history.reduce((s, e) => scheduleDecider.evolve(s, e as never), scheduleDecider.initialState());
    if (current.status === 'unbooked' || current.status === 'refused') throw new NotFoundError('deployment booking', changeRequestId);
    if (current.status !== 'scheduled') throw new IllegalTransitionError('deployment booking', 'reschedule', current.status, ['scheduled']);
    return current.booking;
  }

  async function moveTo(booking: Booking, at: Date, reason: string, commandId: string, actor: string, correlationId: string | undefined): Promise<SlotBookedResult> {
    const check = checkDeploymentSlot(state.policy, { ...booking, at, bookings: [...state.bookings.values()] });
    if (!check.allowed) throw new SlotRefusedError(booking.changeRequestId, at.toISOString(), check.reasons, check.nextAllowedAt?.toISOString());
    const result = await handleCommand({
      store: ctx.store,
      decider: scheduleDecider,
      streamId: scheduleStreamId(booking.changeRequestId),
      command: {
        type: 'RescheduleDeployment',
        data: { changeRequestId: booking.changeRequestId, scheduledFor: at.toISOString(), ...(check.window ? { windowId: check.window.windowId } : {}), policyVersion: check.policyVersion, reason, now: ctx.clock.now() },
      },
      commandId,
      metadata: { actor, ...(correlationId ? { correlationId } : {}), policyVersion: check.policyVersion },
    });
    if (result.state.status !== 'scheduled') throw new IllegalTransitionError('deployment booking', 'reschedule', result.state.status, ['scheduled']);
    remember(result.state.booking);
    const { scheduledFor, windowId, policyVersion } = result.state.booking;
    return { changeRequestId: booking.changeRequestId, scheduledFor, ...(windowId ? { windowId } : {}), policyVersion, duplicate: result.duplicate };
  }

  return {
    async on(event: StoredEvent): Promise<void> {
      switch (event.type) {
        case 'ReleasePlanned': {
          const { releaseId, service, version } = event.data as { releaseId: string; service: string; version: string };
          state.releases.set(releaseId, { service, version });
          return;
        }
        case 'ChangeRequestSubmitted': {
          const { changeRequestId, kind, draft } = event.data as ChangeRequestSubmitted['data'];
          state.changes.set(changeRequestId, {
            ...(draft.releaseId ? { releaseId: draft.releaseId } : {}),
            environments: [...draft.environments],
            kind,
            planned: draft.schedule.planned,
            author: draft.author,
            includesMigration: draft.includesMigration,
            hasRunbook: draft.runbookRef !== undefined,
          });
          return;
        }
        case 'ChangeFullyApproved': {
          const { approvalId, fills } = event.data as { approvalId: string; fills: Array<{ role: Role; approvers: string[] }> };
          // One approval request per change request: the approval id is the change's id.
          state.approvals.set(approvalId, approvalsOfFills(fills));
          return;
        }
        case 'ChangeRequestApproved':
        case 'ChangeRequestPreApproved':
          return book(event, (event.data as { changeRequestId: string }).changeRequestId);
        case 'ChangeCancelled':
        case 'ChangeRequestRejected': {
          const changeRequestId = (event.data as { changeRequestId: string }).changeRequestId;
          if (!state.bookings.has(changeRequestId)) return;
          await append(scheduleStreamId(changeRequestId), `${event.id}:CancelBooking`, { type: 'CancelBooking', data: { changeRequestId, reason: `change ${event.type === 'ChangeCancelled' ? 'cancelled' : 'rejected'}`, now: ctx.clock.now() } }, correlationOf(event));
          state.bookings.delete(changeRequestId);
          return;
        }
        case 'ChangeApprovalWithdrawn': {
          const { changeRequestId, reason } = event.data as { changeRequestId: string; reason: string };
          return withdrawBooking(event, changeRequestId, `approval withdrawn: ${reason}`);
        }
        case 'DeploymentScheduled':
        case 'DeploymentRescheduled': {
          const { previousScheduledFor: _p, reason: _r, ...booking } = event.data as Booking & { previousScheduledFor?: string; reason?: string };
          remember(booking);
          return armTimer(event, booking);
        }
        case 'SchedulingRefused':
        case 'DeploymentDue':
        case 'BookingCancelled':
          state.bookings.delete((event.data as { changeRequestId: string }).changeRequestId);
          return;
        case 'TimerArmed': {
          const { timerId, dueAt } = event.data as { timerId: string; dueAt: string };
          state.pendingTimers.set(timerId, Date.parse(dueAt));
          return;
        }
        case 'TimerCancelled':
          state.pendingTimers.delete((event.data as { timerId: string }).timerId);
          return;
        case 'TimerFired':
          return onTimerFired(event);
        case 'PolicyVersionActivated':
          if (event.streamId !== POLICY_STREAM) return;
          return replan(event, (event.data as { files: PolicyFile[] }).files);
        default:
          return;
      }
    },

    async requestSlot(payload: RequestSlotPayload): Promise<SlotBookedResult> {
      const booking = await loadBooking(payload.changeRequestId);
      const actor = payload.actor ?? 'unknown';
      return moveTo(booking, new Date(payload.at), `slot ${payload.at} requested by ${actor}`, payload.commandId, actor, payload.correlationId);
    },

    async reschedule(payload: ReschedulePayload): Promise<SlotBookedResult> {
      const booking = await loadBooking(payload.changeRequestId);
      const actor = payload.actor ?? 'unknown';
      if (payload.at !== undefined) return moveTo(booking, new Date(payload.at), payload.reason, payload.commandId, actor, payload.correlationId);
      // Without a time: the next allowed slot after the current booking's window.
      const current = new Date(booking.scheduledFor);
      const after = windowContaining(state.policy, booking.environment, current)?.end ?? new Date(current.getTime() + MS_PER_MINUTE);
      const from = new Date(Math.max(after.getTime(), ctx.clock.now().getTime()));
      const slot = findDeploymentSlot(state.policy, { ...booking, from, bookings: [...state.bookings.values()] });
      if (!slot.found) throw new SlotRefusedError(booking.changeRequestId, from.toISOString(), slot.reasons, undefined);
      return moveTo(booking, slot.scheduledFor, payload.reason, payload.commandId, actor, payload.correlationId);
    },
  };
}

/** Deterministic: one timer per booked instant of a change, so re-arming after a replay is a no-op. */
export function dueTimerId(booking: Pick<Booking, 'changeRequestId' | 'scheduledFor'>): string {
  return `${booking.changeRequestId}-due-${Date.parse(booking.scheduledFor)}`;
}

/** Fires each due timer by appending TimerFired at the version read: a concurrent or repeated firing loses and does nothing. */
async function fireDueTimers(ctx: ServiceContext, state: SchedulingState, fired: Counter<'purpose'>): Promise<void> {
  const now = ctx.clock.now();
  for (const [timerId, dueAt] of [...state.pendingTimers]) {
    if (dueAt > now.getTime()) continue;
    const streamId = timerStreamId(timerId);
    const history = await ctx.store.readStream(streamId);
    const timer = history.reduce<TimerState>((s, e) => timerDecider.evolve(s, e as never), timerDecider.initialState());
    const last = history.at(-1);
    if (timer.status !== 'armed' || last === undefined) {
      state.pendingTimers.delete(timerId);
      continue;
    }
    const events = timerDecider.decide({ type: 'FireTimer', data: { timerId, now } }, timer);
    try {
      await ctx.store.appendToStream(
        streamId,
        events.map((e) => ({ type: e.type, data: e.data, metadata: { actor: ACTOR, causationId: last.id, correlationId: (last.metadata.correlationId as string | undefined) ?? last.id } })),
        { expectedVersion: last.streamVersion },
      );
      events.forEach(() => fired.inc({ purpose: timer.purpose }));
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      // Another instance fired it first.
    }
    state.pendingTimers.delete(timerId);
  }
}

function schedulingMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    commands: counter('gatehouse_scheduling_commands_total', 'Scheduling commands handled, by command and outcome', ['command', 'outcome']),
    appended: counter('gatehouse_scheduling_events_appended_total', 'Events appended by scheduling, by type', ['type']),
    timersFired: counter('gatehouse_scheduling_timers_fired_total', 'Durable timers fired, by purpose', ['purpose']),
  };
}
