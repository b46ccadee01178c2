import { InvalidCommandKeyError, parseSigningKey, parseTrustedKeys } from '@gatehouse/bus';
import { z } from 'zod';
import { CLOCK_CONTROL_IN_PRODUCTION, ClockControlSetting } from '../clock-control.js';

/** A NATS subject token or stream name: letters, digits, `_` and `-` only. */
const NATS_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Configuration of one service (or the relay) running as its own process, read from
 * the environment once at start. PostgreSQL and NATS are required: the distributed form
 * has no embedded fallback.
 */
export const StandaloneConfig = z.object({
  DATABASE_URL: z.string({ error: 'is required (postgres://…)' }).regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  NATS_URL: z
    .string({ error: 'is required (nats://host:4222, comma-separated for a cluster)' })
    .min(1)
    .transform((value) => value.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, 'must be nats:// URLs')).min(1, 'must name at least one server')),
  GATEHOUSE_DB_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('gatehouse'),
  GATEHOUSE_POLICIES: z.string().min(1).default('deploy/policies'),
  /** Who activates the policy files this process starts with (operator or deploy identity), recorded on a new policy version; unset: recorded as `system`. */
  GATEHOUSE_POLICY_ACTIVATED_BY: z.string().trim().min(1, 'must name who activates the policy (not empty)').max(200).optional(),
  /** Subject prefix of every NATS subject (tests isolate themselves with their own). */
  GATEHOUSE_NATS_PREFIX: z.string().regex(NATS_NAME, 'must be a NATS subject token').default('gatehouse'),
  GATEHOUSE_EVENT_STREAM: z.string().regex(NATS_NAME, 'must be a JetStream stream name').default('GATEHOUSE_EVENTS'),
  GATEHOUSE_DLQ_STREAM: z.string().regex(NATS_NAME, 'must be a JetStream stream name').default('GATEHOUSE_DLQ'),
  /** Port of the operations side (/health/live, /health/ready, /metrics); 0 picks a free port. */
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Starts the clock at this instant, then lets it run (demos); every replica must be given the same value. */
  GATEHOUSE_CLOCK: z.iso.datetime({ offset: true }).optional(),
  /** How often timer loops look at the clock, in ms; unset: each service's default (1 s). */
  GATEHOUSE_TICK_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).optional(),
  /** `on`: follow the clock setting the gateway publishes (demos, end-to-end tests). */
  GATEHOUSE_CLOCK_CONTROL: ClockControlSetting,
  /** NATS user and password of this process (the server's authorization block); unset: connect without credentials. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  /** Ed25519 private key (base64 PKCS#8 DER) this process signs the commands it sends with. */
  GATEHOUSE_COMMAND_SIGNING_KEY: z.string().min(1).optional(),
  /** `name=<base64 SPKI DER>,…`: signers whose commands this process accepts. Unset: the insecure development keys. */
  GATEHOUSE_COMMAND_PUBLIC_KEYS: z.string().min(1).optional(),
  NODE_ENV: z.string().optional(),
}).superRefine((c, ctx) => commandKeyIssues(c).forEach((issue) => ctx.addIssue({ code: 'custom', ...issue }))).refine((c) => c.NODE_ENV !== 'production' || c.GATEHOUSE_CLOCK_CONTROL === 'off', { message: CLOCK_CONTROL_IN_PRODUCTION, path: ['GATEHOUSE_CLOCK_CONTROL'] });
export type StandaloneConfig = z.infer<typeof StandaloneConfig>;

/** The command-signing variables' problems: malformed keys, a key without trusted keys, development keys in production. */
export function commandKeyIssues(
  c: { GATEHOUSE_COMMAND_SIGNING_KEY?: string | undefined; GATEHOUSE_COMMAND_PUBLIC_KEYS?: string | undefined; NODE_ENV?: string | undefined },
  /** Commands cross processes (NATS): only then do keys have to be configured; one process generates its own. */
  { overNats = true }: { overNats?: boolean } = {},
): Array<{ path: string[]; message: string }> {
  const issues: Array<{ path: string[]; message: string }> = [];
  const check = (variable: 'GATEHOUSE_COMMAND_SIGNING_KEY' | 'GATEHOUSE_COMMAND_PUBLIC_KEYS', parse: (value: string) => unknown): void => {
    const value = c[variable];
    if (value === undefined) return;
    try {
      parse(value);
    } catch (error) {
      issues.push({ path: [variable], message: error instanceof InvalidCommandKeyError ? error.reason : String(error) });
    }
  };
  check('GATEHOUSE_COMMAND_SIGNING_KEY', parseSigningKey);
  check('GATEHOUSE_COMMAND_PUBLIC_KEYS', parseTrustedKeys);
  if (c.GATEHOUSE_COMMAND_SIGNING_KEY !== undefined && c.GATEHOUSE_COMMAND_PUBLIC_KEYS === undefined) {
    issues.push({ path: ['GATEHOUSE_COMMAND_PUBLIC_KEYS'], message: 'must be set with GATEHOUSE_COMMAND_SIGNING_KEY: which signers does this process trust?' });
  }
  if (overNats && c.NODE_ENV === 'production' && c.GATEHOUSE_COMMAND_PUBLIC_KEYS === undefined) {
    issues.push({ path: ['GATEHOUSE_COMMAND_PUBLIC_KEYS'], message: 'must be set when NODE_ENV=production: the development keys are published, so anyone could sign commands' });
  }
  return issues;
}

/** Bad configuration: `exitOnStartupFailure` prints it plainly and exits 2. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(readonly issues: { variable: string; reason: string }[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.reason}`).join('; ')}`);
  }
}

export function readStandaloneConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): StandaloneConfig {
  const parsed = StandaloneConfig.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(parsed.error.issues.map((i) => ({ variable: i.path.join('.') || '(environment)', reason: i.message })));
  }
  return parsed.data;
}
