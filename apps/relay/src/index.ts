export { startRelayProcess, RELAY_CHECKPOINT, DEFAULT_LOCK_INTERVAL_MS, type RelayProcess, type RelayProcessOptions } from './relay-process.js';
export { createLeaderLock, type LeaderLock } from './leader-lock.js';
