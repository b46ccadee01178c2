/**
 * The auditor's client (`gatehouse audit watch`): like a Certificate Transparency monitor, it keeps
 * the last signed tree head it verified, and the leaves under it, in a state file. Each run it gets
 * a new signed head, checks the signature with the key it trusts, checks the server's consistency
 * proof from the old head, and checks that the new leaves produce the new root. A server whose
 * database was rewritten — even with every hash and seal recomputed — cannot pass: the old root
 * no longer has a consistent extension, and the stored leaves name the first position that differs.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { eventLeafHash, keyIdOf, MerkleTree, type SignedTreeHead, verifyConsistency, verifyTreeHead } from '@gatehouse/eventstore';
import { CliInputError } from '../io.js';
import type { AuditClient, LeafView } from './auditClient.js';

export const WATCH_STATE_FORMAT = 'gatehouse-audit-watch/v1';

/** One leaf as kept in the state file: [globalPosition, streamId, streamVersion, eventHash]. */
type StoredLeaf = [position: string, streamId: string, streamVersion: string, eventHash: string];

export interface WatchState {
  format: typeof WATCH_STATE_FORMAT;
  keyId: string;
  publicKeyPem: string;
  treeHead: SignedTreeHead;
  leaves: StoredLeaf[];
}

export type WatchOutcome =
  | { ok: true; treeHead: SignedTreeHead; previousSize: number | null; keyId: string }
  | {
      ok: false;
      reason: string;
      /** The first leaf where the server's history differs from what this client verified before. */
      firstDifference?: { index: number; globalPosition: string; streamId: string; streamVersion: string; trustedHash: string; serverHash: string | null };
    };

const toStored = (leaf: LeafView): StoredLeaf => [leaf.globalPosition, leaf.streamId, leaf.streamVersion, leaf.eventHash];

export async function readWatchState(file: string): Promise<WatchState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let state: Partial<WatchState>;
  try {
    state = JSON.parse(text) as Partial<WatchState>;
  } catch {
    throw new CliInputError(`--state ${file} is not JSON; it must be a file written by gatehouse audit watch`);
  }
  if (state.format !== WATCH_STATE_FORMAT || !state.treeHead || !Array.isArray(state.leaves) || typeof state.publicKeyPem !== 'string') {
    throw new CliInputError(`--state ${file} is not a ${WATCH_STATE_FORMAT} file written by gatehouse audit watch`);
  }
  return state as WatchState;
}

/** Written to a temporary file and renamed, so an interrupted run never leaves half a state. */
export async function writeWatchState(file: string, state: WatchState): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, JSON.stringify(state));
  await rename(temporary, file);
}

export interface WatchOptions {
  client: AuditClient;
  state: WatchState | undefined;
  /** A key given on the command line; else the one in the state; else (first run) the server's. */
  trustedKeyPem?: string | undefined;
  /** Use the latest periodic head instead of asking the server to sign one now. */
  latest?: boolean;
}

export async function watchOnce({ client, state, trustedKeyPem, latest = false }: WatchOptions): Promise<{ outcome: WatchOutcome; next?: WatchState }> {
  const publicKeyPem = trustedKeyPem ?? state?.publicKeyPem ?? (await client.publicKey()).publicKeyPem;
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(publicKeyPem);
  } catch {
    throw new CliInputError('--key must be a PEM public key (as GET /api/audit/public-key gives)');
  }
  const keyId = keyIdOf(publicKey);
  const head = latest ? await client.latestTreeHead() : await client.signTreeHead();
  if (!verifyTreeHead(head, publicKey)) {
    return { outcome: { ok: false, reason: `the tree head of size ${head.treeSize} is not signed by the trusted key ${keyId} (it names key ${head.keyId})` } };
  }

  const trusted = state?.treeHead;
  const trustedSize = trusted?.treeSize ?? 0;
  if (trusted !== undefined) {
    if (head.treeSize < trustedSize) {
      return { outcome: { ok: false, reason: `the log shrank from ${trustedSize} to ${head.treeSize} events: history was removed`, ...(await locate(client, state as WatchState, head.treeSize)) } };
    }
    const { proof } = await client.consistencyProof(trustedSize, head.treeSize);
    const consistent = verifyConsistency(trustedSize, head.treeSize, Buffer.from(trusted.rootHash, 'hex'), Buffer.from(head.rootHash, 'hex'), proof.map((p) => Buffer.from(p, 'hex')));
    if (!consistent) {
      return {
        outcome: {
          ok: false,
          reason: `the tree head of size ${head.treeSize} does not extend the trusted head of size ${trustedSize}: history the client verified was rewritten`,
          ...(await locate(client, state as WatchState, head.treeSize)),
        },
      };
    }
  }

  // The new leaves, with the ones verified before, must produce the signed root.
  const fresh = (await client.leaves(trustedSize, head.treeSize)).map(toStored);
  const leaves = [...(state?.leaves ?? []), ...fresh];
  const tree = new MerkleTree();
  try {
    for (const [, , , eventHash] of leaves) tree.append(eventLeafHash(eventHash));
  } catch (error) {
    return { outcome: { ok: false, reason: `the server listed a malformed leaf: ${(error as Error).message}` } };
  }
  if (tree.size !== head.treeSize || tree.root().toString('hex') !== head.rootHash) {
    return { outcome: { ok: false, reason: `the ${tree.size} leaves the server lists do not produce the root of its signed tree head of size ${head.treeSize}` } };
  }
  return {
    outcome: { ok: true, treeHead: head, previousSize: trusted?.treeSize ?? null, keyId },
    next: { format: WATCH_STATE_FORMAT, keyId, publicKeyPem, treeHead: head, leaves },
  };
}

/** Compares the server's leaves now with the ones verified before, and names the first that differs. */
async function locate(client: AuditClient, state: WatchState, serverSize: number): Promise<Pick<Extract<WatchOutcome, { ok: false }>, 'firstDifference'>> {
  const server = await client.leaves(0, Math.min(serverSize, state.leaves.length));
  for (let index = 0; index < state.leaves.length; index++) {
    const [globalPosition, streamId, streamVersion, trustedHash] = state.leaves[index] as StoredLeaf;
    const now = server[index];
    if (now === undefined || now.globalPosition !== globalPosition || now.eventHash !== trustedHash) {
      const serverHash = now !== undefined && now.globalPosition === globalPosition ? now.eventHash : null;
      return { firstDifference: { index, globalPosition, streamId, streamVersion, trustedHash, serverHash } };
    }
  }
  return {};
}
