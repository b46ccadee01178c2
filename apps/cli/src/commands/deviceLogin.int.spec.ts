/**
 * `gatehouse login --device` against a real OpenID Connect provider and a real gateway: the CLI reads
 * the provider from the gateway, prints the code, the person approves it at the provider, and the
 * token the CLI receives is accepted by the gateway with the person's mapped roles.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGatewayConfig, type RunningGateway, startGateway } from '@gatehouse/gateway';
import { startTestOidcProvider, type TestOidcProvider, testSigningKey } from '@gatehouse/testing/oidc';
import type { CliIo } from '../io.js';
import { deviceLogin } from './deviceLogin.js';
import { EXIT_OK, run } from '../index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const AUDIENCE = 'https://gatehouse.example/api';

describe('gatehouse login with the device flow', () => {
  let dataDir: string;
  let provider: TestOidcProvider;
  let gateway: RunningGateway;
  let configFile: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-device-login-'));
    configFile = path.join(dataDir, 'cli', 'config.json');
    provider = await startTestOidcProvider({ audience: AUDIENCE, keys: [await testSigningKey('k1')], publicClientId: 'gatehouse-cli', accounts: { ana: ['release-managers'], dan: ['interns'] } });
    gateway = await startGateway(
      readGatewayConfig({
        PORT: '0',
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_POLICIES: POLICIES,
        GATEHOUSE_CLOCK: '2026-11-23T08:00:00Z',
        GATEHOUSE_CLOCK_CONTROL: 'on',
        GATEHOUSE_OIDC_ISSUER: provider.issuer,
        GATEHOUSE_OIDC_AUDIENCE: AUDIENCE,
        GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse-cli',
        GATEHOUSE_OIDC_ROLES_CLAIM: 'groups',
        GATEHOUSE_OIDC_ROLE_MAP: 'release-managers=release_engineer',
        LOG_LEVEL: 'silent',
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await provider?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The person at the browser: waits for the code the CLI prints, then acts on it. */
  function personAtBrowser(act: (userCode: string) => Promise<void>): { io: CliIo; printed: string[] } {
    const printed: string[] = [];
    const io: CliIo = {
      stdout: (text) => void printed.push(text),
      stderr: (text) => {
        printed.push(text);
        const code = /enter the code (\S+)/.exec(text)?.[1];
        if (code !== undefined) void act(code);
      },
      env: { GATEHOUSE_CONFIG: configFile },
      cwd: process.cwd(),
      now: () => new Date(),
    };
    return { io, printed };
  }

  it('signs in once the person approves, with a token the gateway accepts as them', async () => {
    const { io, printed } = personAtBrowser((code) => provider.approveDevice(code, 'ana'));
    // Through the command a person types: the token is stored (owner-only) for the other commands.
    expect(await run(['login', '--device', '--url', gateway.url], io)).toBe(EXIT_OK);
    expect(printed.join('')).toContain(`open ${provider.issuer}/device`);
    expect(printed.join('')).toMatch(/logged in to .* as ana \(release_engineer\)/);
    const stored = JSON.parse(await readFile(configFile, 'utf8')) as { url: string; token: string };
    expect((await stat(configFile)).mode & 0o777).toBe(0o600);
    const token = stored.token;
    const clock = await fetch(`${gateway.url}/api/admin/clock`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ at: '2026-11-24T09:00:00Z' }) });
    expect(clock.status).toBe(200);
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({ sub: 'ana', aud: AUDIENCE, groups: ['release-managers'] });
  });

  it('fails with the reason when the person refuses, and a token for someone without a role is refused by the gateway', async () => {
    const refused = personAtBrowser((code) => provider.denyDevice(code));
    await expect(deviceLogin(refused.io, { gatewayUrl: gateway.url, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))) })).rejects.toMatchObject({ name: 'SignInError', message: expect.stringMatching(/refused/) });
    const intern = personAtBrowser((code) => provider.approveDevice(code, 'dan'));
    const token = await deviceLogin(intern.io, { gatewayUrl: gateway.url, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))) });
    const response = await fetch(`${gateway.url}/api/admin/clock`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
  });
});
