/**
 * Alert channels as webhooks: Slack (an incoming webhook: `{"text": ...}`), email and SMS through a relay
 * URL each (JSON with recipients, subject and body). Each delivery is retried with exponential backoff and
 * jitter; the receiver gets `Idempotency-Key: <effect id>` so a delivery repeated after a crash is one alert.
 */
import type { AlertMessage, DeliverAlert, DeliveryOutcome } from '@gatehouse/domain';
import type { EffectPort } from '@gatehouse/service-kit';

export const ALERT_CHANNELS = ['slack', 'email', 'sms'] as const;

export interface WebhookChannel {
  url: string;
  /** Recipients the relay sends to (email addresses, phone numbers); unused by Slack. */
  to: string[];
}

export interface AlertDeliveryConfig {
  channels: Partial<Record<string, WebhookChannel>>;
  /** HTTP requests per delivery before it is recorded as failed. @defaultValue DEFAULT_ALERT_MAX_ATTEMPTS */
  maxAttempts?: number;
  /** First backoff, doubled after each failed attempt (with up to 50% jitter). @defaultValue DEFAULT_ALERT_BACKOFF_MS */
  backoffMs?: number;
  /** One request's timeout. @defaultValue DEFAULT_ALERT_TIMEOUT_MS */
  timeoutMs?: number;
}

export const DEFAULT_ALERT_MAX_ATTEMPTS = 5;
export const DEFAULT_ALERT_BACKOFF_MS = 500;
export const DEFAULT_ALERT_TIMEOUT_MS = 5_000;
/** SMS bodies are cut to one segment. */
const SMS_MAX_CHARS = 160;

/**
 * Channels from the environment: `GATEHOUSE_ALERT_SLACK_WEBHOOK_URL`, `GATEHOUSE_ALERT_EMAIL_WEBHOOK_URL` +
 * `GATEHOUSE_ALERT_EMAIL_TO`, `GATEHOUSE_ALERT_SMS_WEBHOOK_URL` + `GATEHOUSE_ALERT_SMS_TO` (comma-separated),
 * `GATEHOUSE_ALERT_MAX_ATTEMPTS`, `GATEHOUSE_ALERT_BACKOFF_MS`. A channel without a URL is not configured:
 * its deliveries are recorded as failed, with that reason.
 */
export function alertDeliveryConfigFromEnv(env: Readonly<Record<string, string | undefined>>): AlertDeliveryConfig {
  const list = (value: string | undefined) => (value ?? '').split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  const channels: AlertDeliveryConfig['channels'] = {};
  for (const name of ALERT_CHANNELS) {
    const url = env[`GATEHOUSE_ALERT_${name.toUpperCase()}_WEBHOOK_URL`];
    if (url === undefined || url.length === 0) continue;
    if (!URL.canParse(url)) throw new Error(`GATEHOUSE_ALERT_${name.toUpperCase()}_WEBHOOK_URL is not a URL: "${url}"`);
    channels[name] = { url, to: list(env[`GATEHOUSE_ALERT_${name.toUpperCase()}_TO`]) };
  }
  const positive = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
    return value;
  };
  const maxAttempts = positive('GATEHOUSE_ALERT_MAX_ATTEMPTS');
  const backoffMs = positive('GATEHOUSE_ALERT_BACKOFF_MS');
  return { channels, ...(maxAttempts !== undefined && { maxAttempts }), ...(backoffMs !== undefined && { backoffMs }) };
}

/** The JSON body a channel's webhook receives. */
export function webhookBody(channel: string, target: WebhookChannel, message: AlertMessage): Record<string, unknown> {
  const headline = `[${message.severity.toUpperCase()}] ${message.kind === 'page' ? 'PAGE: ' : ''}${message.rule} — ${message.service} in ${message.environment}`;
  const text = `${headline}\n${message.summary}\nchange ${message.changeRequestId}, raised ${message.raisedAt}`;
  switch (channel) {
    case 'slack':
      return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `*${headline}*\n${message.summary}\nchange \`${message.changeRequestId}\`, raised ${message.raisedAt}` } }] };
    case 'email':
      return { channel, to: target.to, subject: headline, text, alert: message };
    case 'sms':
      return { channel, to: target.to, text: `${headline}: ${message.summary}`.slice(0, SMS_MAX_CHARS), alert: message };
    default:
      return { channel, text, alert: message };
  }
}

/** Performs deliveries and remembers each one's outcome for the runner to record. */
export interface AlertDeliveryPort extends EffectPort<DeliverAlert> {
  outcomeOf(effectId: string): DeliveryOutcome;
}

export function webhookAlertPort(config: AlertDeliveryConfig, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): AlertDeliveryPort {
  const { maxAttempts = DEFAULT_ALERT_MAX_ATTEMPTS, backoffMs = DEFAULT_ALERT_BACKOFF_MS, timeoutMs = DEFAULT_ALERT_TIMEOUT_MS } = config;
  const outcomes = new Map<string, DeliveryOutcome>();

  async function attempt(url: string, body: Record<string, unknown>, effectId: string): Promise<{ ok: boolean; detail: string; retry: boolean }> {
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': effectId }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      const text = (await response.text().catch(() => '')).slice(0, 200);
      if (response.ok) return { ok: true, detail: `HTTP ${response.status}`, retry: false };
      // 4xx other than 408/429 will not get better by asking again.
      const retry = response.status >= 500 || response.status === 408 || response.status === 429;
      return { ok: false, detail: `HTTP ${response.status}${text ? `: ${text}` : ''}`, retry };
    } catch (error) {
      const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : String(error);
      return { ok: false, detail: `no answer: ${cause}`, retry: true };
    }
  }

  return {
    // A webhook cannot be asked whether it got a message: the intent's outcome is what makes it done once.
    isDone: async () => false,
    async perform(effect) {
      const target = config.channels[effect.channel];
      if (target === undefined) {
        outcomes.set(effect.effectId, { status: 'failed', attempts: 0, detail: `channel "${effect.channel}" is not configured (set GATEHOUSE_ALERT_${effect.channel.toUpperCase()}_WEBHOOK_URL)` });
        return;
      }
      const body = webhookBody(effect.channel, target, effect.message);
      let last = { ok: false, detail: 'not attempted', retry: true };
      let attempts = 0;
      while (attempts < maxAttempts) {
        attempts += 1;
        last = await attempt(target.url, body, effect.effectId);
        if (last.ok || !last.retry) break;
        if (attempts < maxAttempts) await sleep(backoffMs * 2 ** (attempts - 1) * (1 + Math.random() / 2));
      }
      outcomes.set(effect.effectId, last.ok ? { status: 'sent', attempts, detail: last.detail } : { status: 'failed', attempts, detail: `failed after ${attempts} attempts: ${last.detail}` });
    },
    outcomeOf(effectId) {
      const outcome = outcomes.get(effectId);
      outcomes.delete(effectId);
      return outcome ?? { status: 'failed', attempts: 0, detail: 'no delivery outcome observed' };
    },
  };
}
