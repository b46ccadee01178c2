/**
 * `releasePlans.*` commands: a release's prerequisites on `releasePlan-<releaseId>` streams, and their deadline
 * timers. Who acts is the verified caller. Workflow `releasePlanDeadlinesWorkflow` (durable consumer
 * `change-requests-release-plan-deadlines`) arms a timer per pending prerequisite and cancels it when the
 * prerequisite leaves pending; the service's timer runner sends the fired timer's `MarkPrerequisiteOverdue`
 * to the `releasePlan` target (`releasePlanTimerTarget`) once, so `ReleasePrerequisiteOverdue` is a fact once, across replicas.
 */
import { type CommandContext, type ReceivedEvent, requireCaller } from '@gatehouse/bus';
import {
  AddPrerequisitePayload,
  GetReleasePlanPayload,
  RELEASE_PLANS_CONTEXT,
  ReleasePlanEventSchemas,
  releasePlanStreamId,
  type ReleasePlanView,
  SetCommunicationPlanPayload,
  SetPrerequisiteStatusPayload,
} from '@gatehouse/contracts';
import {
  foldEvents,
  openPrerequisites,
  parseOrThrow,
  releasePlanDeadlinesWorkflow,
  releasePlanDecider,
  type ReleasePlanCommand,
  type ReleasePlanEvent,
  type ReleasePlanState,
} from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, type TimerTarget, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';
import { requireRelease } from './streams.js';

export const RELEASE_PLAN_DEADLINES_CONSUMER = 'change-requests-release-plan-deadlines';
const ACTOR = 'change-requests';

/** What a prerequisite deadline timer sends (armed by `releasePlanDeadlinesWorkflow`); its time is the instant it fired. */
const MarkPrerequisiteOverdueTimerCommand = z.object({
  type: z.literal('MarkPrerequisiteOverdue'),
  data: z.object({ releaseId: z.string().min(1), prerequisiteId: z.string().min(1) }),
});

/** The `releasePlan` timer target: a fired prerequisite deadline records `ReleasePrerequisiteOverdue` (nothing if it is no longer pending). */
export function releasePlanTimerTarget(ctx: ServiceContext, metrics: CommandMetrics): TimerTarget {
  return async (raw, { commandId, timer, firedAt, correlationId }) => {
    const { data } = parseOrThrow(MarkPrerequisiteOverdueTimerCommand, raw, 'release plan timer command');
    const command: ReleasePlanCommand = { type: 'MarkPrerequisiteOverdue', data: { releaseId: data.releaseId, prerequisiteId: data.prerequisiteId, now: firedAt } };
    const result = await handleCommand({ store: ctx.store, decider: releasePlanDecider, streamId: timer.streamId, command, commandId, metadata: { actor: ACTOR, correlationId } });
    const types = result.events.map((e) => e.type);
    metrics.eventsAppended(types);
    return types;
  };
}

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

/**
 * The prerequisite deadlines workflow, as the handler of its durable consumer (reactions.controller.ts):
 * timers armed while a prerequisite is pending, fired by the service's timer runner.
 */
export function releasePlanDeadlines(ctx: ServiceContext): (received: ReceivedEvent) => Promise<void> {
  const { store, clock } = ctx;
  return workflowReaction({
    name: RELEASE_PLAN_DEADLINES_CONSUMER,
    dataSchemas: ReleasePlanEventSchemas,
    workflow: releasePlanDeadlinesWorkflow,
    prepare: async (event) => {
      const planEvent = { type: event.type, data: event.data } as ReleasePlanEvent;
      if (planEvent.type !== 'ReleasePrerequisiteStatusChanged') return { input: { event: planEvent, deadline: null }, state: null };
      // A status change does not repeat the deadline: the prerequisite's stream has it.
      const { releaseId, prerequisiteId } = planEvent.data;
      const prerequisite = (await loadReleasePlan(store, releaseId)).prerequisites.find((p) => p.prerequisiteId === prerequisiteId);
      return { input: { event: planEvent, deadline: prerequisite?.deadline ?? null }, state: null };
    },
    timers: { store, owner: ctx.name, clock },
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
}
