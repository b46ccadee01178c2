/** `gatehouse token`: mints development API tokens the gateway accepts (HS256, Gatehouse roles). */
import { Command } from 'commander';
import { SignJWT } from 'jose';
import { ROLES, type Role } from '@gatehouse/policy';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';

/**
 * Must equal the gateway's development default (apps/gateway/src/auth/jwt.ts): a gateway started
 * without GATEHOUSE_JWT_SECRET accepts tokens minted without --secret.
 */
export const INSECURE_DEV_JWT_SECRET = 'gatehouse-insecure-development-secret-change-me';
export const MIN_JWT_SECRET_LENGTH = 32;
export const DEFAULT_TOKEN_TTL = '8h';
/** Development tokens live at most this long; long-lived credentials belong in a real identity provider. */
export const MAX_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
const TTL = /^(\d+)([smhd])$/;
const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

interface TokenOptions {
  sub: string;
  roles: string;
  name?: string;
  ttl: string;
  secret?: string;
  claim: string[];
}

/** Claims `--claim` may not set: they are the token's identity, roles and lifetime, set by the other options. */
const RESERVED_CLAIMS: readonly string[] = ['sub', 'roles', 'name', 'iat', 'exp', 'nbf', 'iss', 'aud'];
const CLAIM = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/;

export function registerTokenCommand(program: Command, io: CliIo, exit: ExitCode): void {
  program
    .command('token')
    .description('mint a development API token (prints the JWT); the gateway must share the secret')
    .requiredOption('--sub <user>', 'user id, recorded as the actor of every command sent with the token')
    .requiredOption('--roles <roles>', `comma-separated Gatehouse roles: ${ROLES.join(', ')}`)
    .option('--name <name>', 'display name (default: --sub)')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 8h, 7d (at most 30d)', DEFAULT_TOKEN_TTL)
    .option('--claim <name=value>', 'an extra string claim, repeatable; e.g. --claim actor=ivan for a CI token naming the person behind the push (GATEHOUSE_CI_INITIATOR_CLAIM)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--secret <secret>', 'HS256 secret (default: $GATEHOUSE_JWT_SECRET, else the insecure development secret)')
    .action(async (options: TokenOptions) => {
      exit.value = await tokenCommand(io, options);
    });
}

async function tokenCommand(io: CliIo, options: TokenOptions): Promise<number> {
  const roles = parseRoles(options.roles);
  const ttlSeconds = parseTtl(options.ttl);
  const secret = options.secret ?? io.env['GATEHOUSE_JWT_SECRET'];
  if (secret !== undefined && secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new CliInputError(`the secret must be at least ${MIN_JWT_SECRET_LENGTH} characters (as the gateway requires)`);
  }
  if (secret === undefined) io.stderr('warning: signed with the INSECURE development secret; only a gateway without GATEHOUSE_JWT_SECRET accepts it\n');
  const sub = options.sub.trim();
  if (sub === '') throw new CliInputError('--sub must name a user');
  const issuedAt = Math.floor(io.now().getTime() / 1000);
  const jwt = await new SignJWT({ ...parseClaims(options.claim), roles, name: options.name ?? sub })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(new TextEncoder().encode(secret ?? INSECURE_DEV_JWT_SECRET));
  io.stdout(`${jwt}\n`);
  return EXIT_OK;
}

function parseClaims(pairs: readonly string[]): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const pair of pairs) {
    const match = CLAIM.exec(pair.trim());
    if (!match) throw new CliInputError(`--claim ${pair} must be name=value, e.g. actor=ivan`);
    const [, name = '', value = ''] = match;
    if (RESERVED_CLAIMS.includes(name)) throw new CliInputError(`--claim ${name} is set by the other options (${RESERVED_CLAIMS.join(', ')} are reserved)`);
    claims[name] = value;
  }
  return claims;
}

function parseRoles(list: string): Role[] {
  const roles = [...new Set(list.split(',').map((r) => r.trim()).filter((r) => r !== ''))];
  if (roles.length === 0) throw new CliInputError('--roles needs at least one role');
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) throw new CliInputError(`unknown role ${unknown.map((r) => `'${r}'`).join(', ')}; roles: ${ROLES.join(', ')}`);
  return roles as Role[];
}

function parseTtl(ttl: string): number {
  const match = TTL.exec(ttl.trim());
  if (!match) throw new CliInputError(`--ttl ${ttl} must be a number with s, m, h or d, e.g. 8h`);
  const seconds = Number(match[1]) * SECONDS_PER_UNIT[match[2] as keyof typeof SECONDS_PER_UNIT];
  if (seconds <= 0 || seconds > MAX_TOKEN_TTL_SECONDS) throw new CliInputError(`--ttl ${ttl} must be between 1s and 30d`);
  return seconds;
}
