import { createHash, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { USER_SIGNER, type CommandKeys, type TrustedKeys } from './keys.js';

/** Who sent a command, as the signer vouched for it: a user (via the gateway) or a service speaking for itself. */
export interface CallerIdentity {
  /** The user id from the verified JWT, or the service's name. */
  readonly subject: string;
  /** The user's roles from the verified JWT; empty for a service. */
  readonly roles: readonly string[];
}

/** A caller as a service received it: the identity plus the signer that vouched for it. */
export interface VerifiedCaller extends CallerIdentity {
  readonly signer: string;
}

/**
 * What travels as the command's data. `claims` and `payload` are JSON text, signed as sent, so no
 * canonical form is needed: the signature covers `claims`, and `claims.digest` covers `payload`.
 */
export interface SignedCommand {
  readonly claims: string;
  /** Ed25519 over the UTF-8 bytes of `claims`, base64url. */
  readonly signature: string;
  readonly payload: string;
}

/** The signed statement: who, which command, which payload, when. Times are epoch milliseconds (wall clock, not the system clock). */
export interface CommandClaims {
  v: 1;
  /** Signer name: whose key signed. */
  iss: string;
  sub: string;
  roles: string[];
  /** `<context>.<command>` the claims are good for. */
  cmd: string;
  /** The command's id (its `commandId`, or a fresh id for a query). */
  jti: string;
  /** SHA-256 of `payload`, base64url. */
  digest: string;
  iat: number;
  exp: number;
}

/** How long a signature is good for. Covers a slow round trip and clock skew between hosts, no more. @defaultValue */
export const DEFAULT_COMMAND_SIGNATURE_TTL_MS = 60_000;
/** A signature dated this far in the future is still accepted (hosts' clocks differ). */
export const MAX_CLOCK_SKEW_MS = 30_000;
const SIGNATURE_VERSION = 1;

/** Why a command was refused before its handler ran. */
export type ForbiddenCommandReason =
  | 'unsigned'
  | 'malformed'
  | 'unknown_signer'
  | 'bad_signature'
  | 'wrong_command'
  | 'payload_mismatch'
  | 'expired'
  | 'not_yet_valid'
  | 'identity_not_allowed'
  | 'actor_mismatch';

/** A command without a valid signature of a trusted signer, or claiming more than its signer may vouch for. Nothing was written. */
export class ForbiddenCommandError extends Error {
  override readonly name = 'ForbiddenCommand';
  readonly code = 'FORBIDDEN_COMMAND';
  constructor(
    readonly reason: ForbiddenCommandReason,
    readonly command: string,
    detail: string,
  ) {
    super(`command ${command} refused (${reason}): ${detail}`);
  }
}

/** Signs commands as one signer. */
export interface CommandSigner {
  readonly name: string;
  sign(context: string, command: string, payload: unknown, caller: CallerIdentity): SignedCommand;
}

/** Verifies signed commands against trusted public keys and returns the payload and the verified caller. */
export interface CommandVerifier {
  verify(context: string, command: string, data: unknown): { payload: unknown; caller: VerifiedCaller };
}

export interface SignerOptions {
  name: string;
  privateKey: KeyObject;
  /** @defaultValue DEFAULT_COMMAND_SIGNATURE_TTL_MS */
  ttlMs?: number;
  /** Wall clock in ms. @defaultValue Date.now */
  now?: () => number;
}

export function createCommandSigner({ name, privateKey, ttlMs = DEFAULT_COMMAND_SIGNATURE_TTL_MS, now = Date.now }: SignerOptions): CommandSigner {
  return {
    name,
    sign(context, command, payload, caller) {
      // `undefined` has no JSON text; the handler receives it back as undefined.
      const payloadJson = payload === undefined ? '' : JSON.stringify(payload);
      const commandId = typeof payload === 'object' && payload !== null && typeof (payload as { commandId?: unknown }).commandId === 'string' ? (payload as { commandId: string }).commandId : randomUUID();
      const issuedAt = now();
      const claims: CommandClaims = {
        v: SIGNATURE_VERSION,
        iss: name,
        sub: caller.subject,
        roles: [...caller.roles],
        cmd: `${context}.${command}`,
        jti: commandId,
        digest: digestOf(payloadJson),
        iat: issuedAt,
        exp: issuedAt + ttlMs,
      };
      const claimsJson = JSON.stringify(claims);
      return { claims: claimsJson, signature: sign(null, Buffer.from(claimsJson, 'utf8'), privateKey).toString('base64url'), payload: payloadJson };
    },
  };
}

export interface VerifierOptions {
  trusted: TrustedKeys;
  /** Wall clock in ms. @defaultValue Date.now */
  now?: () => number;
}

export function createCommandVerifier({ trusted, now = Date.now }: VerifierOptions): CommandVerifier {
  return {
    verify(context, command, data) {
      const name = `${context}.${command}`;
      const refuse = (reason: ForbiddenCommandReason, detail: string): never => {
        throw new ForbiddenCommandError(reason, name, detail);
      };
      if (!isSignedCommand(data)) return refuse('unsigned', 'it carries no signature; commands are accepted only as signed by the gateway or a trusted service');
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.claims);
      } catch {
        return refuse('malformed', 'its claims are not JSON');
      }
      if (!isClaims(parsed)) return refuse('malformed', 'its claims lack a field (v, iss, sub, roles, cmd, jti, digest, iat, exp)');
      const claims = parsed;
      const publicKey = trusted.get(claims.iss);
      if (publicKey === undefined) return refuse('unknown_signer', `'${shown(claims.iss)}' is not a trusted signer`);
      let valid = false;
      try {
        valid = verify(null, Buffer.from(data.claims, 'utf8'), publicKey, Buffer.from(data.signature, 'base64url'));
      } catch {
        valid = false;
      }
      if (!valid) return refuse('bad_signature', `the signature is not ${shown(claims.iss)}'s`);
      if (claims.cmd !== name) return refuse('wrong_command', `it was signed for ${shown(claims.cmd)}`);
      if (digestOf(data.payload) !== claims.digest) return refuse('payload_mismatch', 'the payload is not the one that was signed');
      const at = now();
      if (claims.exp <= at) return refuse('expired', `the signature expired at ${new Date(claims.exp).toISOString()}`);
      if (claims.iat > at + MAX_CLOCK_SKEW_MS) return refuse('not_yet_valid', `the signature is dated ${new Date(claims.iat).toISOString()}, in the future`);
      if (claims.iss !== USER_SIGNER && (claims.sub !== claims.iss || claims.roles.length > 0)) {
        return refuse('identity_not_allowed', `${claims.iss} may only act as itself, without roles; only the ${USER_SIGNER} vouches for users`);
      }
      let payload: unknown;
      try {
        payload = data.payload === '' ? undefined : JSON.parse(data.payload);
      } catch {
        return refuse('malformed', 'the payload is not JSON');
      }
      const actor = typeof payload === 'object' && payload !== null ? (payload as { actor?: unknown }).actor : undefined;
      if (actor !== undefined && actor !== claims.sub) return refuse('actor_mismatch', `the payload names actor '${shown(String(actor))}' but the signed caller is '${shown(claims.sub)}'`);
      return { payload, caller: { subject: claims.sub, roles: claims.roles, signer: claims.iss } };
    },
  };
}

