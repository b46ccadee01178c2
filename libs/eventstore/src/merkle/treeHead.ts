/**
 * Signed tree heads: the log's commitment to its first `treeSize` events, signed with ed25519 so
 * that whoever holds a copy can check it without trusting the database (RFC 9162 section 4.10 in
 * spirit; our own byte layout, given below).
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** Event type and stream of the tree heads the log records about itself. */
export const TREE_HEAD_SIGNED = 'TreeHeadSigned';
export const TREE_HEADS_STREAM = 'auditTreeHeads-log';

export interface TreeHead {
  /** Number of events covered: the first `treeSize` events of the log in commit (readAll) order. */
  treeSize: number;
  /** MTH of those events' leaves, hex. */
  rootHash: string;
  /** Global position of the last covered event ("0" for the empty tree). */
  lastPosition: string;
  /** When it was signed (ISO 8601, UTC). */
  timestamp: string;
}

export interface SignedTreeHead extends TreeHead {
  /** SHA-256 (hex) of the signing key's SubjectPublicKeyInfo (DER), as CT names a log's key. */
  keyId: string;
  /** ed25519 signature over `treeHeadSigningInput`, base64. */
  signature: string;
}

const SIGNING_CONTEXT = 'gatehouse-tree-head/v1';

/** The exact bytes signed: a context line, then each field on its own line (no field contains a newline). */
export function treeHeadSigningInput(head: TreeHead): Buffer {
  return Buffer.from([SIGNING_CONTEXT, head.treeSize, head.rootHash, head.lastPosition, head.timestamp].join('\n'), 'utf8');
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
}

export function signTreeHead(head: TreeHead, privateKey: KeyObject): SignedTreeHead {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError('tree heads are signed with an ed25519 key');
  const { treeSize, rootHash, lastPosition, timestamp } = head;
  return {
    treeSize,
    rootHash,
    lastPosition,
    timestamp,
    keyId: keyIdOf(createPublicKey(privateKey)),
    signature: sign(null, treeHeadSigningInput(head), privateKey).toString('base64'),
  };
}

/** True when `head` was signed by `publicKey`'s owner and names that key. */
export function verifyTreeHead(head: SignedTreeHead, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519' || head.keyId !== keyIdOf(publicKey)) return false;
  try {
    return verify(null, treeHeadSigningInput(head), publicKey, Buffer.from(head.signature, 'base64'));
  } catch {
    return false;
  }
}
