export * from './errors.js';
export type { BusLogger } from './logger.js';
export { silentLogger } from './logger.js';
export * from './subjects.js';
export * from './envelope.js';
export * from './commands/types.js';
export * from './commands/reply.js';
export * from './commands/in-process.js';
