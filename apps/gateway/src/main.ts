import 'reflect-metadata';
import { ConfigurationError, readGatewayConfig } from './config.js';
import { startGateway } from './bootstrap.js';

const EXIT_BAD_CONFIGURATION = 2;

/** Errors a user can fix (configuration, policy files) are told plainly, without a stack. */
const USER_ERRORS = new Set(['ConfigurationError', 'PolicyValidationError', 'PolicySyntaxError']);

async function main(): Promise<void> {
  const config = readGatewayConfig();
  const gateway = await startGateway(config);
  const lines = [
    `Gatehouse is running at ${gateway.url}`,
    `  events:   ${gateway.storage}`,
    `  policies: ${config.GATEHOUSE_POLICIES} (${gateway.policies.current.policyVersion})`,
    `  clock:    ${config.GATEHOUSE_CLOCK ? `started at ${config.GATEHOUSE_CLOCK}` : 'system'}`,
    `  API docs: ${gateway.url}/docs`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const shutdown = async (): Promise<void> => {
    await gateway.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((error: unknown) => {
  if (error instanceof Error && (USER_ERRORS.has(error.name) || error instanceof ConfigurationError)) {
    process.stderr.write(`gatehouse: ${error.message}\n`);
    process.exit(EXIT_BAD_CONFIGURATION);
  }
  process.stderr.write(`gatehouse: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
