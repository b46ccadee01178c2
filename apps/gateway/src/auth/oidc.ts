import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { ROLES, type Role } from '@gatehouse/policy';
import { InvalidTokenError, type Principal } from './jwt.js';

/**
 * Sign-in with the company's identity provider (OpenID Connect): the gateway is a resource server
 * that accepts the provider's access tokens (RS256/ES256, checked against the provider's JWKS, with
 * issuer and audience) and maps a claim of the token to Gatehouse roles.
 */
export interface OidcSettings {
  /** Issuer URL; discovery is read from `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  /** The `aud` a token must carry to be accepted here (the API's identifier at the provider). */
  audience: string;
  /** Client id the console and the CLI sign in with (published by `GET /api/auth/config`). */
  clientId?: string;
  /** Dotted path of the claim holding roles or groups, e.g. `roles`, `groups`, `realm_access.roles`. */
  rolesClaim: string;
  /**
   * Provider group or role name → Gatehouse roles. Values of the claim that are Gatehouse role names
   * are taken as they are; others only through this map; the rest are ignored.
   */
  roleMap: Readonly<Record<string, readonly Role[]>>;
  /** @defaultValue ['RS256', 'ES256'] */
  algorithms?: readonly string[];
  /** Minimum time between two JWKS fetches when a token names a key not seen yet, in ms. @defaultValue 30 000 */
  jwksCooldownMs?: number;
}

/** The provider's endpoints, from its discovery document. */
export interface OidcMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  device_authorization_endpoint?: string;
  end_session_endpoint?: string;
}

/** The identity provider could not be reached to check a token: not the caller's fault (503). */
export class IdentityProviderUnavailableError extends Error {
  override readonly name = 'IdentityProviderUnavailableError';
}

export const DEFAULT_OIDC_ALGORITHMS: readonly string[] = ['RS256', 'ES256'];
const DISCOVERY_TIMEOUT_MS = 5_000;
/** A failed discovery is retried on the next request, but not more often than this. */
const DISCOVERY_RETRY_MS = 2_000;

/**
 * Parses `GATEHOUSE_OIDC_ROLE_MAP`: `group=role[+role],group2=role`. Unknown Gatehouse roles are
 * refused so a typo cannot silently grant nothing (or the wrong thing).
 */
export function parseRoleMap(text: string | undefined): Record<string, Role[]> {
  const map: Record<string, Role[]> = {};
  if (text === undefined || text.trim() === '') return map;
  for (const entry of text.split(',')) {
    const [group, roles, ...rest] = entry.split('=').map((part) => part.trim());
    if (!group || !roles || rest.length > 0) throw new Error(`"${entry}" is not group=role[+role]`);
    map[group] = roles.split('+').map((role) => {
      if (!(ROLES as readonly string[]).includes(role)) throw new Error(`"${role}" (for group "${group}") is not a Gatehouse role; known: ${ROLES.join(', ')}`);
      return role as Role;
    });
  }
  return map;
}

