export const placeholder = 1;
export * from './decider.js';
