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
 *     still present (rows deleted or inserted anywhere before a seal);
 *  4. each stream's last event matches the stream head written by appends (rows deleted
 *     from, or forged onto, the end of a stream after the last seal).
 * A forged row whose hashes were recomputed by the forger and that sits after the last seal
 * and in step with the streams table is indistinguishable from a real append: seal often.
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
        return fail(globalPosition, streamId, `global chain differs from seal ${seal.sealNumber}: an event up to here was altered, inserted or removed`);
      }
      nextSeal += 1;
    }
  }
  const unmatched = seals[nextSeal];
  if (unmatched !== undefined) {
    return fail(unmatched.position, undefined, `sealed event at position ${unmatched.position} (seal ${unmatched.sealNumber}) is missing`);
  }
  const heads = await store.readStreamHeads();
  const headIds = new Set(heads.map((head) => head.streamId));
  for (const [streamId, state] of streams) {
    if (!headIds.has(streamId)) {
      return fail(state.position, streamId, 'stream has events but no stream head: events forged outside the append path');
    }
  }
  for (const head of heads) {
    const state = streams.get(head.streamId);
    if (state === undefined || state.version !== head.version || state.hash !== head.lastHash) {
      return fail(
        state?.position ?? lastPosition,
        head.streamId,
        `stream head records version ${head.version} but the log ends at ${state === undefined ? 'no event' : `version ${state.version}`}: events deleted or forged at the end of the stream`,
      );
    }
  }
  return { ok: true, eventsChecked, lastPosition, sealsChecked: nextSeal };
}
