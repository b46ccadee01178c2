import type { AlertMessage } from '@gatehouse/domain';
import { alertDeliveryConfigFromEnv, webhookBody } from './webhooks.js';

const message: AlertMessage = {
  alertId: 'evt-1',
  kind: 'alert',
  rule: 'slow-response-time',
  severity: 'warning',
  changeRequestId: 'cr-1',
  service: 'checkout',
  environment: 'production',
  summary: 'slow-response-time > 2 held for 0 s (≥ 0 s): alert '.repeat(5),
  raisedAt: '2026-12-01T10:00:00.000Z',
};

describe('alert channels from the environment', () => {
  it('configures the channels that have a URL, with their recipients and the retry settings', () => {
    expect(
      alertDeliveryConfigFromEnv({
        GATEHOUSE_ALERT_SLACK_WEBHOOK_URL: 'https://hooks.example.test/services/T0/B0/x',
        GATEHOUSE_ALERT_SMS_WEBHOOK_URL: 'http://sms-relay.internal:8080/send',
        GATEHOUSE_ALERT_SMS_TO: '+15550100, +15550101',
        GATEHOUSE_ALERT_EMAIL_WEBHOOK_URL: '',
        GATEHOUSE_ALERT_MAX_ATTEMPTS: '3',
      }),
    ).toEqual({
      channels: { slack: { url: 'https://hooks.example.test/services/T0/B0/x', to: [] }, sms: { url: 'http://sms-relay.internal:8080/send', to: ['+15550100', '+15550101'] } },
      maxAttempts: 3,
    });
  });

  it('refuses a setting it cannot use, naming it', () => {
    expect(() => alertDeliveryConfigFromEnv({ GATEHOUSE_ALERT_MAX_ATTEMPTS: 'many' })).toThrow('GATEHOUSE_ALERT_MAX_ATTEMPTS must be a positive integer, got "many"');
    expect(() => alertDeliveryConfigFromEnv({ GATEHOUSE_ALERT_SLACK_WEBHOOK_URL: 'not a url' })).toThrow('GATEHOUSE_ALERT_SLACK_WEBHOOK_URL is not a URL: "not a url"');
  });
});

describe('webhook bodies', () => {
  it('Slack gets text and a section block; email a subject; SMS one segment', () => {
    const slack = webhookBody('slack', { url: 'x', to: [] }, message);
    expect(slack['text']).toMatch(/^\[WARNING\] slow-response-time — checkout in production\n/);
    expect(slack['blocks']).toHaveLength(1);
    expect(webhookBody('email', { url: 'x', to: ['a@example.test'] }, message)).toMatchObject({ channel: 'email', to: ['a@example.test'], subject: '[WARNING] slow-response-time — checkout in production', alert: message });
    expect(String(webhookBody('sms', { url: 'x', to: ['+1'] }, message)['text']).length).toBeLessThanOrEqual(160);
  });
});
