/**
 * Sign-in with the company's identity provider from a terminal: the OAuth 2.0 device authorization
 * grant (RFC 8628). The gateway publishes the provider (`GET /api/auth/config`); the CLI asks the
 * provider for a device code, prints where to enter it, and polls the token endpoint until the person
 * approved (or refused, or the code expired). What comes back is an access token the gateway accepts.
 */
import { CliInputError, type CliIo } from '../io.js';

/** The provider refused, the code expired (refused), or the gateway/provider could not be reached (unavailable). */
export class SignInError extends Error {
  override readonly name = 'SignInError';
  constructor(
    message: string,
    readonly unavailable = false,
  ) {
    super(message);
  }
}

interface SignInConfiguration {
  oidc: { issuer: string; audience: string; clientId: string | null; deviceAuthorizationEndpoint: string | null; tokenEndpoint: string | null; reachable: boolean } | null;
}

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

export interface DeviceLoginOptions {
  gatewayUrl: string;
  /** Scopes asked for besides `openid`. */
  scope?: string;
  fetchImpl?: typeof fetch;
  /** Waits between polls; tests pass a shorter one. */
  sleep?: (ms: number) => Promise<void>;
}

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

async function json(response: Response, what: string): Promise<Record<string, unknown>> {
  try {
    return (await response.json()) as Record<string, unknown>;
  } catch {
    throw new SignInError(`${what} answered ${response.status} without JSON`);
  }
}

/** Runs the device flow; prints the verification URL and user code on stderr; returns the access token. */
export async function deviceLogin(io: CliIo, { gatewayUrl, scope = 'openid profile', fetchImpl = fetch, sleep = (ms) => new Promise((r) => setTimeout(r, ms)) }: DeviceLoginOptions): Promise<string> {
  let config: SignInConfiguration;
  try {
    const response = await fetchImpl(new URL('/api/auth/config', gatewayUrl));
    config = (await json(response, 'the gateway')) as unknown as SignInConfiguration;
  } catch (error) {
    if (error instanceof SignInError) throw error;
    throw new SignInError(`the gateway at ${gatewayUrl} could not be reached: ${(error as Error).message}`, true);
  }
  const oidc = config.oidc;
  if (oidc === null || oidc === undefined) throw new CliInputError(`the gateway at ${gatewayUrl} has no identity provider (GATEHOUSE_OIDC_ISSUER): paste a token instead (gatehouse token for development)`);
  if (!oidc.reachable) throw new SignInError(`the gateway cannot reach its identity provider ${oidc.issuer} right now`, true);
  if (oidc.clientId === null) throw new CliInputError('the gateway publishes no client id (GATEHOUSE_OIDC_CLIENT_ID) to sign in with');
  if (oidc.deviceAuthorizationEndpoint === null || oidc.tokenEndpoint === null) throw new CliInputError(`the identity provider ${oidc.issuer} offers no device flow: paste a token instead`);

  const started = await fetchImpl(oidc.deviceAuthorizationEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ client_id: oidc.clientId, scope, resource: oidc.audience }),
  });
  const authorization = (await json(started, 'the device authorization endpoint')) as unknown as DeviceAuthorization & { error?: string; error_description?: string };
  if (!started.ok) throw new SignInError(`the identity provider refused to start the sign-in: ${authorization.error ?? started.status} ${authorization.error_description ?? ''}`.trim());
  io.stderr(`To sign in, open ${authorization.verification_uri} and enter the code ${authorization.user_code}\n`);
  if (authorization.verification_uri_complete !== undefined) io.stderr(`(or open ${authorization.verification_uri_complete})\n`);

  let intervalMs = (authorization.interval ?? 5) * 1000;
  const deadline = Date.now() + authorization.expires_in * 1000;
  while (Date.now() < deadline) {
    await sleep(intervalMs);
    const response = await fetchImpl(oidc.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: GRANT_TYPE, device_code: authorization.device_code, client_id: oidc.clientId, resource: oidc.audience }),
    });
    const body = await json(response, 'the token endpoint');
    if (response.ok && typeof body['access_token'] === 'string') return body['access_token'];
    switch (body['error']) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        intervalMs += 5_000; // RFC 8628 §3.5
        continue;
      case 'access_denied':
        throw new SignInError('the sign-in was refused at the identity provider');
      case 'expired_token':
        throw new SignInError('the code expired before the sign-in was approved: run gatehouse login again');
      default:
        throw new SignInError(`the identity provider answered ${response.status}: ${String(body['error'] ?? '')} ${String(body['error_description'] ?? '')}`.trim());
    }
  }
  throw new SignInError('the code expired before the sign-in was approved: run gatehouse login again');
}

