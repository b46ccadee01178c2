export * from './timer.js';
export * from './schedule.js';
export * from './slots.js';
export * from './emergency.js';
export * from './governance.js';
export * from './decisions.js';
