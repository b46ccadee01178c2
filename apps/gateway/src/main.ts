import 'reflect-metadata';
import { closeOnSignals, exitOnStartupFailure } from '@gatehouse/service-kit';
import { startBanner } from './banner.js';
import { startGateway } from './bootstrap.js';
import { readGatewayConfig } from './config.js';

/** The gateway alone: its lifecycle commands go to services reached through the bus. */
async function main(): Promise<void> {
  const config = readGatewayConfig();
  const gateway = await startGateway(config);
  process.stdout.write(startBanner(config, gateway));
  closeOnSignals(() => gateway.close());
}

main().catch((error: unknown) => exitOnStartupFailure('gatehouse-gateway', error));
