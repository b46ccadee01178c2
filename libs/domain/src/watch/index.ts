export * from './watch.js';
export * from './watchRules.js';
export * from './alertDelivery.js';
