import type { webcrypto } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import { ROLES, type Role } from '@gatehouse/policy';
import { z } from 'zod';

/** The only algorithm accepted: a token signed otherwise (or `alg: none`) is refused. */
export const JWT_ALGORITHM = 'HS256';
/** Shorter HS256 secrets are brute-forceable; config refuses them. */
export const MIN_JWT_SECRET_LENGTH = 32;
/**
 * Development-only signing secret, used when GATEHOUSE_JWT_SECRET is unset; the gateway says so at
 * start and refuses it when NODE_ENV=production. Tokens signed with it prove nothing.
 */
export const INSECURE_DEV_JWT_SECRET = 'gatehouse-insecure-development-secret-change-me';

/** Who is calling, from a verified token. */
export interface Principal {
  /** Stable user id (`sub`); recorded as the actor of every command. */
  sub: string;
  name: string;
  roles: readonly Role[];
  /**
   * The token's other claims, as verified (e.g. the CI run's `actor` on a CI token, read by ingestion as the
   * person behind a deployment request: see GATEHOUSE_CI_INITIATOR_CLAIM).
   */
  claims?: Readonly<Record<string, unknown>>;
}

const Claims = z.object({
  sub: z.string().min(1).max(200),
  name: z.string().min(1).max(200).optional(),
  roles: z.array(z.enum(ROLES)).min(1, 'a token needs at least one Gatehouse role').max(ROLES.length),
});

/** The bearer token was missing, malformed, badly signed, expired or lacks Gatehouse claims. */
export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * The HMAC key as a WebCrypto key, imported once per secret: given raw bytes, jose imports one on
 * every verification, which profiling showed as the gateway's largest single cost.
 */
const verificationKeys = new Map<string, Promise<webcrypto.CryptoKey>>();
function verificationKey(secret: string): Promise<webcrypto.CryptoKey> {
  let key = verificationKeys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey('raw', secretKey(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    verificationKeys.set(secret, key);
  }
  return key;
}

/**
 * Verifies signature, algorithm, `exp`/`nbf` (against real time: token lifetimes are security,
 * not governance, so a pinned demo clock does not apply) and the Gatehouse claims.
 */
export async function verifyAccessToken(token: string, secret: string): Promise<Principal> {
  const cache = verifiedTokensFor(secret);
  const cached = cache.get(token);
  const now = Date.now();
  if (cached !== undefined && now < cached.expiresAtMs && now >= cached.notBeforeMs) return cached.principal;
  let payload: { exp?: number; nbf?: number };
  try {
    ({ payload } = await jwtVerify(token, await verificationKey(secret), { algorithms: [JWT_ALGORITHM], requiredClaims: ['sub', 'exp'] }));
  } catch (error) {
    cache.delete(token);
    throw new InvalidTokenError(describeJoseError(error));
  }
  const claims = Claims.safeParse(payload);
  if (!claims.success) {
    const issue = claims.error.issues[0];
    throw new InvalidTokenError(`token claim '${issue?.path.join('.') || '?'}' is invalid: ${issue?.message ?? 'unknown'}`);
  }
  const principal: Principal = { sub: claims.data.sub, name: claims.data.name ?? claims.data.sub, roles: claims.data.roles, claims: payload as Record<string, unknown> };
  remember(cache, token, { principal, expiresAtMs: (payload.exp ?? 0) * 1000, notBeforeMs: (payload.nbf ?? 0) * 1000 });
  return principal;
}

/**
 * Tokens already verified, per secret, until they expire: a client sends the same token with every
 * request, and re-checking its HMAC through WebCrypto was the gateway's largest CPU cost under load.
 * The same bytes verify the same way, so only the time claims are re-checked on a hit. Bounded: the oldest go first.
 */
const VERIFIED_TOKENS_MAX = 10_000;
interface VerifiedToken {
  principal: Principal;
  expiresAtMs: number;
  notBeforeMs: number;
}
const verifiedTokens = new Map<string, Map<string, VerifiedToken>>();
function verifiedTokensFor(secret: string): Map<string, VerifiedToken> {
  let cache = verifiedTokens.get(secret);
  if (cache === undefined) {
    cache = new Map();
    verifiedTokens.set(secret, cache);
  }
  return cache;
}
function remember(cache: Map<string, VerifiedToken>, token: string, verified: VerifiedToken): void {
  cache.delete(token);
  cache.set(token, verified);
  if (cache.size > VERIFIED_TOKENS_MAX) cache.delete(cache.keys().next().value as string);
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired; mint a new one (gatehouse token --sub <user> --roles <roles>)';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify: it was not signed with this gateway\'s secret';
  if (error instanceof errors.JOSEAlgNotAllowed) return `token algorithm not allowed; only ${JWT_ALGORITHM} is accepted`;
  if (error instanceof errors.JWTClaimValidationFailed) return `token claim '${error.claim}' is invalid: ${error.reason}`;
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'token is not a well-formed JWT';
  return 'token could not be verified';
}
