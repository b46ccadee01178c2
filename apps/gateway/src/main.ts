import 'reflect-metadata';
import { closeOnSignals, exitOnStartupFailure } from '@gatehouse/service-kit';
import { startBanner } from './banner.js';
import { startGateway } from './bootstrap.js';
import { readGatewayConfig } from './config.js';

/** The gateway alone: its lifecycle commands go to services reached through the bus. */
async function main(): Promise<void> {
  const config = readGatewayConfig();
  const gateway = await startGateway(config);
  const commands = config.NATS_URL
    ? `  commands  NATS at ${config.NATS_URL} (services run as their own processes)`
    : '  commands  in-process, and no service runs here: set NATS_URL, or use npm start for the one-process mode';
  process.stdout.write(startBanner(config, gateway, [commands]));
  closeOnSignals(() => gateway.close());
}

main().catch((error: unknown) => exitOnStartupFailure('gatehouse-gateway', error));
