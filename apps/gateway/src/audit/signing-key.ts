import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { keyIdOf } from '@gatehouse/eventstore';
import { ConfigurationError } from '../config.js';

/** File the development signing key is kept in, inside GATEHOUSE_DATA_DIR. */
export const DEVELOPMENT_KEY_FILE = 'audit-signing-key.pem';

export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SHA-256 of the public key (SPKI DER), hex: what tree heads name. */
  keyId: string;
  publicKeyPem: string;
  /**
   * Where the key came from, for the start warning. 'ephemeral': no key was configured and the data
   * dir is not writable (a read-only container), so heads are signed with a key that dies with the process.
   */
  source: 'GATEHOUSE_AUDIT_SIGNING_KEY' | { developmentKeyFile: string } | 'ephemeral';
}

function fromPrivateKey(privateKey: KeyObject, source: AuditSigningKey['source']): AuditSigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey), publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), source };
}

function parseEd25519(pem: string, variable: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ConfigurationError([{ variable, reason: 'must be a PEM private key (PKCS#8), e.g. from: openssl genpkey -algorithm ed25519' }]);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ConfigurationError([{ variable, reason: `must be an ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}` }]);
  }
  return key;
}

/**
 * The key that signs tree heads: GATEHOUSE_AUDIT_SIGNING_KEY (PEM) when set; otherwise a
 * development key generated once and kept in `<dataDir>/audit-signing-key.pem` (owner-only), so
 * heads signed before a restart still verify after it. Production refuses the fallback (config).
 */
export async function loadAuditSigningKey(config: { GATEHOUSE_AUDIT_SIGNING_KEY?: string | undefined; GATEHOUSE_DATA_DIR: string }): Promise<AuditSigningKey> {
  if (config.GATEHOUSE_AUDIT_SIGNING_KEY !== undefined) {
    return fromPrivateKey(parseEd25519(config.GATEHOUSE_AUDIT_SIGNING_KEY, 'GATEHOUSE_AUDIT_SIGNING_KEY'), 'GATEHOUSE_AUDIT_SIGNING_KEY');
  }
  const file = path.resolve(config.GATEHOUSE_DATA_DIR, DEVELOPMENT_KEY_FILE);
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    // Not there yet (ENOENT), or no directory can be there (ENOTDIR): generate one below.
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (existing !== undefined) return fromPrivateKey(parseEd25519(existing, file), { developmentKeyFile: file });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    await mkdir(path.dirname(file), { recursive: true });
    // 'wx': two processes starting at once over one data dir must not overwrite each other's key.
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process wrote it first: use theirs. Anything else: the data dir cannot hold it.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return fromPrivateKey(privateKey, 'ephemeral');
  }
  return fromPrivateKey(parseEd25519(await readFile(file, 'utf8'), file), { developmentKeyFile: file });
}
