export { startGateway, clockFor, commandBusFor, type RunningGateway, type StartGatewayOptions } from './bootstrap.js';
export { readGatewayConfig, GatewayConfig, ConfigurationError } from './config.js';
export { GatewayModule } from './gateway.module.js';
export { startBanner } from './banner.js';
