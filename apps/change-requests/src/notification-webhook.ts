/**
 * Delivery of release notifications to a webhook (GATEHOUSE_NOTIFICATION_WEBHOOK_URL): Slack-compatible incoming
 * webhook JSON (`text`) with the facts beside it. Kept small and on its own so it can give way to a shared alert
 * delivery channel. A webhook cannot be asked whether it already received a message: every attempt is sent with the
 * notification's effect id as `Idempotency-Key`, so a receiver that dedupes gets it once.
 */
import type { DeliverNotification } from '@gatehouse/domain';
import type { EffectPort } from '@gatehouse/service-kit';

/** How long one delivery attempt may take. */
export const NOTIFICATION_TIMEOUT_MS = 5_000;

export class NotificationDeliveryError extends Error {
  override readonly name = 'NotificationDeliveryError';
  constructor(
    readonly url: string,
    readonly detail: string,
  ) {
    super(`notification webhook ${url} refused the delivery: ${detail}`);
  }
}

export function notificationText(n: DeliverNotification): string {
  const milestone = n.milestone.replace('_', ' ');
  return `[${n.audience}] ${n.service} ${n.version} ${milestone} in ${n.environment}: ${n.message}`;
}

export function webhookNotifications(url: string, timeoutMs = NOTIFICATION_TIMEOUT_MS): EffectPort<DeliverNotification> {
  return {
    isDone: async () => false,
    async perform(n) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': n.effectId },
          body: JSON.stringify({ text: notificationText(n), gatehouse: { ...n } }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new NotificationDeliveryError(url, error instanceof Error ? error.message : String(error));
      }
      if (!response.ok) throw new NotificationDeliveryError(url, `HTTP ${response.status}`);
    },
  };
}
