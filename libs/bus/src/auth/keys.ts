import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * Ed25519 keys that sign and verify commands. Each process that sends commands holds its own
 * private key; every process that serves commands trusts a set of named public keys. Only
 * {@link USER_SIGNER} may vouch for users; every other signer may only speak for itself.
 */
export interface CommandKeys {
  /** Private keys by signer name (the gateway, or a service that sends commands to another). */
  readonly signing: ReadonlyMap<string, KeyObject>;
  /** Public keys of the signers whose commands are accepted, by signer name. */
  readonly trusted: ReadonlyMap<string, KeyObject>;
  /** The keys are the published development keys: anyone can sign with them. */
  readonly insecure: boolean;
}

/** The one signer that may assert a user's identity and roles (from the JWT it verified). */
export const USER_SIGNER = 'gateway';

/** Signers the development keys cover: the gateway and the services that send commands to another service. */
export const DEVELOPMENT_SIGNERS = ['gateway', 'change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections'] as const;

// PKCS#8 DER of an Ed25519 private key is this prefix followed by the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A malformed key or key list in configuration; names the variable. */
export class InvalidCommandKeyError extends Error {
  override readonly name = 'InvalidCommandKeyError';
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

/** Fresh random keys for every signer (embedded mode: one process holds them all, nothing leaves it). */
export function generateCommandKeys(signers: readonly string[] = DEVELOPMENT_SIGNERS): CommandKeys {
  const signing = new Map<string, KeyObject>();
  const trusted = new Map<string, KeyObject>();
  for (const name of signers) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    signing.set(name, privateKey);
    trusted.set(name, publicKey);
  }
  return { signing, trusted, insecure: false };
}

/**
 * The published development keys of the distributed form, derived from public seeds: they let a
 * developer start the processes without configuring keys, and protect nothing (refused in production).
 */
export function developmentCommandKeys(signers: readonly string[] = DEVELOPMENT_SIGNERS): CommandKeys {
  const signing = new Map<string, KeyObject>();
  const trusted = new Map<string, KeyObject>();
  for (const name of signers) {
    const seed = createHash('sha256').update(`gatehouse insecure development command key: ${name}`).digest();
    const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    signing.set(name, privateKey);
    trusted.set(name, createPublicKey(privateKey));
  }
  return { signing, trusted, insecure: true };
}

/** Base64 (PKCS#8 DER, as `openssl genpkey -algorithm ed25519 -outform DER | base64 -w0` prints) → private key. */
export function parseSigningKey(base64: string, variable = 'GATEHOUSE_COMMAND_SIGNING_KEY'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(base64.trim(), 'base64'), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new InvalidCommandKeyError(variable, `is not a base64 PKCS#8 DER private key (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InvalidCommandKeyError(variable, `must be an Ed25519 key, not ${key.asymmetricKeyType}`);
  return key;
}

/**
 * `name=<base64 SPKI DER>` pairs separated by commas (`openssl pkey -inform DER -pubout -outform DER | base64 -w0`)
 * → trusted public keys by signer name.
 */
export function parseTrustedKeys(list: string, variable = 'GATEHOUSE_COMMAND_PUBLIC_KEYS'): Map<string, KeyObject> {
  const trusted = new Map<string, KeyObject>();
  for (const entry of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const separator = entry.indexOf('=');
    const name = entry.slice(0, separator).trim();
    if (separator <= 0 || !/^[a-z][a-z0-9-]{0,63}$/.test(name)) throw new InvalidCommandKeyError(variable, `'${entry.slice(0, 40)}' must be name=<base64 public key> with a lower-case signer name`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(entry.slice(separator + 1).trim(), 'base64'), format: 'der', type: 'spki' });
    } catch (error) {
      throw new InvalidCommandKeyError(variable, `the key of '${name}' is not a base64 SPKI DER public key (${(error as Error).message})`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new InvalidCommandKeyError(variable, `the key of '${name}' must be an Ed25519 key`);
    trusted.set(name, key);
  }
  if (trusted.size === 0) throw new InvalidCommandKeyError(variable, 'names no key');
  return trusted;
}

/** Base64 encodings of a key pair, as the configuration takes them (tests and key generation). */
export function encodeKeyPair(privateKey: KeyObject): { signingKey: string; publicKey: string } {
  return {
    signingKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKey: createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

export interface CommandKeyConfig {
  /** This process's signer name (the gateway, or the service's name). */
  name: string;
  /** GATEHOUSE_COMMAND_SIGNING_KEY */
  signingKey?: string | undefined;
  /** GATEHOUSE_COMMAND_PUBLIC_KEYS */
  publicKeys?: string | undefined;
}

/**
 * One process's keys from its configuration. With neither variable set, the development keys
 * (insecure: callers refuse them in production). A process without a signing key can serve
 * commands but not send any.
 */
export function commandKeysFromConfig({ name, signingKey, publicKeys }: CommandKeyConfig): CommandKeys {
  if (signingKey === undefined && publicKeys === undefined) {
    const development = developmentCommandKeys([...new Set([...DEVELOPMENT_SIGNERS, name])]);
    const own = development.signing.get(name);
    return { signing: own === undefined ? new Map() : new Map([[name, own]]), trusted: development.trusted, insecure: true };
  }
  if (publicKeys === undefined) throw new InvalidCommandKeyError('GATEHOUSE_COMMAND_PUBLIC_KEYS', 'must be set with GATEHOUSE_COMMAND_SIGNING_KEY: which signers does this process trust?');
  const trusted = parseTrustedKeys(publicKeys);
  const signing = new Map<string, KeyObject>();
  if (signingKey !== undefined) signing.set(name, parseSigningKey(signingKey));
  return { signing, trusted, insecure: false };
}
