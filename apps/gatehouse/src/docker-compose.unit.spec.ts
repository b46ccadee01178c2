/**
 * docker-compose.yml cannot be started here (no Docker engine), so its wiring is checked instead: every
 * Gatehouse container runs an entry point that exists and has an environment its process accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGatewayConfig } from '@gatehouse/gateway';
import { readStandaloneConfig } from '@gatehouse/service-kit';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SERVICES = ['change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections'];
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
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
});
