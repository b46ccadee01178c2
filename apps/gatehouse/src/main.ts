import 'reflect-metadata';
import { readGatewayConfig, startBanner } from '@gatehouse/gateway';
import { closeOnSignals, exitOnStartupFailure } from '@gatehouse/service-kit';
import { startGatehouse } from './gatehouse.js';

/** `npm start`: the gateway and every service in one process on embedded defaults. */
async function main(): Promise<void> {
  const config = readGatewayConfig();
  const gatehouse = await startGatehouse(config);
  process.stdout.write(startBanner(config, gatehouse.gateway, [`  services  ${gatehouse.serviceNames.join(', ')} (one process, in-process bus)`]));
  closeOnSignals(() => gatehouse.close());
}

main().catch((error: unknown) => exitOnStartupFailure('gatehouse', error));
