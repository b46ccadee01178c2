/** Cross-service contracts: each context's command payloads and published events, as zod schemas. One file per context. */
export * from './ingest.js';
export * from './monitoring.js';
export * from './projections.js';
export * from './scheduling.js';
export * from './deployments.js';
export * from './changeRequests.js';
export * from './approvals.js';
export * from './hotfixes.js';
export * from './flags.js';
export * from './releasePlans.js';
