/**
 * Delivering one alert to its channels (stream `alert-delivery-<alert event id>`), pure. The request records
 * one intent per channel (the effect runner performs it: a webhook POST with retries and backoff), and each
 * intent ends in one delivery record: sent, or failed after N attempts. Cooldowns are the watch's (an alert
 * is raised once per cooldown); this stream makes each raised alert delivered at most once per channel.
 */
import { iso } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { ValidationError } from '../errors.js';
import type { EffectProtocol, OpenIntent } from '../workflows/effects.js';

/** What the receiver is told: enough to act without opening Gatehouse. */
export interface AlertMessage {
  /** Id of the event that raised the alert (AlertRaised, AutomaticRollbackLimitReached). */
  alertId: string;
  kind: 'alert' | 'page';
  rule: string;
  severity: 'critical' | 'warning' | 'info';
  changeRequestId: string;
  service: string;
  environment: string;
  summary: string;
  raisedAt: string;
}

export interface DeliverAlert {
  readonly kind: 'DeliverAlert';
  readonly effectId: string;
  readonly channel: string;
  readonly message: AlertMessage;
}

/** How one delivery ended: `attempts` HTTP requests were made (0: the channel is not configured). */
export interface DeliveryOutcome {
  status: 'sent' | 'failed';
  attempts: number;
  detail: string;
}

export type RequestAlertDelivery = DomainCommand<'RequestAlertDelivery', { message: AlertMessage; channels: readonly string[]; now: Date }>;
export type RecordAlertDelivery = DomainCommand<'RecordAlertDelivery', { effectId: string; outcome: DeliveryOutcome; now: Date }>;
export type ClaimAlertDeliveryAttempt = DomainCommand<'ClaimAlertDeliveryAttempt', { effectId: string; attempt: number; now: Date }>;
export type AlertDeliveryCommand = RequestAlertDelivery | RecordAlertDelivery | ClaimAlertDeliveryAttempt;

export type AlertDeliveryIntended = DomainEvent<'AlertDeliveryIntended', { effectId: string; channel: string; message: AlertMessage; at: string }>;
export type AlertDeliveryAttemptClaimed = DomainEvent<'AlertDeliveryAttemptClaimed', { effectId: string; attempt: number; at: string }>;
export type AlertDelivered = DomainEvent<'AlertDelivered', { effectId: string; alertId: string; channel: string; attempts: number; detail: string; at: string }>;
export type AlertDeliveryFailed = DomainEvent<'AlertDeliveryFailed', { effectId: string; alertId: string; channel: string; attempts: number; detail: string; at: string }>;
export type AlertDeliveryEvent = AlertDeliveryIntended | AlertDeliveryAttemptClaimed | AlertDelivered | AlertDeliveryFailed;

export interface AlertDeliveryState {
  deliveries: Record<string, { effect: DeliverAlert; attempt: number; settled: boolean }>;
}

export const alertDeliveryStreamId = (alertId: string) => `alert-delivery-${alertId}`;
export const alertDeliveryEffectId = (alertId: string, channel: string) => `${alertId}:deliver:${channel}`;

export function decideAlertDelivery(command: AlertDeliveryCommand, state: AlertDeliveryState): AlertDeliveryEvent[] {
  switch (command.type) {
    case 'RequestAlertDelivery': {
      const { message, channels, now } = command.data;
      if (channels.length === 0) throw new ValidationError('alert delivery', [{ field: 'channels', reason: `alert ${message.rule} names no channel to deliver to` }]);
      return [...new Set(channels)]
        .map((channel) => ({ channel, effectId: alertDeliveryEffectId(message.alertId, channel) }))
        .filter(({ effectId }) => state.deliveries[effectId] === undefined)
        .map(({ channel, effectId }) => ({ type: 'AlertDeliveryIntended', data: { effectId, channel, message: { ...message }, at: iso(now) } }));
    }
    case 'RecordAlertDelivery': {
      const delivery = state.deliveries[command.data.effectId];
      if (delivery === undefined || delivery.settled) return [];
      const { outcome, now } = command.data;
      const data = { effectId: delivery.effect.effectId, alertId: delivery.effect.message.alertId, channel: delivery.effect.channel, attempts: outcome.attempts, detail: outcome.detail, at: iso(now) };
      return [outcome.status === 'sent' ? { type: 'AlertDelivered', data } : { type: 'AlertDeliveryFailed', data }];
    }
    case 'ClaimAlertDeliveryAttempt': {
      const delivery = state.deliveries[command.data.effectId];
      if (delivery === undefined || delivery.settled || delivery.attempt >= command.data.attempt) return [];
      return [{ type: 'AlertDeliveryAttemptClaimed', data: { effectId: command.data.effectId, attempt: command.data.attempt, at: iso(command.data.now) } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveAlertDelivery(state: AlertDeliveryState, event: AlertDeliveryEvent): AlertDeliveryState {
  switch (event.type) {
    case 'AlertDeliveryIntended': {
      const { effectId, channel, message } = event.data;
      return { deliveries: { ...state.deliveries, [effectId]: { effect: { kind: 'DeliverAlert', effectId, channel, message }, attempt: 1, settled: false } } };
    }
    case 'AlertDeliveryAttemptClaimed': {
      const delivery = state.deliveries[event.data.effectId];
      return delivery === undefined ? state : { deliveries: { ...state.deliveries, [event.data.effectId]: { ...delivery, attempt: event.data.attempt } } };
    }
    case 'AlertDelivered':
    case 'AlertDeliveryFailed': {
      const delivery = state.deliveries[event.data.effectId];
      return delivery === undefined ? state : { deliveries: { ...state.deliveries, [event.data.effectId]: { ...delivery, settled: true } } };
    }
    default:
      return assertNever(event);
  }
}

export const alertDeliveryDecider: Decider<AlertDeliveryCommand, AlertDeliveryEvent, AlertDeliveryState> = {
  decide: decideAlertDelivery,
  evolve: evolveAlertDelivery,
  initialState: () => ({ deliveries: {} }),
};

/**
 * The effect protocol of alert delivery. The outcome of a delivery (sent, or failed after its attempts) is
 * what the performer observed, so the service passes `outcomeOf` (the port's last result for an effect).
 */
export function alertDeliveryEffects(outcomeOf: (effectId: string) => DeliveryOutcome): EffectProtocol<AlertDeliveryCommand, AlertDeliveryState, DeliverAlert> {
  return {
    openIntents: (state) => Object.values(state.deliveries).filter((d) => !d.settled).map((d): OpenIntent<DeliverAlert> => ({ effect: d.effect, attempt: d.attempt })),
    recordOutcome: (effect, now) => ({ type: 'RecordAlertDelivery', data: { effectId: effect.effectId, outcome: outcomeOf(effect.effectId), now } }),
    recordFailure: ({ effect, attempt }, reason, now) => ({ type: 'RecordAlertDelivery', data: { effectId: effect.effectId, outcome: { status: 'failed', attempts: attempt, detail: reason }, now } }),
    claimAttempt: (intent, now) => ({ type: 'ClaimAlertDeliveryAttempt', data: { effectId: intent.effect.effectId, attempt: intent.attempt + 1, now } }),
  };
}
