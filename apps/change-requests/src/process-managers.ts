/**
 * Wiring of the change lifecycle workflow (libs/domain `changeLifecycleWorkflow`: how a change and its
 * release follow approvals, scheduling, deployments and monitoring) to the workflow runner: which events
 * it reads, how its state and facts are gathered, and how its commands reach the two deciders.
 */
import { ApprovalEventSchemas } from '@gatehouse/contracts';
import type { ReceivedEvent } from '@gatehouse/bus';
import {
  CHANGE_LIFECYCLE_ACTOR,
  changeLifecycleWorkflow,
  changeRequestDecider,
  type ChangeLifecycleEvent,
  type ChangeLifecycleInput,
  type ChangeLifecycleState,
  type ChangeRequestCommand,
  type ChangeRequestEvent,
  changeRequestIdOf,
  classifyChangeLifecycleRefusal,
  releaseDecider,
  type ReleaseCommand,
  type ReleaseEvent,
  type WorkflowSend,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext, workflowReaction } from '@gatehouse/service-kit';
import { z } from 'zod';
import { changeRequestStream, releaseStream } from './streams.js';
import { releaseLaneFor } from './hotfix-lane.js';

/** Actor recorded on the events this service's reactions cause. */
export const PROCESS_MANAGER_ACTOR = CHANGE_LIFECYCLE_ACTOR;
export const CONSUMER_NAME = 'change-requests-lifecycle';
/** The categories the lifecycle workflow reads. */
export const CONSUMED_CATEGORIES = ['schedule', 'deployment', 'watch', 'approval'] as const;

const Ids = { changeRequestId: z.string().min(1) };
const DeploymentIds = { ...Ids, deploymentId: z.string().min(1) };
const Instant = z.iso.datetime({ offset: true });

/** What this service reads of other contexts' events (loose: producers may add fields). */
export const ConsumedEventSchemas = {
  DeploymentScheduled: z.object({ ...Ids, scheduledFor: Instant, bookedAt: Instant.optional() }),
  DeploymentRescheduled: z.object({ ...Ids, scheduledFor: Instant, bookedAt: Instant.optional() }),
  DeploymentStarted: z.object({ ...DeploymentIds, environment: z.string().min(1), startedAt: Instant }),
  DeploymentSucceeded: z.object({ ...DeploymentIds, completedAt: Instant }),
  DeploymentFailed: z.object({ ...DeploymentIds, reason: z.string(), at: Instant }),
  DeploymentRolledBack: z.object({
    ...DeploymentIds,
    reason: z.string(),
    initiator: z.enum(['automatic', 'manual']),
    actor: z.string().optional(),
    basis: z.enum(['within_window', 'no_window', 'incident_review', 'beyond_window_allowed']).optional(),
    incidentReviewRef: z.string().optional(),
    at: Instant,
  }),
  DeploymentAborted: z.object({ ...DeploymentIds, reason: z.string(), actor: z.string(), at: Instant }),
  PostDeploymentWatchCompleted: z.object({ ...Ids, completedAt: Instant }),
  /** The watch stopped early (rolled back, failed or aborted): no validation, the change closes with its outcome. */
  PostDeploymentWatchEnded: z.object({ ...Ids, reason: z.string(), endedAt: Instant }),
  ChangeFullyApproved: ApprovalEventSchemas.ChangeFullyApproved,
  ApprovalRejected: ApprovalEventSchemas.ApprovalRejected,
  ApprovalRevoked: ApprovalEventSchemas.ApprovalRevoked,
  ApprovalsInvalidated: ApprovalEventSchemas.ApprovalsInvalidated,
} as const;

type Target = 'change' | 'release';
type Command = ChangeRequestCommand | ReleaseCommand;

/** The change lifecycle workflow's reaction: the handler of its durable consumer (lifecycle.controller.ts). */
export function changeLifecycleReaction(ctx: ServiceContext, metrics: CommandMetrics): (received: ReceivedEvent) => Promise<void> {
  const { store } = ctx;

  async function prepare(event: StoredEvent): Promise<{ input: ChangeLifecycleInput; state: ChangeLifecycleState } | null> {
    const lifecycleEvent = { type: event.type, data: event.data } as ChangeLifecycleEvent;
    const changeEvents = await store.readStream(changeRequestStream(changeRequestIdOf(lifecycleEvent)));
    let state = changeEvents.reduce((s, e) => changeLifecycleWorkflow.evolve(s, { type: e.type, data: e.data } as ChangeRequestEvent), changeLifecycleWorkflow.initialState());
    const change = state.change;
    const releaseId = change.status === 'not_submitted' ? undefined : change.draft.releaseId;
    if (releaseId !== undefined) {
      const releaseEvents = await store.readStream(releaseStream(releaseId));
      state = releaseEvents.reduce((s, e) => changeLifecycleWorkflow.evolve(s, { type: e.type, data: e.data } as ReleaseEvent), state);
    }
    const policySet = ctx.policies.current;
    const environmentPolicy = change.status === 'not_submitted' ? undefined : policySet.environments[change.draft.environments[0] ?? ''];
    const input: ChangeLifecycleInput = {
      eventId: event.id,
      event: lifecycleEvent,
      policy: {
        policyVersion: policySet.policyVersion,
        environment: environmentPolicy === undefined ? undefined : { promotesFrom: environmentPolicy.promotesFrom, rollback: environmentPolicy.rollback, postDeploymentValidation: environmentPolicy.postDeploymentValidation },
      },
      // Only a deployment's start needs the lane (it reads the hotfix's streams).
      ...(event.type === 'DeploymentStarted' && change.status !== 'not_submitted' ? { lane: await releaseLaneFor(store, change) } : {}),
    };
    return { input, state };
  }

  async function send(output: WorkflowSend<Target, Command>, cause: StoredEvent): Promise<readonly string[]> {
    const metadata = {
      actor: PROCESS_MANAGER_ACTOR,
      correlationId: typeof cause.metadata.correlationId === 'string' ? cause.metadata.correlationId : cause.id,
      ...(output.policyVersion === undefined ? {} : { policyVersion: output.policyVersion }),
    };
    const { streamId, commandId } = output;
    const result =
      output.target === 'change'
        ? await handleCommand({ store, decider: changeRequestDecider, streamId, command: output.command as ChangeRequestCommand, commandId, metadata })
        : await handleCommand({ store, decider: releaseDecider, streamId, command: output.command as ReleaseCommand, commandId, metadata });
    const types = result.events.map((e) => e.type);
    metrics.eventsAppended(types);
    return types;
  }

  return workflowReaction({
    name: CONSUMER_NAME,
    dataSchemas: ConsumedEventSchemas,
    workflow: changeLifecycleWorkflow,
    prepare,
    send,
    classifyRefusal: classifyChangeLifecycleRefusal,
    logger: ctx.logger,
    metrics: ctx.metrics,
  });
}
