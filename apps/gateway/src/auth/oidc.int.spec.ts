import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { startTestOidcProvider, type TestOidcProvider, type TestSigningKey, testSigningKey } from '@gatehouse/testing/oidc';
import { secretKey } from './jwt.js';
import { type RunningGateway, startGateway } from '../bootstrap.js';
import { readGatewayConfig } from '../config.js';

/**
 * Sign-in with a real OpenID Connect provider (`oidc-provider`, run by the test on a loopback port):
 * the gateway discovers it, verifies its RS256 access tokens against its JWKS (issuer, audience,
 * expiry), maps its groups to Gatehouse roles, follows a key rotation without a restart, and keeps
 * accepting its own HS256 tokens for CI and development.
 */
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const SECRET = 'oidc-test-hs256-secret-long-enough-for-it';
const AUDIENCE = 'https://gatehouse.example/api';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

const MACHINE_CLIENTS = {
  'release-bot': { secret: 'release-bot-secret-of-enough-length', groups: ['release-managers', 'everyone'] },
  'intern-bot': { secret: 'intern-bot-secret-of-enough-length', groups: ['everyone'] },
};
const startProvider = (keys: TestSigningKey[], port?: number) =>
  startTestOidcProvider({ audience: AUDIENCE, keys, machineClients: MACHINE_CLIENTS, publicClientId: 'gatehouse-cli', ...(port === undefined ? {} : { port }) });

describe('sign-in with the identity provider (OpenID Connect)', () => {
  let dataDir: string;
  let providerKey: TestSigningKey;
  let provider: TestOidcProvider;
  let gateway: RunningGateway;

  const get = async (pathname: string, token?: string): Promise<{ status: number; body: Json; challenge: string | null }> => {
    const response = await fetch(`${gateway.url}${pathname}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.json(), challenge: response.headers.get('www-authenticate') };
  };

  const put = async (pathname: string, token: string, body: unknown): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${gateway.url}${pathname}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-oidc-'));
    providerKey = await testSigningKey('key-2026-11');
    provider = await startProvider([providerKey]);
    gateway = await startGateway(
      readGatewayConfig({
        PORT: '0',
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_POLICIES: POLICIES,
        GATEHOUSE_JWT_SECRET: SECRET,
        GATEHOUSE_CLOCK: '2026-11-23T08:00:00Z',
        GATEHOUSE_CLOCK_CONTROL: 'on',
        GATEHOUSE_OIDC_ISSUER: provider.issuer,
        GATEHOUSE_OIDC_AUDIENCE: AUDIENCE,
        GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse-cli',
        GATEHOUSE_OIDC_ROLES_CLAIM: 'groups',
        GATEHOUSE_OIDC_ROLE_MAP: 'release-managers=release_engineer+auditor',
        GATEHOUSE_OIDC_JWKS_COOLDOWN_MS: '0',
        LOG_LEVEL: 'silent',
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await provider?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('publishes how to sign in, without a token', async () => {
    const { status, body } = await get('/api/auth/config');
    expect(status).toBe(200);
    expect(body).toEqual({
      gatehouseTokens: true,
      oidc: {
        issuer: provider.issuer,
        audience: AUDIENCE,
        clientId: 'gatehouse-cli',
        rolesClaim: 'groups',
        authorizationEndpoint: `${provider.issuer}/auth`,
        tokenEndpoint: `${provider.issuer}/token`,
        deviceAuthorizationEndpoint: `${provider.issuer}/device/auth`,
        reachable: true,
      },
    });
  });

  it("accepts the provider's access token, with roles from its groups, for reads and for acts", async () => {
    const token = await provider.machineToken('release-bot');
    const clock = await get('/api/admin/clock', token);
    expect(clock).toMatchObject({ status: 200, body: { control: 'on' } });
    const moved = await fetch(`${gateway.url}/api/admin/clock`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ at: '2026-11-24T09:00:00Z' }) });
    expect(moved.status).toBe(200);
    expect(gateway.clock.now().toISOString()).toBe('2026-11-24T09:00:00.000Z');
    // The mapped `auditor` role reads the log.
    expect((await get('/api/events?limit=1', token)).status).toBe(200);
  });

  it('grants nothing a group does not map to: a token whose groups map to no role is refused, and so is a role the group lacks', async () => {
    const intern = await provider.machineToken('intern-bot');
    const refused = await get('/api/admin/clock', intern);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/maps to no Gatehouse role/);
    const developer = await provider.forge(providerKey, { groups: ['developer'] });
    const forbidden = await put('/api/admin/clock', developer, { at: '2027-01-01T00:00:00Z' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toMatch(/release_engineer, sre/);
  });

  it.each([
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 120 }, /expired/],
    ['a token issued for another application', { audience: 'https://payroll.example/api' }, /audience/],
  ])('refuses %s with 401, and the clock does not move', async (_case, options, reason) => {
    const before = gateway.clock.now().toISOString();
    const token = await provider.forge(providerKey, { groups: ['release-managers'] }, options);
    const response = await fetch(`${gateway.url}/api/admin/clock`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ at: '2027-01-01T00:00:00Z' }) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as Json).message).toMatch(reason);
    expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect(gateway.clock.now().toISOString()).toBe(before);
  });

  it('refuses a token signed by a key the provider does not publish, one from another issuer, and an HS256 token signed with the public key', async () => {
    const stranger = await testSigningKey('key-2026-11');
    const unknownKey = await get('/api/admin/clock', await provider.forge(stranger, { groups: ['release-managers'] }));
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.body.message).toMatch(/signature does not verify|does not publish/);
    expect((await get('/api/admin/clock', await provider.forge(providerKey, { groups: ['release-managers'] }, { issuer: 'https://evil.example' }))).status).toBe(401);
    // Algorithm confusion: HS256 keyed with the provider's public key material goes the HS256 path and fails there.
    const confused = await new SignJWT({ roles: ['release_engineer'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify({ kty: providerKey.jwk.kty, n: providerKey.jwk.n, e: providerKey.jwk.e })));
    expect((await get('/api/admin/clock', confused)).status).toBe(401);
  });

  it("keeps accepting the gateway's own HS256 tokens (CI, development)", async () => {
    const token = await new SignJWT({ roles: ['sre'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('sam').setExpirationTime('5m').sign(secretKey(SECRET));
    expect((await get('/api/admin/clock', token)).status).toBe(200);
  });

  it("follows the provider's key rotation without a restart", async () => {
    const rotated = await testSigningKey('key-2026-12');
    await provider.close();
    provider = await startProvider([rotated, providerKey], provider.port);
    const token = await provider.machineToken('release-bot');
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe('key-2026-12');
    expect((await get('/api/admin/clock', token)).status).toBe(200);
  });

  it('answers 503, not 401 or 500, while the provider cannot be reached to fetch a new key', async () => {
    const next = await testSigningKey('key-2027-01');
    await provider.close();
    const response = await get('/api/admin/clock', await provider.forge(next, { groups: ['release-managers'] }));
    expect(response).toMatchObject({ status: 503, body: { message: expect.stringMatching(/identity provider/) } });
    expect(response.body.message).toMatch(/identity provider/);
  });
});
