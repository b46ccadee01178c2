export * from './errors.js';
export type { BusLogger } from './logger.js';
export { silentLogger } from './logger.js';
export * from './subjects.js';
export * from './envelope.js';
