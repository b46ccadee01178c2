export * from './watch.js';
export * from './watchRules.js';
