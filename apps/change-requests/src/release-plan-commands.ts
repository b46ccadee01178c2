/**
 * `releasePlans.*` commands: a release's prerequisites on `releasePlan-<releaseId>` streams, and their deadline
 * check. Who acts is the verified caller. The deadline index is rebuilt from the streams at every start (replay
 * consumer `change-requests-release-plan-deadlines`); the ticker sends `MarkPrerequisiteOverdue` on the injected
 * clock with one command id per prerequisite, so `ReleasePrerequisiteOverdue` is a fact once, across replicas.
 */
import { type CommandContext, requireCaller } from '@gatehouse/bus';
import {
  AddPrerequisitePayload,
  GetReleasePlanPayload,
  RELEASE_PLANS_CONTEXT,
  releasePlanStreamId,
  type ReleasePlanView,
  SetCommunicationPlanPayload,
  SetPrerequisiteStatusPayload,
} from '@gatehouse/contracts';
import {
  DomainError,
  foldEvents,
  openPrerequisites,
  parseOrThrow,
  releasePlanDecider,
  type ReleasePlanCommand,
  type ReleasePlanEvent,
  type ReleasePlanState,
} from '@gatehouse/domain';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, startTicker } from '@gatehouse/service-kit';
import { requireRelease } from './streams.js';

export const RELEASE_PLAN_DEADLINES_CONSUMER = 'change-requests-release-plan-deadlines';
/** How often the deadline ticker looks at the clock, in ms. */
export const RELEASE_PLAN_DEADLINE_POLL_INTERVAL_MS = 1_000;
const ACTOR = 'change-requests';

export async function loadReleasePlan(store: EventStore, releaseId: string): Promise<ReleasePlanState> {
  const events = await store.readStream(releasePlanStreamId(releaseId));
  return foldEvents(releasePlanDecider, events.map((e) => ({ type: e.type, data: e.data }) as ReleasePlanEvent));
}

export function releasePlanView(releaseId: string, state: ReleasePlanState, events: string[], duplicate: boolean): ReleasePlanView {
  return {
    releaseId,
    streamId: releasePlanStreamId(releaseId),
    prerequisites: state.prerequisites.map((p) => ({ ...p })),
    open: openPrerequisites(state.prerequisites).map((p) => p.prerequisiteId),
    communication: state.communication.map((n) => ({ ...n })),
    events,
    duplicate,
  };
}

async function decide(ctx: ServiceContext, metrics: CommandMetrics, releaseId: string, command: ReleasePlanCommand, commandId: string, metadata: { actor: string; correlationId: string }): Promise<ReleasePlanView> {
  const result = await handleCommand({ store: ctx.store, decider: releasePlanDecider, streamId: releasePlanStreamId(releaseId), command, commandId, metadata });
  metrics.eventsAppended(result.events.map((e) => e.type));
  return releasePlanView(releaseId, result.state, result.decided.map((e) => e.type), result.duplicate);
}

