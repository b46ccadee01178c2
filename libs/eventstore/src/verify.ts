import { canonicalJson } from './canonicalJson.js';
import { canonicalEventBody, eventHash, GENESIS_HASH, nextChainHash } from './hashing.js';
import type { AuditableEventStore, Seal, StoredEvent } from './types.js';

export type VerificationResult =
  | { ok: true; eventsChecked: number; lastPosition: bigint; sealsChecked: number }
  | { ok: false; firstBadPosition: bigint; streamId: string | undefined; reason: string };

interface StreamState {
  version: bigint;
  hash: string;
  position: bigint;
}

/** Recomputes an event's own hash from its stored content and stored previous hash. */
export function recomputeEventHash(event: StoredEvent): string {
  return eventHash(event.previousHash, event.streamVersion, canonicalEventBody(event, canonicalJson));
}

/**
 * Re-walks the whole log in readAll order and checks, first failure wins:
 *  1. each event's hash matches its content (altered rows);
 *  2. each stream's versions are contiguous from 0 and previousHash links to the prior
 *     event's hash (deleted or inserted rows);
 *  3. the global chain matches every seal at its position, and every sealed position is
 *     still present (rows deleted, inserted or re-hashed anywhere before a seal; the chain
 *     can only say which range between two seals, so the reason names that range).
 * Limits (hashes are unkeyed): a forger with SQL access who recomputes hashes and appends
 * after the last seal, or deletes a stream's not-yet-sealed tail, looks like real history and
 * then gets sealed; and one who also rewrites the seals table cannot be caught from inside
 * the database. Run the sealer often (the exposure is its interval) and copy seals elsewhere.
 */
export async function verifyEventLog(store: AuditableEventStore): Promise<VerificationResult> {
  const seals = await store.readSeals();
  const sealIndexByPosition = new Map<bigint, number>(seals.map((seal, index) => [seal.position, index]));
  const streams = new Map<string, StreamState>();
  let chainHash = GENESIS_HASH;
  let eventsChecked = 0;
  let lastPosition = 0n;
  let nextSeal = 0;
  const fail = (position: bigint, streamId: string | undefined, reason: string): VerificationResult => ({
    ok: false,
    firstBadPosition: position,
    streamId,
    reason,
  });

  for await (const event of store.readAll()) {
    const { streamId, streamVersion, globalPosition } = event;
    if (recomputeEventHash(event) !== event.hash) {
      return fail(globalPosition, streamId, `event ${event.id} (version ${streamVersion}) does not match its hash: content altered`);
    }
    const previous = streams.get(streamId);
    const expectedVersion = previous === undefined ? 0n : previous.version + 1n;
    if (streamVersion !== expectedVersion) {
      return fail(globalPosition, streamId, `expected stream version ${expectedVersion}, found ${streamVersion}: events missing or inserted before it`);
    }
    const expectedPrevious = previous?.hash ?? GENESIS_HASH;
    if (event.previousHash !== expectedPrevious) {
      return fail(globalPosition, streamId, `previous hash does not link to stream version ${expectedVersion - 1n}: chain broken`);
    }
    streams.set(streamId, { version: streamVersion, hash: event.hash, position: globalPosition });
    chainHash = nextChainHash(chainHash, event.hash, globalPosition);
    eventsChecked += 1;
    lastPosition = globalPosition;

    const sealIndex = sealIndexByPosition.get(globalPosition);
    if (sealIndex !== undefined) {
      if (sealIndex !== nextSeal) {
        const missing = seals[nextSeal] as Seal;
        return fail(missing.position, undefined, `sealed event at position ${missing.position} (seal ${missing.sealNumber}) is missing`);
      }
      const seal = seals[sealIndex] as Seal;
      if (seal.chainHash !== chainHash || seal.eventsSealed !== BigInt(eventsChecked)) {
        const from = sealIndex === 0 ? 'the start' : `position ${(seals[sealIndex - 1] as Seal).position}`;
        return fail(
          globalPosition,
          streamId,
          `global chain differs from seal ${seal.sealNumber}: an event after ${from} and up to position ${globalPosition} was altered, inserted or removed`,
        );
      }
      nextSeal += 1;
    }
  }
  const unmatched = seals[nextSeal];
  if (unmatched !== undefined) {
    return fail(unmatched.position, undefined, `sealed event at position ${unmatched.position} (seal ${unmatched.sealNumber}) is missing`);
  }
  return { ok: true, eventsChecked, lastPosition, sealsChecked: nextSeal };
}
