/**
 * Reactions of the change-requests context to the other contexts' events. Every command id is derived
 * from the triggering event's id, so a redelivered event never changes anything twice.
 */
import { ApprovalEventSchemas } from '@gatehouse/contracts';
import type { EventConsumer } from '@gatehouse/bus';
import {
  changeRequestDecider,
  type ChangeRequestCommand,
  DomainError,
  MS_PER_MINUTE,
  releaseDecider,
  type ReleaseCommand,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext } from '@gatehouse/service-kit';
import { z } from 'zod';
import { changeRequestStream, type ExistingChange, loadRelease, releaseStream, requireChange } from './streams.js';
import { releaseLaneFor } from './hotfix-lane.js';
import { DeploymentRolledBackFacts, releaseStepForRollback } from './release-rollback.js';

/** Actor recorded on the events this service's process managers cause. */
export const PROCESS_MANAGER_ACTOR = 'change-requests';
export const CONSUMER_NAME = 'change-requests-lifecycle';

const Ids = { changeRequestId: z.string().min(1) };
const DeploymentIds = { ...Ids, deploymentId: z.string().min(1) };

/** What this service reads of other contexts' events (loose: producers may add fields). */
export const ConsumedEventSchemas = {
  DeploymentScheduled: z.object({ ...Ids, scheduledFor: z.iso.datetime({ offset: true }) }),
  DeploymentRescheduled: z.object({ ...Ids, scheduledFor: z.iso.datetime({ offset: true }) }),
  DeploymentStarted: z.object({ ...DeploymentIds, environment: z.string().min(1) }),
  DeploymentSucceeded: z.object(DeploymentIds),
  DeploymentFailed: z.object({ ...DeploymentIds, reason: z.string() }),
  DeploymentRolledBack: DeploymentRolledBackFacts,
  DeploymentAborted: z.object({ ...DeploymentIds, reason: z.string(), actor: z.string() }),
  PostDeploymentWatchCompleted: z.object(Ids),
  /** The watch stopped early (rolled back, failed or aborted): no validation, the change closes with its outcome. */
  PostDeploymentWatchEnded: z.object({ ...Ids, reason: z.string() }),
  ChangeFullyApproved: ApprovalEventSchemas.ChangeFullyApproved,
  ApprovalRejected: ApprovalEventSchemas.ApprovalRejected,
  ApprovalRevoked: ApprovalEventSchemas.ApprovalRevoked,
  ApprovalsInvalidated: ApprovalEventSchemas.ApprovalsInvalidated,
} as const;

type Schemas = typeof ConsumedEventSchemas;
type Consumed = { [K in keyof Schemas]: { type: K; data: z.output<Schemas[K]> } }[keyof Schemas];

/** One step of a reaction: a command on one of our streams. */
type Step = { stream: 'change'; command: ChangeRequestCommand } | { stream: 'release'; releaseId: string; command: ReleaseCommand; policyVersion?: string };

