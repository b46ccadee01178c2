import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './canonicalJson.js';
import { canonicalEventBody, eventHash, GENESIS_HASH, nextChainHash } from './hashing.js';
import { CompactRange, eventLeafHash } from './merkle/merkleTree.js';
import { keyIdOf, type SignedTreeHead, TREE_HEAD_SIGNED, TREE_HEADS_STREAM, verifyTreeHead } from './merkle/treeHead.js';
import type { AuditableEventStore, Seal, SealedEvent, StoredEvent } from './types.js';

export type VerificationResult =
  | { ok: true; eventsChecked: number; lastPosition: bigint; sealsChecked: number }
  | {
      ok: false;
      firstBadPosition: bigint;
      streamId: string | undefined;
      /** Stream version of the row named by firstBadPosition, when it is known. */
      streamVersion?: bigint;
      reason: string;
    };

interface StreamState {
  version: bigint;
  hash: string;
  position: bigint;
}

export interface VerifyOptions {
  /** Public key the recorded tree heads naming it must be signed with; without it only their roots are checked. */
  treeHeadKey?: KeyObject;
}

/** Sealed events fetched per round trip, and how far ahead verify looks for where the log resumes after a hole. */
const SEALED_PAGE_SIZE = 10_000;

/** Recomputes an event's own hash from its stored content and stored previous hash. */
export function recomputeEventHash(event: StoredEvent): string {
  return eventHash(event.previousHash, event.streamVersion, canonicalEventBody(event, canonicalJson));
}

const describeRow = (row: { globalPosition: bigint; streamId: string; streamVersion: bigint }): string =>
  `event at position ${row.globalPosition} (stream ${row.streamId}, version ${row.streamVersion})`;

/** Random access by ordinal into the sealed events, one page in memory (reads are nearly sequential). */
class SealedEventPages {
  private page: SealedEvent[] = [];
  private first = 0n;
  /** The last page read was short: nothing is sealed past its end (the unsealed tail costs no reads). */
  private atEnd = false;

  constructor(private readonly store: AuditableEventStore) {}

  async at(ordinal: bigint): Promise<SealedEvent | undefined> {
    const end = this.first + BigInt(this.page.length);
    if (ordinal >= end && this.atEnd && ordinal >= this.first) return undefined;
    if (ordinal < this.first || ordinal >= end) {
      this.page = await this.store.readSealedEvents(ordinal, SEALED_PAGE_SIZE);
      this.first = ordinal;
      this.atEnd = this.page.length < SEALED_PAGE_SIZE;
    }
    return this.page[Number(ordinal - this.first)];
  }

  /** The ordinal of the sealed event at `position`, looking at most SEALED_PAGE_SIZE ordinals from `from`. */
  async find(position: bigint, from: bigint): Promise<bigint | undefined> {
    for (let ordinal = from; ordinal < from + BigInt(SEALED_PAGE_SIZE); ordinal++) {
      const sealed = await this.at(ordinal);
      if (sealed === undefined) return undefined;
      if (sealed.globalPosition === position) return ordinal;
    }
    return undefined;
  }
}

/**
 * Re-walks the whole log in readAll order and checks, first failure wins:
 *  0. no stored row is outside the log readAll walks (a forged transaction id hides a row from
 *     every reader; the store's reads all skip such rows, and this names them);
 *  1. the log matches the sealed events — each event as the sealer saw it: a sealed row that is
 *     gone is named (position, stream, version), as is a row inserted into sealed history or one
 *     rewritten after sealing (even with every hash recomputed);
 *  2. each event's hash matches its content (altered rows);
 *  3. each stream's versions are contiguous from 0 and previousHash links to the prior
 *     event's hash (deleted or inserted rows not yet sealed);
 *  4. the global chain matches every seal at its position, and every sealed position is
 *     still present;
 *  5. every tree head the log records (TreeHeadSigned) has the root of the log's first
 *     `treeSize` events now, and, given `treeHeadKey`, a valid signature when it names that key
 *     (heads of a key rotated out are checked for their root only).
 * Limits (hashes are unkeyed): a forger with SQL access who also rewrites the seals and sealed
 * events and deletes the recorded tree heads, or who works after the last seal, cannot be caught
 * from inside the database: the signed tree heads published outside it and an auditor's client
 * that keeps the last head it trusted (gatehouse audit watch) catch that.
 */
