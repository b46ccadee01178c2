import { z } from 'zod';
import { CLOCK_CONTROL_IN_PRODUCTION, ClockControlSetting, commandKeyIssues } from '@gatehouse/service-kit';
import { MIN_JWT_SECRET_LENGTH } from './auth/jwt.js';
import { parseRoleMap } from './auth/oidc.js';

const DEFAULT_PORT = 8080;

/** The gateway's configuration, read from the environment and validated once at start. */
export const GatewayConfig = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_PORT),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL; when unset the embedded PGlite store in GATEHOUSE_DATA_DIR is used. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** PostgreSQL schema holding Gatehouse's tables. */
  GATEHOUSE_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('gatehouse'),
  GATEHOUSE_DATA_DIR: z.string().min(1).default('.gatehouse-data'),
  /** NATS: when set, lifecycle commands go to the services over NATS request/reply (the distributed form). */
  NATS_URL: z.string().regex(/^(nats|tls):\/\//, 'must be a nats:// or tls:// URL').optional(),
  /** Subject prefix shared with the services (`<prefix>.cmd.<context>.<command>`). */
  GATEHOUSE_NATS_PREFIX: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case subject token').default('gatehouse'),
  GATEHOUSE_POLICIES: z.string().min(1).default('deploy/policies'),
  /** Who activates the policy files this process starts with (operator or deploy identity), recorded on a new policy version; unset: recorded as `system`. */
  GATEHOUSE_POLICY_ACTIVATED_BY: z.string().trim().min(1, 'must name who activates the policy (not empty)').max(200).optional(),
  /** Pins the clock (tests, demos): every rule sees this instant until moved. */
  GATEHOUSE_CLOCK: z.iso.datetime({ offset: true }).optional(),
  /** `on`: PUT /api/admin/clock moves the clock of the whole system (demos, end-to-end tests); never in production. */
  GATEHOUSE_CLOCK_CONTROL: ClockControlSetting,
  /** One-process mode (npm start): how often the services' timer loops look at the clock, in ms; unset: 1 s. */
  GATEHOUSE_TICK_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** HS256 secret that signs API tokens; unset: an insecure development secret (refused in production). */
  GATEHOUSE_JWT_SECRET: z.string().min(MIN_JWT_SECRET_LENGTH, `must be at least ${MIN_JWT_SECRET_LENGTH} characters`).optional(),
  /** OpenID Connect issuer URL: when set, the identity provider's RS256/ES256 tokens are accepted (see README "Sign-in"). */
  GATEHOUSE_OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  /** The audience (`aud`) the provider's tokens must carry for this API; required with GATEHOUSE_OIDC_ISSUER. */
  GATEHOUSE_OIDC_AUDIENCE: z.string().min(1).optional(),
  /** The public client the console (authorization code + PKCE) and the CLI (device flow) sign in with. */
  GATEHOUSE_OIDC_CLIENT_ID: z.string().min(1).optional(),
  /** Dotted path of the claim holding roles or groups (`roles`, `groups`, `realm_access.roles`). */
  GATEHOUSE_OIDC_ROLES_CLAIM: z.string().regex(/^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/, 'must be a claim name or a dotted path').default('roles'),
  /**
   * Claim (name or dotted path) of the CI token that names the person whose push asked for a deployment; when the
   * ingest caller's token carries it, it is the change's initiator and a CloudEvent `initiator` must agree with it.
   */
  GATEHOUSE_CI_INITIATOR_CLAIM: z.string().regex(/^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/, 'must be a claim name or a dotted path').default('actor'),
  /** `group=role[+role],…`: provider groups mapped to Gatehouse roles (claim values that are role names count as they are). */
  GATEHOUSE_OIDC_ROLE_MAP: z.string().optional().superRefine((value, ctx) => {
    try {
      parseRoleMap(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  }),
  /** Comma-separated signature algorithms accepted from the provider. */
  GATEHOUSE_OIDC_ALGORITHMS: z.string().regex(/^(RS|ES|PS)(256|384|512)(,(RS|ES|PS)(256|384|512))*$/, 'must be a comma-separated list of RS/ES/PS 256/384/512').default('RS256,ES256'),
  /** Minimum time between two fetches of the provider's keys when a token names an unknown key, in ms. */
  GATEHOUSE_OIDC_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /** NATS user and password of the gateway (the server's authorization block); unset: connect without credentials. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  /** Ed25519 private key (base64 PKCS#8 DER) the gateway signs commands with; see README "Command signing". */
  GATEHOUSE_COMMAND_SIGNING_KEY: z.string().min(1).optional(),
  /** `name=<base64 SPKI DER>,…`: signers whose commands are accepted (the gateway needs its own, to check its key pair). */
  GATEHOUSE_COMMAND_PUBLIC_KEYS: z.string().min(1).optional(),
  NODE_ENV: z.string().optional(),
  /** ed25519 private key (PEM, PKCS#8) that signs tree heads; unset: a development key kept in GATEHOUSE_DATA_DIR, with a warning at start. */
  GATEHOUSE_AUDIT_SIGNING_KEY: z.string().min(1).optional(),
  /** How often a signed tree head is recorded when the log has grown, in ms; 0: only on request (POST /api/audit/tree-heads). */
  GATEHOUSE_TREE_HEAD_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).default(60_000),
  /** Append-only file (JSON Lines) every signed tree head is also written to, outside the database; unset: <GATEHOUSE_DATA_DIR>/tree-heads.ndjson. */
  GATEHOUSE_TREE_HEAD_FILE: z.string().min(1).optional(),
  /** Folder of the built web console served at /; unset: apps/console/dist beside the gateway. */
  GATEHOUSE_CONSOLE_DIR: z.string().min(1).optional(),
}).superRefine((c, ctx) => commandKeyIssues(c, { overNats: c.NATS_URL !== undefined }).forEach((issue) => ctx.addIssue({ code: 'custom', ...issue }))).refine((c) => c.GATEHOUSE_OIDC_ISSUER === undefined || c.GATEHOUSE_OIDC_AUDIENCE !== undefined, {
  message: 'must be set with GATEHOUSE_OIDC_ISSUER: without an audience, a token the provider issued for any other application would be accepted',
  path: ['GATEHOUSE_OIDC_AUDIENCE'],
}).refine((c) => c.NODE_ENV !== 'production' || c.GATEHOUSE_JWT_SECRET !== undefined || c.GATEHOUSE_OIDC_ISSUER !== undefined, {
  message: 'must be set when NODE_ENV=production (or GATEHOUSE_OIDC_ISSUER): the development default would let anyone mint tokens',
  path: ['GATEHOUSE_JWT_SECRET'],
}).refine((c) => c.NODE_ENV !== 'production' || c.GATEHOUSE_CLOCK_CONTROL === 'off', { message: CLOCK_CONTROL_IN_PRODUCTION, path: ['GATEHOUSE_CLOCK_CONTROL'] });
export type GatewayConfig = z.infer<typeof GatewayConfig>;

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(readonly issues: { variable: string; reason: string }[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.reason}`).join('; ')}`);
  }
}

export function readGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = GatewayConfig.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(parsed.error.issues.map((i) => ({ variable: i.path.join('.'), reason: i.message })));
  }
  return parsed.data;
}
