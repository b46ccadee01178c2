import type { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';
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

interface SigningKey {
  privateKey: webcrypto.CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey: privateKey as webcrypto.CryptoKey, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A provider on its own port; `keys` are what it publishes and signs with (the first signs). */
async function startProvider(keys: SigningKey[], port = 0): Promise<{ issuer: string; server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${actualPort}`;
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'release-bot', client_secret: 'release-bot-secret-of-enough-length', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      { client_id: 'intern-bot', client_secret: 'intern-bot-secret-of-enough-length', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    ],
    jwks: { keys: keys.map((key) => key.jwk) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience: AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    // The company's directory groups, as an identity provider would put them in the token.
    extraTokenClaims: (_ctx, token) => ({ groups: (token as { clientId?: string }).clientId === 'release-bot' ? ['release-managers', 'everyone'] : ['everyone'] }),
  });
  server.on('request', provider.callback());
  return { issuer, server, port: actualPort };
}

async function clientCredentialsToken(issuer: string, client: string, secret: string): Promise<string> {
  const request = () =>
    fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource: AUDIENCE }),
    });
  // A keep-alive socket to a provider the test restarted fails once ("other side closed"): ask again.
  const response = await request().catch(request);
  const body = (await response.json()) as { access_token?: string };
  if (!response.ok || body.access_token === undefined) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** A token signed by hand with a key of the test's (claims chosen to break one check at a time). */
async function forged(key: SigningKey, issuer: string, claims: Record<string, unknown>, { audience = AUDIENCE, exp = '5m' }: { audience?: string; exp?: string | number } = {}): Promise<string> {
  return new SignJWT({ groups: ['release-managers'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid! })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject('mallory')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key.privateKey);
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

describe('sign-in with the identity provider (OpenID Connect)', () => {
  let dataDir: string;
  let providerKey: SigningKey;
  let provider: { issuer: string; server: Server; port: number };
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
    providerKey = await signingKey('key-2026-11');
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
        GATEHOUSE_OIDC_CLIENT_ID: 'gatehouse-console',
        GATEHOUSE_OIDC_ROLES_CLAIM: 'groups',
        GATEHOUSE_OIDC_ROLE_MAP: 'release-managers=release_engineer+auditor',
        GATEHOUSE_OIDC_JWKS_COOLDOWN_MS: '0',
        LOG_LEVEL: 'silent',
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    if (provider?.server.listening) await close(provider.server);
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
        clientId: 'gatehouse-console',
        rolesClaim: 'groups',
        authorizationEndpoint: `${provider.issuer}/auth`,
        tokenEndpoint: `${provider.issuer}/token`,
        deviceAuthorizationEndpoint: null,
        reachable: true,
      },
    });
  });

  it("accepts the provider's access token, with roles from its groups, for reads and for acts", async () => {
    const token = await clientCredentialsToken(provider.issuer, 'release-bot', 'release-bot-secret-of-enough-length');
    const clock = await get('/api/admin/clock', token);
    expect(clock).toMatchObject({ status: 200, body: { control: 'on' } });
    const moved = await fetch(`${gateway.url}/api/admin/clock`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ at: '2026-11-24T09:00:00Z' }) });
    expect(moved.status).toBe(200);
    expect(gateway.clock.now().toISOString()).toBe('2026-11-24T09:00:00.000Z');
    // The mapped `auditor` role reads the log.
    expect((await get('/api/events?limit=1', token)).status).toBe(200);
  });

  it('grants nothing a group does not map to: a token whose groups map to no role is refused, and so is a role the group lacks', async () => {
    const intern = await clientCredentialsToken(provider.issuer, 'intern-bot', 'intern-bot-secret-of-enough-length');
    const refused = await get('/api/admin/clock', intern);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/maps to no Gatehouse role/);
    const developer = await forged(providerKey, provider.issuer, { groups: ['developer'] });
    const forbidden = await put('/api/admin/clock', developer, { at: '2027-01-01T00:00:00Z' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toMatch(/release_engineer, sre/);
  });

  it.each([
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 120 }, /expired/],
    ['a token issued for another application', { audience: 'https://payroll.example/api' }, /audience/],
  ])('refuses %s with 401, and the clock does not move', async (_case, options, reason) => {
    const before = gateway.clock.now().toISOString();
    const token = await forged(providerKey, provider.issuer, {}, options);
    const response = await fetch(`${gateway.url}/api/admin/clock`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ at: '2027-01-01T00:00:00Z' }) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as Json).message).toMatch(reason);
    expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
    expect(gateway.clock.now().toISOString()).toBe(before);
  });

  it('refuses a token signed by a key the provider does not publish, one from another issuer, and an HS256 token signed with the public key', async () => {
    const stranger = await signingKey('key-2026-11');
    const unknownKey = await get('/api/admin/clock', await forged(stranger, provider.issuer, {}));
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.body.message).toMatch(/signature does not verify|does not publish/);
    expect((await get('/api/admin/clock', await forged(providerKey, 'https://evil.example', {}))).status).toBe(401);
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
    const rotated = await signingKey('key-2026-12');
    await close(provider.server);
    provider = await startProvider([rotated, providerKey], provider.port);
    const token = await clientCredentialsToken(provider.issuer, 'release-bot', 'release-bot-secret-of-enough-length');
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe('key-2026-12');
    expect((await get('/api/admin/clock', token)).status).toBe(200);
  });

  it('answers 503, not 401 or 500, while the provider cannot be reached to fetch a new key', async () => {
    const next = await signingKey('key-2027-01');
    await close(provider.server);
    const response = await get('/api/admin/clock', await forged(next, provider.issuer, {}));
    expect(response).toMatchObject({ status: 503, body: { message: expect.stringMatching(/identity provider/) } });
    expect(response.body.message).toMatch(/identity provider/);
  });
});
