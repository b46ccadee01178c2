export { createMonitoringService, monitoringService } from './service.js';
export { MonitoringModule } from './monitoring.module.js';
export { MONITORING_ACTOR, DEFAULT_TIMER_CHECK_INTERVAL_MS, type MonitoringServiceOptions } from './monitoringService.js';
export { RecordSamplesPayload, MAX_SAMPLES_PER_BATCH } from '@gatehouse/contracts';
export { createPrometheusClient, DEFAULT_PROMETHEUS_TIMEOUT_MS, type PrometheusClient, type RangeQueryResult, type RangeSeries } from './prometheus/client.js';
export { readWindow, type WindowReading } from './prometheus/samples.js';
export { createPrometheusSource, watchQueries, type WatchQuery } from './prometheus/source.js';
export { alertDeliveryConfigFromEnv, webhookAlertPort, webhookBody, ALERT_CHANNELS, DEFAULT_ALERT_MAX_ATTEMPTS, DEFAULT_ALERT_BACKOFF_MS, type AlertDeliveryConfig, type WebhookChannel } from './alerts/webhooks.js';
