import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandKeysFromConfig, createCommandVerifier, GATEHOUSE_SERVICES, natsServerConfig, signerFrom } from '@gatehouse/bus';
import { EXIT_BAD_INPUT, EXIT_OK, run, type CliIo } from '../index.js';
import { DEFAULT_COMMAND_SIGNERS } from './bus-auth.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

async function gatehouse(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd: REPO_ROOT, now: () => new Date() };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('gatehouse nats-config', () => {
  it('prints the configuration deploy/nats/nats-server.conf holds (regenerate it with this command when permissions change)', async () => {
    const { code, stdout } = await gatehouse(['nats-config']);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toBe(natsServerConfig());
    expect(readFileSync(path.join(REPO_ROOT, 'deploy/nats/nats-server.conf'), 'utf8')).toBe(stdout);
  });

  it('renders another prefix and streams, and refuses a prefix that is not a subject token', async () => {
    const { stdout } = await gatehouse(['nats-config', '--prefix', 'acme', '--event-stream', 'ACME_EVENTS', '--port', '4333']);
    expect(stdout).toContain('"acme.evt.>"');
    expect(stdout).toContain('$JS.ACK.ACME_EVENTS.>');
    expect(stdout).toContain('port: 4333');
    expect((await gatehouse(['nats-config', '--prefix', 'a.b'])).code).toBe(EXIT_BAD_INPUT);
    expect((await gatehouse(['nats-config', '--port', '0'])).code).toBe(EXIT_BAD_INPUT);
  });
});

describe('gatehouse command-keys', () => {
  it('prints keys that sign and verify: each signer its own, everyone the public list', async () => {
    const { code, stdout } = await gatehouse(['command-keys']);
    expect(code).toBe(EXIT_OK);
    const publicKeys = /^GATEHOUSE_COMMAND_PUBLIC_KEYS=(.+)$/m.exec(stdout)![1]!;
    const signingKey = /^gateway: GATEHOUSE_COMMAND_SIGNING_KEY=(.+)$/m.exec(stdout)![1]!;
    const gateway = signerFrom(commandKeysFromConfig({ name: 'gateway', signingKey, publicKeys }), 'gateway')!;
    const approvals = commandKeysFromConfig({ name: 'approvals', publicKeys });
    const signed = gateway.sign('approvals', 'grant', { commandId: 'c-1' }, { subject: 'ana', roles: ['sre'] });
    expect(createCommandVerifier({ trusted: approvals.trusted }).verify('approvals', 'grant', signed).caller).toEqual({ subject: 'ana', roles: ['sre'], signer: 'gateway' });
  });

  it('signs for the gateway and exactly the services that send commands', () => {
    expect(DEFAULT_COMMAND_SIGNERS).toEqual(['gateway', ...Object.entries(GATEHOUSE_SERVICES).filter(([, s]) => s.sends.length > 0).map(([name]) => name)]);
  });

  it('refuses signer names that are not lower-case names', async () => {
    expect((await gatehouse(['command-keys', '--signers', 'Gateway,x y'])).code).toBe(EXIT_BAD_INPUT);
  });
});
