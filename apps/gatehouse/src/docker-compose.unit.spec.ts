/**
 * docker-compose.yml cannot be started here (no Docker engine), so its wiring is checked instead: every
 * Gatehouse container runs an entry point that exists and has an environment its process accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandKeysFromConfig, createCommandVerifier, GATEHOUSE_SERVICES, natsPasswordVariable, signerFrom } from '@gatehouse/bus';
import { readGatewayConfig } from '@gatehouse/gateway';
import { readStandaloneConfig } from '@gatehouse/service-kit';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SERVICES = ['change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections'];
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[] | string; environment?: Record<string, string>; volumes?: string[] }>;
};
const gatehouse = Object.entries(compose.services).filter(([, service]) => service.command?.[0] === 'node');

describe('docker-compose.yml', () => {
  it('runs the relay, the gateway and every service from their built entry points', () => {
    expect(gatehouse.map(([name]) => name).sort()).toEqual(['gateway', 'relay', ...SERVICES].sort());
    for (const [name, service] of gatehouse) {
      expect(service.command?.[1]).toBe(`apps/${name}/dist/main.js`);
      expect(existsSync(path.join(root, 'apps', name, 'src', 'main.ts'))).toBe(true);
    }
  });

  it('gives each process an environment its configuration accepts', () => {
    for (const [name, service] of gatehouse) {
      const env = { ...service.environment };
      if (name === 'gateway') expect(() => readGatewayConfig(env)).not.toThrow();
      else expect(() => readStandaloneConfig(env)).not.toThrow();
    }
  });

  it('keeps the sandbox cluster state of the deployments container on a volume', () => {
    const deployments = compose.services['deployments'];
    const file = deployments?.environment?.['GATEHOUSE_SANDBOX_STATE'] ?? '';
    expect(deployments?.volumes?.some((volume) => file.startsWith(`${volume.split(':')[1]}/`))).toBe(true);
  });

  it('runs NATS with deploy/nats/nats-server.conf, and each process as its own NATS user with the password NATS expects', () => {
    const nats = compose.services['nats']!;
    expect(nats.command).toEqual(expect.arrayContaining(['-c', '/etc/nats/nats-server.conf']));
    expect(nats.volumes).toContain('./deploy/nats/nats-server.conf:/etc/nats/nats-server.conf:ro');
    for (const [name, service] of gatehouse) {
      expect(service.environment?.['NATS_USER']).toBe(name);
      expect(service.environment?.['NATS_PASSWORD']).toBe(nats.environment?.[natsPasswordVariable(name)]);
    }
  });

  it('signs commands: every process trusts the same public keys, and exactly the signers hold their own signing key', () => {
    const signers = ['gateway', ...Object.entries(GATEHOUSE_SERVICES).filter(([, s]) => s.sends.length > 0).map(([name]) => name)];
    const publicKeys = new Set(gatehouse.map(([, service]) => service.environment?.['GATEHOUSE_COMMAND_PUBLIC_KEYS']));
    expect(publicKeys.size).toBe(1);
    const [trusted] = [...publicKeys];
    expect(gatehouse.filter(([, service]) => service.environment?.['GATEHOUSE_COMMAND_SIGNING_KEY'] !== undefined).map(([name]) => name).sort()).toEqual([...signers].sort());
    const verifier = createCommandVerifier({ trusted: commandKeysFromConfig({ name: 'approvals', publicKeys: trusted }).trusted });
    for (const name of signers) {
      const keys = commandKeysFromConfig({ name, signingKey: compose.services[name]!.environment!['GATEHOUSE_COMMAND_SIGNING_KEY'], publicKeys: trusted });
      const signed = signerFrom(keys, name)!.sign('approvals', 'get', { changeRequestId: 'cr-1' }, { subject: name, roles: [] });
      expect(verifier.verify('approvals', 'get', signed).caller.signer).toBe(name);
    }
  });
});
