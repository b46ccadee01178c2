export * from './clock.js';
export * from './decider.js';
export * from './errors.js';
export { parseOrThrow } from './validation.js';
export * from './release/release.js';
export * from './rollback/manualRollback.js';
export * from './change-request/riskScore.js';
export * from './change-request/changeRequest.js';
