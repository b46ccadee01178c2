import 'reflect-metadata';
import { closeOnSignals, exitOnStartupFailure } from '@gatehouse/service-kit';
import { startRelayProcess } from './relay-process.js';

/** The outbox relay alone: run two or more replicas; one publishes, the others stand by. */
async function main(): Promise<void> {
  const relay = await startRelayProcess(process.env);
  closeOnSignals(() => relay.stop());
}

main().catch((error: unknown) => exitOnStartupFailure('gatehouse-relay', error));
