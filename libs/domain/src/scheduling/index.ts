export * from './timer.js';
export * from './schedule.js';
export * from './slots.js';
