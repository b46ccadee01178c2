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
  readonly trusted: TrustedKeys;
  /** The keys are the published development keys: anyone can sign with them. */
  readonly insecure: boolean;
}

/** Public key of a trusted signer by name; undefined for a signer that is not trusted. A `Map` is one. */
export interface TrustedKeys {
  get(signer: string): KeyObject | undefined;
}

/** The one signer that may assert a user's identity and roles (from the JWT it verified). */
export const USER_SIGNER = 'gateway';

/** The gateway and the services: who gets a key in the embedded form by default. */
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
  const signing = new Map<string, KeyObject>(signers.map((name) => [name, developmentKey(name)]));
  // Every name's development key can be derived, so every signer is "trusted": this is what makes them insecure.
  const trusted = new Map<string, KeyObject>();
  const get = (name: string): KeyObject => {
    let key = trusted.get(name);
    if (key === undefined) trusted.set(name, (key = createPublicKey(developmentKey(name))));
    return key;
  };
  return { signing, trusted: { get }, insecure: true };
}

function developmentKey(name: string): KeyObject {
  const seed = createHash('sha256').update(`gatehouse insecure development command key: ${name}`).digest();
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
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
    return developmentCommandKeys([name]);
  }
  if (publicKeys === undefined) throw new InvalidCommandKeyError('GATEHOUSE_COMMAND_PUBLIC_KEYS', 'must be set with GATEHOUSE_COMMAND_SIGNING_KEY: which signers does this process trust?');
  const trusted = parseTrustedKeys(publicKeys);
  const signing = new Map<string, KeyObject>();
  if (signingKey !== undefined) signing.set(name, parseSigningKey(signingKey));
  return { signing, trusted, insecure: false };
}
