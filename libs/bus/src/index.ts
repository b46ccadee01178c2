export * from './errors.js';
export type { BusLogger } from './logger.js';
export { silentLogger } from './logger.js';
export * from './subjects.js';
export * from './envelope.js';
export * from './stream.js';
export * from './relay/relay.js';
export * from './events/consumer.js';
export * from './events/factory.js';
export * from './events/replay.js';
export * from './commands/types.js';
export * from './commands/reply.js';
export * from './commands/in-process.js';
export * from './commands/nats.js';
export {
  type CommandKeys,
  type TrustedKeys,
  USER_SIGNER,
  DEVELOPMENT_SIGNERS,
  InvalidCommandKeyError,
  generateCommandKeys,
  developmentCommandKeys,
  parseSigningKey,
  parseTrustedKeys,
  encodeKeyPair,
  commandKeysFromConfig,
  type CommandKeyConfig,
} from './auth/keys.js';
export {
  type CallerIdentity,
  type VerifiedCaller,
  type SignedCommand,
  type CommandClaims,
  type CommandSigner,
  type CommandVerifier,
  type ForbiddenCommandReason,
  DEFAULT_COMMAND_SIGNATURE_TTL_MS,
  MAX_CLOCK_SKEW_MS,
  ForbiddenCommandError,
  createCommandSigner,
  createCommandVerifier,
  signerFrom,
  requireCaller,
} from './auth/signed-command.js';
export { authenticatedCommandBus, MissingSigningKeyError, type AuthenticatedCommandBusOptions } from './auth/authenticated-bus.js';
export {
  ADMIN_USER,
  GATEHOUSE_SERVICES,
  GATEWAY_USER,
  inboxPrefixOf,
  INGEST_USER,
  RELAY_USER,
  natsPasswordVariable,
  natsPermissions,
  natsServerConfig,
  type NatsLayout,
  type NatsServerConfigOptions,
  type ServiceProcess,
  type UserPermissions,
} from './auth/nats-permissions.js';
export * from './events/dead-letters.js';
export * from './events/store-ledger.js';
export * from './commands/payload-limits.js';
