export * from './decider.js';
export * from './nats.js';
export * from './postgres.js';
export * from './system/index.js';
export * from './workflow.js';
export * from './prometheus.js';
export * from './kubernetes/index.js';
