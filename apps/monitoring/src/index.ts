export { createMonitoringService, monitoringService, MONITORING_ACTOR, DEFAULT_TIMER_CHECK_INTERVAL_MS, type MonitoringServiceOptions } from './monitoringService.js';
export { watchDecider, NoActiveWatchError, MAX_SAMPLE_CLOCK_SKEW_SECONDS, type WatchCommand, type WatchEvent, type WatchState } from './watch/watch.js';
export { watchRulesFor, ruleFromAlert, type WatchRule } from './watch/watchRules.js';
export { RecordSamplesPayload, MAX_SAMPLES_PER_BATCH } from '@gatehouse/contracts';
