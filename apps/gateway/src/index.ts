export { startGateway, clockFor, type RunningGateway } from './bootstrap.js';
export { readGatewayConfig, GatewayConfig, ConfigurationError } from './config.js';
export { GatewayModule } from './gateway.module.js';