/** The roles a verified token grants: claim values that are roles, plus mapped groups, without duplicates. */
export function rolesFromClaims(payload: JWTPayload, settings: Pick<OidcSettings, 'rolesClaim' | 'roleMap'>): Role[] {
  let value: unknown = payload;
  for (const key of settings.rolesClaim.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  const names = Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  const roles = new Set<Role>();
  for (const name of names) {
    if ((ROLES as readonly string[]).includes(name)) roles.add(name as Role);
    for (const mapped of settings.roleMap[name] ?? []) roles.add(mapped);
  }
  return [...roles];
}

/** Verifies the provider's tokens; discovery and keys are fetched on first use and refreshed when a new key id appears. */
export class OidcVerifier {
  private discovery: Promise<{ metadata: OidcMetadata; keys: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  private discoveryFailedAt = 0;

  constructor(
    readonly settings: OidcSettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async metadata(): Promise<OidcMetadata> {
    return (await this.discover()).metadata;
  }

  async verify(token: string): Promise<Principal> {
    const { keys, metadata } = await this.discover();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: metadata.issuer,
        audience: this.settings.audience,
        algorithms: [...(this.settings.algorithms ?? DEFAULT_OIDC_ALGORITHMS)],
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw translateJoseError(error, this.settings);
    }
    const roles = rolesFromClaims(payload, this.settings);
    if (roles.length === 0) {
      throw new InvalidTokenError(`the identity provider's token for '${String(payload.sub)}' maps to no Gatehouse role (claim '${this.settings.rolesClaim}'; see GATEHOUSE_OIDC_ROLE_MAP)`);
    }
    const name = [payload['name'], payload['preferred_username'], payload['email']].find((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200);
    const sub = String(payload.sub);
    if (sub.length > 200) throw new InvalidTokenError("token claim 'sub' is invalid: longer than 200 characters");
    return { sub, name: name ?? sub, roles, claims: payload };
  }

  private discover(): Promise<{ metadata: OidcMetadata; keys: ReturnType<typeof createRemoteJWKSet> }> {
    if (this.discovery === undefined || (this.discoveryFailedAt > 0 && Date.now() - this.discoveryFailedAt >= DISCOVERY_RETRY_MS)) {
      this.discoveryFailedAt = 0;
      this.discovery = this.fetchDiscovery().catch((error: unknown) => {
        this.discoveryFailedAt = Date.now();
        throw error;
      });
    }
    return this.discovery;
  }

  private async fetchDiscovery(): Promise<{ metadata: OidcMetadata; keys: ReturnType<typeof createRemoteJWKSet> }> {
    const url = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let metadata: OidcMetadata;
    try {
      const response = await this.fetchImpl(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      metadata = (await response.json()) as OidcMetadata;
    } catch (error) {
      throw new IdentityProviderUnavailableError(`the identity provider's discovery document (${url}) could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof metadata.jwks_uri !== 'string' || typeof metadata.issuer !== 'string') {
      throw new IdentityProviderUnavailableError(`the identity provider's discovery document (${url}) lacks issuer or jwks_uri`);
    }
    if (metadata.issuer.replace(/\/$/, '') !== this.settings.issuer.replace(/\/$/, '')) {
      // OpenID Connect Discovery §4.3: the issuer in the document must be the one configured.
      throw new IdentityProviderUnavailableError(`the discovery document at ${url} names issuer ${metadata.issuer}, not the configured ${this.settings.issuer}`);
    }
    const keys = createRemoteJWKSet(new URL(metadata.jwks_uri), { cooldownDuration: this.settings.jwksCooldownMs ?? 30_000, timeoutDuration: DISCOVERY_TIMEOUT_MS });
    return { metadata, keys };
  }
}

function translateJoseError(error: unknown, settings: OidcSettings): Error {
  // Fetching the keys failed: a network error (fetch rejects with a TypeError, possibly of another
  // realm, hence the name check), a timeout, or a JWKS response that is not 200 or not JSON.
  const fetchFailed = typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TypeError';
  const jwksFailed = error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(error.message));
  if (fetchFailed || jwksFailed) return new IdentityProviderUnavailableError(`the identity provider's keys could not be fetched: ${(error as Error).message}`);
  if (error instanceof errors.JWTExpired) return new InvalidTokenError('token expired; sign in again with the identity provider (gatehouse login)');
  if (error instanceof errors.JWKSNoMatchingKey) return new InvalidTokenError("token is signed with a key the identity provider does not publish");
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError('token signature does not verify against the identity provider\'s keys');
  if (error instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError(`token algorithm not allowed; accepted: ${(settings.algorithms ?? DEFAULT_OIDC_ALGORITHMS).join(', ')}`);
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return new InvalidTokenError(`token audience is not ${settings.audience}: it was issued for another application`);
    if (error.claim === 'iss') return new InvalidTokenError(`token issuer is not ${settings.issuer}`);
    return new InvalidTokenError(`token claim '${error.claim}' is invalid: ${error.reason}`);
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new InvalidTokenError('token is not a well-formed JWT');
  return new InvalidTokenError('token could not be verified');
}
