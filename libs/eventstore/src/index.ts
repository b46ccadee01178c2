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
export { createPgliteEventStore, EMBEDDED_POSTGRES_SETTINGS, type PgliteEventStoreOptions } from './pglite/createPgliteEventStore.js';
export { createInMemoryEventStore } from './memory/createInMemoryEventStore.js';
export { DEFAULT_SCHEMA, appendsChannel, quoteSchema } from './sql/schema.js';
export type { SqlExecutor, SqlQueryable } from './sql/executor.js';
export { copyTextField } from './sql/executor.js';
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
export {
  MerkleTree,
  EMPTY_ROOT,
  HASH_LENGTH,
  hashLeaf,
  hashChildren,
  eventLeafHash,
  verifyInclusion,
  verifyConsistency,
} from './merkle/merkleTree.js';
export {
  TREE_HEAD_SIGNED,
  TREE_HEADS_STREAM,
  keyIdOf,
  signTreeHead,
  verifyTreeHead,
  treeHeadSigningInput,
  type TreeHead,
  type SignedTreeHead,
} from './merkle/treeHead.js';
export { readLogTree, type LogTree, type LogLeaf } from './merkle/logTree.js';
export {
  REPLAY_FORMAT,
  replayLines,
  replayNeedsTree,
  verifyReplay,
  toReplayEvent,
  fromReplayEvent,
  type ReplayEvent,
  type ReplayFilter,
  type ReplayVerification,
} from './merkle/replay.js';
export { CompactRange } from './merkle/merkleTree.js';
export type { VerifyOptions } from './verify.js';
export { withGovernanceTime } from './governanceTime.js';