/** The verified caller of a command; a handler reached without verification refuses rather than guess who called. */
export function requireCaller(meta: { context: string; command: string; caller?: VerifiedCaller | undefined }): VerifiedCaller {
  if (meta.caller === undefined) throw new ForbiddenCommandError('unsigned', `${meta.context}.${meta.command}`, 'no verified caller: the handler is not behind authenticatedCommandBus');
  return meta.caller;
}

/** A signer for `name` from its keys, or undefined when this process holds no key for it. */
export function signerFrom(keys: CommandKeys, name: string, options: Omit<SignerOptions, 'name' | 'privateKey'> = {}): CommandSigner | undefined {
  const privateKey = keys.signing.get(name);
  return privateKey === undefined ? undefined : createCommandSigner({ name, privateKey, ...options });
}

/** Values an attacker chose, cut short before they go into replies and logs. */
const MAX_SHOWN_LENGTH = 100;
function shown(value: string): string {
  return value.length > MAX_SHOWN_LENGTH ? `${value.slice(0, MAX_SHOWN_LENGTH)}…` : value;
}

function digestOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

function isSignedCommand(data: unknown): data is SignedCommand {
  if (typeof data !== 'object' || data === null) return false;
  const { claims, signature, payload } = data as Record<string, unknown>;
  return typeof claims === 'string' && typeof signature === 'string' && typeof payload === 'string';
}

function isClaims(value: unknown): value is CommandClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c['v'] === SIGNATURE_VERSION &&
    typeof c['iss'] === 'string' &&
    typeof c['sub'] === 'string' &&
    Array.isArray(c['roles']) &&
    c['roles'].every((r) => typeof r === 'string') &&
    typeof c['cmd'] === 'string' &&
    typeof c['jti'] === 'string' &&
    typeof c['digest'] === 'string' &&
    typeof c['iat'] === 'number' &&
    typeof c['exp'] === 'number'
  );
}
