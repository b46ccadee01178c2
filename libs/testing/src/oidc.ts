/**
 * A real OpenID Connect provider for tests (`oidc-provider`, the maintained certified implementation),
 * on a loopback port: discovery, JWKS, JWT access tokens for one API audience carrying the account's
 * directory groups, the client-credentials grant for machine clients and the device flow for people.
 * Tests sign in through it exactly as a CLI or a pipeline would against Keycloak or Okta.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { webcrypto } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';

export interface TestSigningKey {
  privateKey: webcrypto.CryptoKey;
  jwk: JWK;
}

/** An RS256 key with a key id, as a provider would publish it. */
export async function testSigningKey(kid: string): Promise<TestSigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey: privateKey as webcrypto.CryptoKey, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface TestOidcProviderOptions {
  /** The API the access tokens are for (their `aud`). */
  audience: string;
  /** Published keys; the first signs. */
  keys: TestSigningKey[];
  /** Machine clients (client-credentials grant): id → secret and the groups their tokens carry. */
  machineClients?: Record<string, { secret: string; groups: string[] }>;
  /** A public client allowed the device flow (the CLI / console). */
  publicClientId?: string;
  /** People: account id → groups. */
  accounts?: Record<string, string[]>;
  /** Listen here (a restart keeps its issuer URL). @defaultValue a free port */
  port?: number;
}

export interface TestOidcProvider {
  issuer: string;
  port: number;
  /**
   * What the person does in the browser after the CLI printed the code: signs in as `accountId` and
   * approves the device (or refuses it).
   */
  approveDevice(userCode: string, accountId: string): Promise<void>;
  denyDevice(userCode: string): Promise<void>;
  /** A client-credentials access token of a machine client. */
  machineToken(clientId: string): Promise<string>;
  /** A token signed by hand with `key` (claims chosen to break one check at a time). */
  forge(key: TestSigningKey, claims?: Record<string, unknown>, options?: { audience?: string; issuer?: string; exp?: string | number; sub?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestOidcProvider(options: TestOidcProviderOptions): Promise<TestOidcProvider> {
  const { audience, keys, machineClients = {}, publicClientId, accounts = {} } = options;
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const groupsOf = (token: { clientId?: string; accountId?: string }): string[] =>
    token.accountId !== undefined ? (accounts[token.accountId] ?? []) : (machineClients[token.clientId ?? '']?.groups ?? []);

  const provider = new Provider(issuer, {
    clients: [
      ...Object.entries(machineClients).map(([client_id, { secret }]) => ({ client_id, client_secret: secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] })),
      ...(publicClientId === undefined
        ? []
        : [{ client_id: publicClientId, token_endpoint_auth_method: 'none' as const, grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], redirect_uris: [], response_types: [] }]),
    ],
    jwks: { keys: keys.map((key) => key.jwk) },
    findAccount: (_ctx, id) => (id in accounts ? { accountId: id, claims: () => ({ sub: id, name: id, groups: accounts[id] }) } : undefined),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    // The company's directory groups, in the access token as an identity provider would put them.
    extraTokenClaims: (_ctx, token) => ({ groups: groupsOf(token as { clientId?: string; accountId?: string }) }),
  });
  server.on('request', provider.callback());

  const deviceCode = async (userCode: string) => {
    // oidc-provider normalises user codes to upper case without separators.
    const code = await provider.DeviceCode.findByUserCode(userCode.replace(/[^A-Za-z0-9]/g, '').toUpperCase(), { ignoreExpiration: false });
    if (code === undefined) throw new Error(`no pending device sign-in with the code ${userCode}`);
    return code;
  };

  return {
    issuer,
    port,
    async approveDevice(userCode, accountId) {
      const code = await deviceCode(userCode);
      const grant = new provider.Grant({ accountId, clientId: code.clientId });
      grant.addOIDCScope('openid profile');
      grant.addResourceScope(audience, 'api');
      code.grantId = await grant.save();
      code.accountId = accountId;
      code.scope = 'openid profile';
      code.resource = audience;
      await code.save();
    },
    async denyDevice(userCode) {
      const code = await deviceCode(userCode);
      code.error = 'access_denied';
      code.errorDescription = 'the person refused the sign-in';
      await code.save();
    },
    async machineToken(clientId) {
      const client = machineClients[clientId];
      if (client === undefined) throw new Error(`no machine client ${clientId}`);
      const request = () =>
        fetch(`${issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${client.secret}`).toString('base64')}` },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api', resource: audience }),
        });
      // A keep-alive socket to a provider a test restarted fails once ("other side closed"): ask again.
      const response = await request().catch(request);
      const body = (await response.json()) as { access_token?: string };
      if (!response.ok || body.access_token === undefined) throw new Error(`token request failed: ${response.status} ${JSON.stringify(body)}`);
      return body.access_token;
    },
    forge(key, claims = {}, forgeOptions = {}) {
      return new SignJWT({ groups: [], ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid! })
        .setIssuer(forgeOptions.issuer ?? issuer)
        .setAudience(forgeOptions.audience ?? audience)
        .setSubject(forgeOptions.sub ?? 'mallory')
        .setIssuedAt()
        .setExpirationTime(forgeOptions.exp ?? '5m')
        .sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
