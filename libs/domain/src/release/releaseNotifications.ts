import { iso } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import type { EffectProtocol, OpenIntent } from '../workflows/effects.js';
import type { CommunicationEntry, CommunicationMilestone } from './releasePlan.js';

/**
 * A release's notifications (`notification-<releaseId>`), delivered like the effects of a deployment: at a milestone
 * the communication plan names, an intent per notification is recorded first; the delivery (a webhook) is performed
 * after, and its outcome recorded: delivered, or failed after MAX_NOTIFICATION_ATTEMPTS attempts.
 */

/** Attempts before a notification is given up as failed (each after the runner's lease). */
export const MAX_NOTIFICATION_ATTEMPTS = 5;

export interface DeliverNotification {
  readonly kind: 'DeliverNotification';
  readonly effectId: string;
  readonly releaseId: string;
  readonly milestone: CommunicationMilestone;
  readonly audience: CommunicationEntry['audience'];
  readonly message: string;
  readonly environment: string;
  readonly changeRequestId: string;
  readonly service: string;
  readonly version: string;
}

type Milestone = { releaseId: string; milestone: CommunicationMilestone; environment: string; changeRequestId: string; service: string; version: string };
/** `causeId` (the milestone's event id) makes the effect ids deterministic: a redelivered milestone records nothing new. */
export type NotifyMilestone = DomainCommand<'NotifyMilestone', Milestone & { causeId: string; notifications: readonly CommunicationEntry[]; now: Date }>;
export type RecordNotificationDelivered = DomainCommand<'RecordNotificationDelivered', { effectId: string; now: Date }>;
export type ClaimNotificationAttempt = DomainCommand<'ClaimNotificationAttempt', { effectId: string; attempt: number; now: Date }>;
export type GiveUpNotification = DomainCommand<'GiveUpNotification', { effectId: string; reason: string; now: Date }>;
export type ReleaseNotificationCommand = NotifyMilestone | RecordNotificationDelivered | ClaimNotificationAttempt | GiveUpNotification;

export type ReleaseNotificationIntended = DomainEvent<'ReleaseNotificationIntended', Omit<DeliverNotification, 'kind'> & { intendedAt: string }>;
export type ReleaseNotificationAttempted = DomainEvent<'ReleaseNotificationAttempted', { effectId: string; attempt: number; at: string }>;
export type ReleaseNotificationDelivered = DomainEvent<'ReleaseNotificationDelivered', { effectId: string; attempts: number; deliveredAt: string }>;
export type ReleaseNotificationFailed = DomainEvent<'ReleaseNotificationFailed', { effectId: string; attempts: number; reason: string; failedAt: string }>;
export type ReleaseNotificationEvent = ReleaseNotificationIntended | ReleaseNotificationAttempted | ReleaseNotificationDelivered | ReleaseNotificationFailed;

export type ReleaseNotificationState = { open: Record<string, OpenIntent<DeliverNotification>>; settled: string[] };

export function decideReleaseNotification(command: ReleaseNotificationCommand, state: ReleaseNotificationState): ReleaseNotificationEvent[] {
  switch (command.type) {
    case 'NotifyMilestone': {
      const { causeId, notifications, now, ...milestone } = command.data;
      return notifications
        .map((n, index) => ({ effectId: `${causeId}:notify-${index}`, n }))
        .filter(({ effectId }) => state.open[effectId] === undefined && !state.settled.includes(effectId))
        .map(({ effectId, n }) => ({ type: 'ReleaseNotificationIntended', data: { effectId, ...milestone, audience: n.audience, message: n.message, intendedAt: iso(now) } }));
    }
    case 'RecordNotificationDelivered': {
      const open = state.open[command.data.effectId];
      if (open === undefined) return [];
      return [{ type: 'ReleaseNotificationDelivered', data: { effectId: command.data.effectId, attempts: open.attempt, deliveredAt: iso(command.data.now) } }];
    }
    case 'ClaimNotificationAttempt': {
      const open = state.open[command.data.effectId];
      if (open === undefined || open.attempt >= command.data.attempt) return [];
      return [{ type: 'ReleaseNotificationAttempted', data: { effectId: command.data.effectId, attempt: command.data.attempt, at: iso(command.data.now) } }];
    }
    case 'GiveUpNotification': {
      const open = state.open[command.data.effectId];
      if (open === undefined) return [];
      return [{ type: 'ReleaseNotificationFailed', data: { effectId: command.data.effectId, attempts: open.attempt, reason: command.data.reason, failedAt: iso(command.data.now) } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveReleaseNotification(state: ReleaseNotificationState, event: ReleaseNotificationEvent): ReleaseNotificationState {
  switch (event.type) {
    case 'ReleaseNotificationIntended': {
      const { intendedAt: _at, ...effect } = event.data;
      return { ...state, open: { ...state.open, [effect.effectId]: { effect: { kind: 'DeliverNotification', ...effect }, attempt: 1 } } };
    }
    case 'ReleaseNotificationAttempted': {
      const open = state.open[event.data.effectId];
      return open === undefined ? state : { ...state, open: { ...state.open, [event.data.effectId]: { ...open, attempt: event.data.attempt } } };
    }
    case 'ReleaseNotificationDelivered':
    case 'ReleaseNotificationFailed': {
      const { [event.data.effectId]: _settled, ...open } = state.open;
      return { open, settled: [...state.settled, event.data.effectId] };
    }
    default:
      return assertNever(event);
  }
}

export const releaseNotificationDecider: Decider<ReleaseNotificationCommand, ReleaseNotificationEvent, ReleaseNotificationState> = {
  decide: decideReleaseNotification,
  evolve: evolveReleaseNotification,
  initialState: () => ({ open: {}, settled: [] }),
};

export const releaseNotificationEffects: EffectProtocol<ReleaseNotificationCommand, ReleaseNotificationState, DeliverNotification> = {
  openIntents: (state) => Object.values(state.open),
  recordOutcome: (effect, now) => ({ type: 'RecordNotificationDelivered', data: { effectId: effect.effectId, now } }),
  recordFailure: ({ effect }, reason, now) => ({ type: 'GiveUpNotification', data: { effectId: effect.effectId, reason, now } }),
  claimAttempt: (intent, now) => ({ type: 'ClaimNotificationAttempt', data: { effectId: intent.effect.effectId, attempt: intent.attempt + 1, now } }),
};

export const releaseNotificationStreamId = (releaseId: string): string => `notification-${releaseId}`;