export async function verifyEventLog(store: AuditableEventStore, options: VerifyOptions = {}): Promise<VerificationResult> {
  const fail = (position: bigint, streamId: string | undefined, streamVersion: bigint | undefined, reason: string): VerificationResult => ({
    ok: false,
    firstBadPosition: position,
    streamId,
    ...(streamVersion === undefined ? {} : { streamVersion }),
    reason,
  });

  const [outside] = await store.readEventsOutsideLog(1);
  if (outside !== undefined) {
    return fail(
      outside.globalPosition,
      outside.streamId,
      outside.streamVersion,
      `${describeRow(outside)} is stored outside the log: its transaction id is not one a committed transaction can have, so no reader returns it (forged row)`,
    );
  }

  // Tree heads by the size they cover, checked when the walk has seen exactly that many events.
  const heads = new Map<number, { head: SignedTreeHead; position: bigint }[]>();
  const trustedKeyId = options.treeHeadKey === undefined ? undefined : keyIdOf(options.treeHeadKey);
  for (const event of await store.readStream(TREE_HEADS_STREAM)) {
    if (event.type !== TREE_HEAD_SIGNED) continue;
    const head = event.data as SignedTreeHead;
    // Heads naming another key (one rotated out) cannot be checked here: their roots still are.
    if (trustedKeyId !== undefined && head.keyId === trustedKeyId && !verifyTreeHead(head, options.treeHeadKey as KeyObject)) {
      return fail(event.globalPosition, event.streamId, event.streamVersion, `tree head of size ${head.treeSize} recorded at position ${event.globalPosition} is not signed by the trusted key: forged or altered`);
    }
    heads.set(head.treeSize, [...(heads.get(head.treeSize) ?? []), { head, position: event.globalPosition }]);
  }
  const range = new CompactRange();
  const checkHeadsAt = (lastCovered: StoredEvent | undefined): VerificationResult | undefined => {
    const root = heads.has(range.size) ? range.root().toString('hex') : undefined;
    for (const { head, position } of heads.get(range.size) ?? []) {
      if (head.rootHash !== root) {
        return fail(
          lastCovered?.globalPosition ?? 0n,
          lastCovered?.streamId,
          lastCovered?.streamVersion,
          `the log's first ${head.treeSize} events (up to position ${lastCovered?.globalPosition ?? 0n}) no longer have the root of the tree head signed ${head.timestamp} (recorded at position ${position}): an event among them was rewritten after it was signed`,
        );
      }
    }
    heads.delete(range.size);
    return undefined;
  };
  const atStart = checkHeadsAt(undefined);
  if (atStart !== undefined) return atStart;

  const seals = await store.readSeals();
  const sealIndexByPosition = new Map<bigint, number>(seals.map((seal, index) => [seal.position, index]));
  const sealed = new SealedEventPages(store);
  const streams = new Map<string, StreamState>();
  let chainHash = GENESIS_HASH;
  let ordinal = 0n;
  let lastPosition = 0n;
  let nextSeal = 0;

  for await (const event of store.readAll()) {
    const { streamId, streamVersion, globalPosition } = event;
    const sealedHere = await sealed.at(ordinal);
    if (sealedHere !== undefined && sealedHere.globalPosition !== globalPosition) {
      const resumesAt = await sealed.find(globalPosition, ordinal + 1n);
      if (resumesAt !== undefined) {
        const more = resumesAt - ordinal - 1n;
        return fail(
          sealedHere.globalPosition,
          sealedHere.streamId,
          sealedHere.streamVersion,
          `${describeRow(sealedHere)} is missing: deleted after it was sealed${more > 0n ? ` (and the ${more} sealed events after it)` : ''}`,
        );
      }
      return fail(
        globalPosition,
        streamId,
        streamVersion,
        `${describeRow(event)} is not in sealed history, which has position ${sealedHere.globalPosition} at this place: inserted or moved after sealing`,
      );
    }
    if (recomputeEventHash(event) !== event.hash) {
      return fail(globalPosition, streamId, streamVersion, `event ${event.id} (version ${streamVersion}) does not match its hash: content altered`);
    }
    if (sealedHere !== undefined && sealedHere.hash !== event.hash) {
      return fail(
        globalPosition,
        streamId,
        streamVersion,
        `${describeRow(event)} was rewritten after it was sealed: its hash was ${sealedHere.hash}, now ${event.hash}`,
      );
    }
    const previous = streams.get(streamId);
    const expectedVersion = previous === undefined ? 0n : previous.version + 1n;
    if (streamVersion !== expectedVersion) {
      const after = previous === undefined ? 'the start' : `position ${previous.position}`;
      return fail(
        globalPosition,
        streamId,
        streamVersion,
        streamVersion > expectedVersion
          ? `expected stream version ${expectedVersion}, found ${streamVersion}: version ${expectedVersion} of stream ${streamId} is missing (deleted between ${after} and position ${globalPosition})`
          : `expected stream version ${expectedVersion}, found ${streamVersion}: events missing or inserted before it`,
      );
    }
    const expectedPrevious = previous?.hash ?? GENESIS_HASH;
    if (event.previousHash !== expectedPrevious) {
      return fail(globalPosition, streamId, streamVersion, `previous hash does not link to stream version ${expectedVersion - 1n}: chain broken`);
    }
    streams.set(streamId, { version: streamVersion, hash: event.hash, position: globalPosition });
    chainHash = nextChainHash(chainHash, event.hash, globalPosition);
    ordinal += 1n;
    lastPosition = globalPosition;
    range.append(eventLeafHash(event.hash));
    const headMismatch = checkHeadsAt(event);
    if (headMismatch !== undefined) return headMismatch;

    const sealIndex = sealIndexByPosition.get(globalPosition);
    if (sealIndex !== undefined) {
      if (sealIndex !== nextSeal) {
        const missing = seals[nextSeal] as Seal;
        return fail(missing.position, undefined, undefined, `sealed event at position ${missing.position} (seal ${missing.sealNumber}) is missing`);
      }
      const seal = seals[sealIndex] as Seal;
      if (seal.chainHash !== chainHash || seal.eventsSealed !== ordinal) {
        const from = sealIndex === 0 ? 'the start' : `position ${(seals[sealIndex - 1] as Seal).position}`;
        return fail(
          globalPosition,
          streamId,
          streamVersion,
          `global chain differs from seal ${seal.sealNumber}: an event after ${from} and up to position ${globalPosition} was altered, inserted or removed`,
        );
      }
      nextSeal += 1;
    }
  }
  const sealedBeyond = await sealed.at(ordinal);
  if (sealedBeyond !== undefined) {
    return fail(sealedBeyond.globalPosition, sealedBeyond.streamId, sealedBeyond.streamVersion, `${describeRow(sealedBeyond)} is missing: deleted after it was sealed`);
  }
  const unmatched = seals[nextSeal];
  if (unmatched !== undefined) {
    return fail(unmatched.position, undefined, undefined, `sealed event at position ${unmatched.position} (seal ${unmatched.sealNumber}) is missing`);
  }
  for (const [size, [claim]] of heads) {
    if (claim === undefined) continue;
    return fail(claim.position, TREE_HEADS_STREAM, undefined, `the tree head recorded at position ${claim.position} covers ${size} events, but the log holds ${ordinal}: events it covered were removed`);
  }
  return { ok: true, eventsChecked: Number(ordinal), lastPosition, sealsChecked: nextSeal };
}
