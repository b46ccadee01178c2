export const placeholder = 1;
export * from './decider.js';
export * from './nats.js';
