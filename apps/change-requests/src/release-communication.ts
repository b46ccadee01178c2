/**
 * The communication plan, delivered: at each milestone of a release's deployment (booked, started, rolled back;
 * `incident` for an automatic rollback) the notifications its plan names are recorded as intents on
 * `notification-<releaseId>`, delivered to the webhook, and their outcome recorded (effect runner). A delivery that
 * fails is attempted again after the runner's lease, and recorded as failed after MAX_NOTIFICATION_ATTEMPTS.
 * Durable consumer `change-requests-release-communication`; started only with GATEHOUSE_NOTIFICATION_WEBHOOK_URL.
 */
import { NotificationEventSchemas } from '@gatehouse/contracts';
import {
  type CommunicationMilestone,
  MAX_NOTIFICATION_ATTEMPTS,
  notificationsFor,
  releaseNotificationDecider,
  releaseNotificationEffects,
  type ReleaseNotificationEvent,
  releaseNotificationStreamId,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { type CommandMetrics, createEffectRunner, type EffectPort, type ServiceContext, startTicker } from '@gatehouse/service-kit';
import type { DeliverNotification } from '@gatehouse/domain';
import { z } from 'zod';
import { loadReleasePlan } from './release-plan-commands.js';

export const RELEASE_COMMUNICATION_CONSUMER = 'change-requests-release-communication';
export const NOTIFICATION_RETRY_POLL_INTERVAL_MS = 1_000;
const ACTOR = 'change-requests';

/** What a milestone event must carry (loose: producers may add fields). */
const Milestone = z.object({ releaseId: z.string().min(1), changeRequestId: z.string().min(1), service: z.string().min(1), version: z.string().min(1), environment: z.string().min(1) });
type MilestoneData = z.infer<typeof Milestone> & { initiator?: string };

/** The milestone an event is, if any: a booking, a start, a rollback (an automatic one is an incident). */
export function milestoneOf(event: Pick<StoredEvent, 'type' | 'data'>): CommunicationMilestone[] {
  if (event.type === 'DeploymentScheduled') return ['scheduled'];
  if (event.type === 'DeploymentStarted') return ['started'];
  if (event.type === 'DeploymentRolledBack') return (event.data as MilestoneData).initiator === 'automatic' ? ['rolled_back', 'incident'] : ['rolled_back'];
  return [];
}

/** What the release communication consumer reads, validated before the handler sees it. */
export const RELEASE_COMMUNICATION_EVENTS = {
  DeploymentScheduled: Milestone,
  DeploymentStarted: Milestone,
  DeploymentRolledBack: Milestone.extend({ initiator: z.string() }),
  ReleaseNotificationIntended: NotificationEventSchemas.ReleaseNotificationIntended,
} as const;

/** The communication plan's notifications: the milestone reaction (communication.controller.ts) and the delivery retry tick. */
export interface ReleaseCommunication {
  onMilestone(event: StoredEvent): Promise<void>;
  stop(): Promise<void>;
}

export function startReleaseCommunication(ctx: ServiceContext, metrics: CommandMetrics, port: EffectPort<DeliverNotification>): ReleaseCommunication {
  const { store, clock } = ctx;
  const effects = createEffectRunner({ store, decider: releaseNotificationDecider, protocol: releaseNotificationEffects, port, clock, actor: ACTOR, logger: ctx.logger });
  /** Releases whose notifications may have an intent without outcome. */
  const pending = new Set<string>();

  async function onMilestone(event: StoredEvent): Promise<void> {
    const data = event.data as MilestoneData;
    if (event.type === 'ReleaseNotificationIntended') return void pending.add(data.releaseId);
    const plan = await loadReleasePlan(store, data.releaseId);
    for (const milestone of milestoneOf(event)) {
      const notifications = notificationsFor(plan, milestone, data.environment);
      if (notifications.length === 0) continue;
      const { releaseId, changeRequestId, service, version, environment } = data;
      const command = { type: 'NotifyMilestone' as const, data: { releaseId, milestone, environment, changeRequestId, service, version, causeId: `${event.id}:${milestone}`, notifications, now: clock.now() } };
      const result = await effects.decide(releaseNotificationStreamId(releaseId), command, `${event.id}:${milestone}:notify`, {
        actor: ACTOR,
        correlationId: typeof event.metadata.correlationId === 'string' ? event.metadata.correlationId : event.id,
      });
      metrics.eventsAppended(result.events.map((e) => e.type));
      pending.add(releaseId);
    }
  }

  // Deliveries that failed: another attempt once the lease ran out, and a recorded failure after the last one.
  const ticker = startTicker(
    ctx.tickIntervalMs ?? NOTIFICATION_RETRY_POLL_INTERVAL_MS,
    async () => {
      for (const releaseId of [...pending]) {
        const streamId = releaseNotificationStreamId(releaseId);
        const history = await store.readStream(streamId);
        const state = history.reduce((s, e) => releaseNotificationDecider.evolve(s, { type: e.type, data: e.data } as ReleaseNotificationEvent), releaseNotificationDecider.initialState());
        const open = releaseNotificationEffects.openIntents(state);
        if (open.length === 0) {
          pending.delete(releaseId);
          continue;
        }
        for (const intent of open.filter((i) => i.attempt >= MAX_NOTIFICATION_ATTEMPTS)) {
          const reason = `not delivered after ${intent.attempt} attempts`;
          const result = await effects.decide(streamId, { type: 'GiveUpNotification', data: { effectId: intent.effect.effectId, reason, now: clock.now() } }, `${intent.effect.effectId}:give-up`, { actor: ACTOR });
          metrics.eventsAppended(result.events.map((e) => e.type));
        }
        metrics.eventsAppended((await effects.resume(streamId)).map((e) => e.type));
      }
    },
    (error) => ctx.logger.warn({ error: String(error) }, 'notification delivery retry failed; trying again on the next tick'),
  );

  return { onMilestone, stop: () => ticker.stop() };
}
