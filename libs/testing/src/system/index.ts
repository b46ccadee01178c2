export * from './processes.js';
export * from './system.js';
export * from './client.js';
export * from './hostile-payloads.js';
export * from './servers.js';