export async function startProcessManagers(ctx: ServiceContext, metrics: CommandMetrics): Promise<EventConsumer> {
  const { store, clock, logger } = ctx;

  async function apply(event: StoredEvent, changeRequestId: string, step: Step): Promise<void> {
    const commandId = `${event.id}:${step.command.type}`;
    const metadata = {
      actor: PROCESS_MANAGER_ACTOR,
      correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : event.id,
      ...(step.stream === 'release' && step.policyVersion !== undefined ? { policyVersion: step.policyVersion } : {}),
    };
    try {
      const result =
        step.stream === 'change'
          ? await handleCommand({ store, decider: changeRequestDecider, streamId: changeRequestStream(changeRequestId), command: step.command, commandId, metadata })
          : await handleCommand({ store, decider: releaseDecider, streamId: releaseStream(step.releaseId), command: step.command, commandId, metadata });
      metrics.eventsAppended(result.events.map((e) => e.type));
    } catch (error) {
      // A refusal will not change on redelivery: record it and move on; anything else is retried.
      if (!(error instanceof DomainError)) throw error;
      logger.warn({ err: error.message, code: error.code, eventId: event.id, eventType: event.type, command: step.command.type, changeRequestId }, 'process manager command refused');
    }
  }

  async function react(event: StoredEvent, consumed: Consumed): Promise<void> {
    const changeRequestId = changeRequestIdOf(consumed);
    let change: ExistingChange;
    try {
      change = await requireChange(store, changeRequestId);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      logger.warn({ eventId: event.id, eventType: event.type, changeRequestId }, 'event for an unknown change request ignored');
      return;
    }
    for (const step of await stepsFor(consumed, change)) await apply(event, changeRequestId, step);
  }

  async function stepsFor(consumed: Consumed, change: ExistingChange): Promise<Step[]> {
    const now = clock.now();
    const changeRequestId = change.changeRequestId;
    const releaseId = change.draft.releaseId;
    const environment = change.draft.environments[0] ?? '';
    const policySet = ctx.policies.current;
    const policy = policySet.environments[environment];
    const onRelease = (command: ReleaseCommand, policyVersion?: string): Step[] =>
      releaseId === undefined ? [] : [{ stream: 'release', releaseId, command, ...(policyVersion === undefined ? {} : { policyVersion }) }];

    switch (consumed.type) {
      case 'DeploymentScheduled':
      case 'DeploymentRescheduled': {
        const start = new Date(consumed.data.scheduledFor);
        const end = new Date(start.getTime() + change.draft.schedule.duration * MS_PER_MINUTE);
        return [{ stream: 'change', command: { type: 'ScheduleChange', data: { changeRequestId, window: { start: start.toISOString(), end: end.toISOString() }, scheduledBy: 'scheduling', now } } }];
      }
      case 'DeploymentStarted':
        return [
          { stream: 'change', command: { type: 'StartChangeImplementation', data: { changeRequestId, implementer: 'deployments', now } } },
          // A hotfix lane change takes the hotfix lane with its staging-validation evidence; every other change the normal lane.
          ...onRelease(
            {
              type: 'StartReleaseDeployment',
              data: { releaseId: releaseId ?? '', deploymentId: consumed.data.deploymentId, environment, promotesFrom: policy?.promotesFrom, ...(await releaseLaneFor(store, change)), startedBy: 'deployments', now },
            },
            policySet.policyVersion,
          ),
        ];
      case 'DeploymentSucceeded':
        return [
          { stream: 'change', command: { type: 'CompleteChangeImplementation', data: { changeRequestId, implementer: 'deployments', now } } },
          ...onRelease({ type: 'CompleteReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId: consumed.data.deploymentId, now } }),
        ];
      case 'DeploymentFailed':
        return [
          { stream: 'change', command: { type: 'FailChangeImplementation', data: { changeRequestId, reason: consumed.data.reason, now } } },
          ...onRelease({ type: 'FailReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId: consumed.data.deploymentId, reason: consumed.data.reason, now } }),
        ];
      case 'DeploymentRolledBack': {
        const { reason, initiator } = consumed.data;
        const requestedBy = initiator === 'automatic' ? 'monitoring' : 'deployments';
        const steps: Step[] = [{ stream: 'change', command: { type: 'RollBackChange', data: { changeRequestId, requestedBy, reason, now } } }];
        if (releaseId === undefined) return steps;
        const releaseStep = releaseStepForRollback(consumed.data, await loadRelease(store, releaseId), environment, now);
        return releaseStep === null ? steps : [...steps, ...onRelease(releaseStep, policySet.policyVersion)];
      }
      case 'DeploymentAborted': {
        const { deploymentId, actor } = consumed.data;
        const reason = `aborted by ${actor}: ${consumed.data.reason}`;
        // Aborted before it started implementing: the change is cancelled; during implementation: it failed.
        if (change.status !== 'implementing') return [{ stream: 'change', command: { type: 'CancelChange', data: { changeRequestId, cancelledBy: actor, reason, now } } }];
        return [
          { stream: 'change', command: { type: 'FailChangeImplementation', data: { changeRequestId, reason, now } } },
          ...onRelease({ type: 'FailReleaseDeployment', data: { releaseId: releaseId ?? '', deploymentId, reason, now } }),
        ];
      }
      case 'PostDeploymentWatchEnded':
        return [{ stream: 'change', command: { type: 'CloseChange', data: { changeRequestId, closedBy: PROCESS_MANAGER_ACTOR, now } } }];
      case 'PostDeploymentWatchCompleted':
        return [
          ...(change.status === 'validating'
            ? [{ stream: 'change' as const, command: { type: 'ValidateChange' as const, data: { changeRequestId, validator: 'monitoring', outcome: 'passed' as const, notes: 'post-deployment watch completed', now } } }]
            : []),
          { stream: 'change', command: { type: 'CloseChange', data: { changeRequestId, closedBy: PROCESS_MANAGER_ACTOR, now } } },
        ];
      case 'ChangeFullyApproved': {
        const { approvalId, subject } = consumed.data;
        const steps: Step[] = [{ stream: 'change', command: { type: 'RecordChangeApproval', data: { changeRequestId, approvalId, now } } }];
        if (subject.releaseId === null) return steps;
        // The release is approved once, by the first change that is; later changes deploy an approved or deployed release.
        const release = await loadRelease(store, subject.releaseId);
        if (release.status !== 'planned') return steps;
        return [...steps, { stream: 'release', releaseId: subject.releaseId, command: { type: 'ApproveRelease', data: { releaseId: subject.releaseId, approvalId, revision: subject.revision, now } } }];
      }
      case 'ApprovalRejected':
        return [{ stream: 'change', command: { type: 'RejectChangeRequest', data: { changeRequestId, rejectedBy: consumed.data.approver, reason: consumed.data.reason, now } } }];
      // A full approval that no longer holds sends the change back to wait for approval (scheduling then cancels its booking);
      // a grant taken back while approvals were still being collected changes nothing for the change.
      case 'ApprovalRevoked': {
        const { approvalId, approver, role, reason, wasFullyApproved } = consumed.data;
        if (!wasFullyApproved) return [];
        return [
          {
            stream: 'change',
            command: { type: 'WithdrawChangeApproval', data: { changeRequestId, approvalId, cause: 'revoked', withdrawnBy: approver, reason: `${approver} revoked the ${role} approval: ${reason}`, now } },
          },
        ];
      }
      case 'ApprovalsInvalidated': {
        const { approvalId, reason, wasFullyApproved } = consumed.data;
        if (wasFullyApproved !== true) return [];
        return [{ stream: 'change', command: { type: 'WithdrawChangeApproval', data: { changeRequestId, approvalId, cause: 'invalidated', withdrawnBy: 'approvals', reason, now } } }];
      }
    }
  }

  return ctx.events.consume({
    name: CONSUMER_NAME,
    categories: ['schedule', 'deployment', 'watch', 'approval'],
    eventTypes: Object.keys(ConsumedEventSchemas),
    dataSchemas: ConsumedEventSchemas,
    handler: async ({ event }) => react(event, { type: event.type, data: event.data } as Consumed),
  });
}

/** Approval events name the approval, whose id is the change request's (one approval request per change). */
function changeRequestIdOf(consumed: Consumed): string {
  switch (consumed.type) {
    case 'ChangeFullyApproved':
    case 'ApprovalRejected':
      return consumed.data.subject.changeRequestId;
    case 'ApprovalRevoked':
    case 'ApprovalsInvalidated':
      return consumed.data.approvalId;
    default:
      return consumed.data.changeRequestId;
  }
}