/** The releasePlans.* command handlers (the `@MessagePattern` methods of commands.controller.ts call them). */
export function releasePlanCommands(ctx: ServiceContext, metrics: CommandMetrics) {
  const { store, clock } = ctx;
  return {
    addPrerequisite: async (raw, meta) => {
      const p = parseOrThrow(AddPrerequisitePayload, raw, `${RELEASE_PLANS_CONTEXT}.addPrerequisite payload`);
      const caller = requireCaller(meta);
      await requireRelease(store, p.releaseId);
      const command: ReleasePlanCommand = { type: 'AddPrerequisite', data: { releaseId: p.releaseId, prerequisite: p.prerequisite, by: caller.subject, byRoles: caller.roles, now: clock.now() } };
      return decide(ctx, metrics, p.releaseId, command, p.commandId, { actor: caller.subject, correlationId: p.correlationId ?? p.commandId });
    },
    setPrerequisiteStatus: async (raw, meta) => {
      const p = parseOrThrow(SetPrerequisiteStatusPayload, raw, `${RELEASE_PLANS_CONTEXT}.setPrerequisiteStatus payload`);
      const caller = requireCaller(meta);
      const command: ReleasePlanCommand = {
        type: 'SetPrerequisiteStatus',
        data: { releaseId: p.releaseId, prerequisiteId: p.prerequisiteId, change: p.change, by: caller.subject, byRoles: caller.roles, now: clock.now() },
      };
      return decide(ctx, metrics, p.releaseId, command, p.commandId, { actor: caller.subject, correlationId: p.correlationId ?? p.commandId });
    },
    setCommunicationPlan: async (raw, meta) => {
      const p = parseOrThrow(SetCommunicationPlanPayload, raw, `${RELEASE_PLANS_CONTEXT}.setCommunicationPlan payload`);
      const caller = requireCaller(meta);
      await requireRelease(store, p.releaseId);
      const command: ReleasePlanCommand = { type: 'SetCommunicationPlan', data: { releaseId: p.releaseId, plan: p.plan, by: caller.subject, byRoles: caller.roles, now: clock.now() } };
      return decide(ctx, metrics, p.releaseId, command, p.commandId, { actor: caller.subject, correlationId: p.correlationId ?? p.commandId });
    },
    getReleasePlan: async (raw) => {
      const p = parseOrThrow(GetReleasePlanPayload, raw, `${RELEASE_PLANS_CONTEXT}.getReleasePlan payload`);
      return releasePlanView(p.releaseId, await loadReleasePlan(store, p.releaseId), [], false);
    },
  } satisfies Record<string, (payload: unknown, meta: CommandContext) => Promise<ReleasePlanView>>;
}

/** Prerequisite deadlines: followed from the release plans' events (a replay subscription), marked overdue on a tick. */
export interface ReleasePlanDeadlines {
  on(event: StoredEvent): void;
  stop(): Promise<void>;
}

export function startReleasePlanDeadlines(ctx: ServiceContext, metrics: CommandMetrics): ReleasePlanDeadlines {
  const { clock } = ctx;
  // Pending prerequisites and their deadlines (ms), by release: what the ticker checks.
  const pending = new Map<string, Map<string, number>>();
  const ticker = startTicker(
    ctx.tickIntervalMs ?? RELEASE_PLAN_DEADLINE_POLL_INTERVAL_MS,
    async () => {
      const now = clock.now();
      for (const [releaseId, ofRelease] of pending) {
        for (const [prerequisiteId, deadline] of ofRelease) {
          if (deadline > now.getTime()) continue;
          try {
            await decide(ctx, metrics, releaseId, { type: 'MarkPrerequisiteOverdue', data: { releaseId, prerequisiteId, now } }, `${releasePlanStreamId(releaseId)}:overdue:${prerequisiteId}`, { actor: ACTOR, correlationId: releasePlanStreamId(releaseId) });
            ofRelease.delete(prerequisiteId);
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            ofRelease.delete(prerequisiteId);
          }
        }
      }
    },
    (error) => ctx.logger.error({ error: String(error) }, 'release plan deadline check failed; retrying on the next tick'),
  );
  return {
    on(event) {
      if (event.type === 'ReleaseCommunicationPlanSet') return;
      const { releaseId, prerequisiteId } = event.data as { releaseId: string; prerequisiteId: string };
      const ofRelease = pending.get(releaseId) ?? new Map<string, number>();
      if (event.type === 'ReleasePrerequisiteAdded') ofRelease.set(prerequisiteId, Date.parse((event.data as { deadline: string }).deadline));
      else if (event.type === 'ReleasePrerequisiteOverdue' || (event.data as { status?: string }).status !== 'pending') ofRelease.delete(prerequisiteId);
      pending.set(releaseId, ofRelease);
    },
    stop: () => ticker.stop(),
  };
}
