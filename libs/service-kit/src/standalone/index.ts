export { commandKeyIssues, ConfigurationError, readStandaloneConfig, StandaloneConfig } from './config.js';
export { connectInfrastructure, natsCredentials, standaloneClock, type Infrastructure } from './infrastructure.js';
export { deadLetterRefusedEvents, EVENT_NOT_IN_STORE_REASON, type RefusedEventsDeadLetterOptions } from './refused-events.js';
export { startOperationsServer, type OperationsServer, type OperationsServerOptions } from './operations.js';
export { runStandaloneService, startStandaloneService, type StandaloneService, type StandaloneServiceOptions } from './standalone-host.js';
export { supportsMultipleFilterSubjects } from './single-filter.js';
export { clockSetSubject, clockStateSubject, clockStreamName, joinSharedClock, lastClockSetting, natsClockControl, type SharedClockMember } from './nats-clock.js';
