/** `gatehouse nats-config` and `gatehouse command-keys`: what the distributed form needs to authenticate its bus. */
import { generateKeyPairSync } from 'node:crypto';
import { Command } from 'commander';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';

/** Who signs commands by default: the gateway (for users) and the services that send commands to another (GATEHOUSE_SERVICES). */
export const DEFAULT_COMMAND_SIGNERS = ['gateway', 'approvals', 'deployments'];
/** The bus library loads NestJS: only the commands that need it pay for it, not `policy evaluate`. */
const bus = () => import('@gatehouse/bus');
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SIGNER = /^[a-z][a-z0-9-]{0,63}$/;

interface NatsConfigOptions {
  prefix: string;
  eventStream: string;
  dlqStream: string;
  port: string;
  storeDir: string;
}

export function registerBusAuthCommands(program: Command, io: CliIo, exit: ExitCode): void {
  program
    .command('nats-config')
    .description('print a nats-server configuration with one user per Gatehouse process and only the subjects it uses (passwords from GATEHOUSE_NATS_<USER>_PASSWORD)')
    .option('--prefix <prefix>', 'subject prefix (GATEHOUSE_NATS_PREFIX)', 'gatehouse')
    .option('--event-stream <name>', 'events stream (GATEHOUSE_EVENT_STREAM)', 'GATEHOUSE_EVENTS')
    .option('--dlq-stream <name>', 'dead-letter stream (GATEHOUSE_DLQ_STREAM)', 'GATEHOUSE_DLQ')
    .option('--port <port>', 'client port', '4222')
    .option('--store-dir <dir>', 'JetStream storage folder', '/data/jetstream')
    .action(async (options: NatsConfigOptions) => {
      const { natsServerConfig } = await bus();
      for (const [flag, value] of [['--prefix', options.prefix], ['--event-stream', options.eventStream], ['--dlq-stream', options.dlqStream]] as const) {
        if (!NAME.test(value)) throw new CliInputError(`${flag} '${value}' must be 1-64 letters, digits, '_' or '-'`);
      }
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new CliInputError(`--port ${options.port} must be a port number`);
      io.stdout(natsServerConfig({ prefix: options.prefix, eventStream: options.eventStream, deadLetterStream: options.dlqStream, port, storeDir: options.storeDir }));
      exit.value = EXIT_OK;
    });

  program
    .command('command-keys')
    .description('generate Ed25519 command-signing keys: a signing key per signer, and the public-key list every process trusts')
    .option('--signers <names>', 'comma-separated signer names', DEFAULT_COMMAND_SIGNERS.join(','))
    .action(async (options: { signers: string }) => {
      const { encodeKeyPair, USER_SIGNER: GATEWAY_USER } = await bus();
      const signers = [...new Set(options.signers.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
      const invalid = signers.filter((s) => !SIGNER.test(s));
      if (signers.length === 0 || invalid.length > 0) throw new CliInputError(`--signers must list lower-case signer names (the gateway and service names)${invalid.length > 0 ? `; not: ${invalid.join(', ')}` : ''}`);
      if (!signers.includes(GATEWAY_USER)) io.stderr(`warning: without '${GATEWAY_USER}' no command can carry a user's identity\n`);
      const pairs = signers.map((name) => ({ name, ...encodeKeyPair(generateKeyPairSync('ed25519').privateKey) }));
      io.stdout('# Every process (gateway, services, relay):\n');
      io.stdout(`GATEHOUSE_COMMAND_PUBLIC_KEYS=${pairs.map((p) => `${p.name}=${p.publicKey}`).join(',')}\n`);
      io.stdout('# Each signer alone gets its own key, as GATEHOUSE_COMMAND_SIGNING_KEY:\n');
      for (const pair of pairs) io.stdout(`${pair.name}: GATEHOUSE_COMMAND_SIGNING_KEY=${pair.signingKey}\n`);
      exit.value = EXIT_OK;
    });
}
