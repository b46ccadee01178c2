export { createMonitoringService, monitoringService, MONITORING_ACTOR, DEFAULT_TIMER_CHECK_INTERVAL_MS, type MonitoringServiceOptions } from './monitoringService.js';
export { RecordSamplesPayload, MAX_SAMPLES_PER_BATCH } from '@gatehouse/contracts';
