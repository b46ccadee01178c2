export * from './types.js';
export * from './errors.js';
export { createEventStore, type EventStoreOptions } from './createEventStore.js';
export {
  createPostgresEventStore,
  DEFAULT_POOL_SIZE,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type PostgresEventStoreOptions,
} from './postgres/createPostgresEventStore.js';
export { StoreUnavailableError, isConnectionFailure } from './postgres/storeUnavailable.js';
export { createPgliteEventStore, type PgliteEventStoreOptions } from './pglite/createPgliteEventStore.js';
export { createInMemoryEventStore } from './memory/createInMemoryEventStore.js';
export { DEFAULT_SCHEMA, appendsChannel } from './sql/schema.js';
export { MIGRATIONS } from './sql/migrations.js';
export { DEFAULT_POLL_INTERVAL_MS } from './subscribe.js';
export {
  startSealer,
  sealOnce,
  DEFAULT_SEAL_INTERVAL_MS,
  DEFAULT_EVENTS_PER_SEAL,
  type Sealer,
  type SealerOptions,
  type SealPassResult,
} from './sealer.js';
export { verifyEventLog, recomputeEventHash, type VerificationResult } from './verify.js';
export { GENESIS_HASH } from './hashing.js';
