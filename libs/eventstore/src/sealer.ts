import { GENESIS_HASH, nextChainHash } from './hashing.js';
import { InvalidArgumentError } from './errors.js';
import { START, type AuditableEventStore, type Seal, type SealedEvent } from './types.js';

/** How often the background sealer looks for new events. */
export const DEFAULT_SEAL_INTERVAL_MS = 1_000;
/** A seal is written at least every this many events (and at the end of each pass). */
export const DEFAULT_EVENTS_PER_SEAL = 10_000;

export interface SealerOptions {
  /** @defaultValue DEFAULT_SEAL_INTERVAL_MS */
  intervalMs?: number;
  /** @defaultValue DEFAULT_EVENTS_PER_SEAL */
  eventsPerSeal?: number;
  /** Called when a pass fails; the sealer keeps running and retries on the next tick. */
  onError?: (error: unknown) => void;
}

export interface SealPassResult {
  /** Seals written by this pass (0 when nothing new or another sealer won the race). */
  sealsWritten: number;
  lastSeal: Seal | undefined;
}

/**
 * Extends the global hash chain over events committed since the last seal, in readAll
 * order, writing a seal every `eventsPerSeal` events and one at the end.
 * Safe to run from several processes: seal numbers are unique, a loser stops its pass.
 */
export async function sealOnce(store: AuditableEventStore, eventsPerSeal = DEFAULT_EVENTS_PER_SEAL): Promise<SealPassResult> {
  if (!Number.isInteger(eventsPerSeal) || eventsPerSeal <= 0) throw new InvalidArgumentError('eventsPerSeal', 'must be a positive integer');
  const seals = await store.readSeals();
  let lastSeal = seals[seals.length - 1];
  let chainHash = lastSeal?.chainHash ?? GENESIS_HASH;
  let eventsSealed = lastSeal?.eventsSealed ?? 0n;
  let nextSealNumber = (lastSeal?.sealNumber ?? -1n) + 1n;
  let pending: { position: bigint } | undefined;
  /** Events the next seal covers, recorded with it. */
  let covered: SealedEvent[] = [];
  let sealsWritten = 0;

  const writeSeal = async (position: bigint): Promise<boolean> => {
    const seal = { sealNumber: nextSealNumber, position, chainHash, eventsSealed };
    if (!(await store.recordSeal(seal, covered))) return false;
    lastSeal = { ...seal, sealedAt: new Date() };
    nextSealNumber += 1n;
    sealsWritten += 1;
    covered = [];
    return true;
  };

  for await (const event of store.readAll({ after: lastSeal?.position ?? START })) {
    chainHash = nextChainHash(chainHash, event.hash, event.globalPosition);
    const { globalPosition, streamId, streamVersion, hash } = event;
    covered.push({ ordinal: eventsSealed, globalPosition, streamId, streamVersion, hash });
    eventsSealed += 1n;
    pending = { position: event.globalPosition };
    if (covered.length >= eventsPerSeal) {
      if (!(await writeSeal(event.globalPosition))) return { sealsWritten, lastSeal };
      pending = undefined;
    }
  }
  if (pending !== undefined) await writeSeal(pending.position);
  return { sealsWritten, lastSeal };
}

export interface Sealer {
  /** Waits for a running pass, then stops. */
  stop(): Promise<void>;
  /** Runs a pass now (after any running one) and returns its result. */
  sealNow(): Promise<SealPassResult>;
}

/** Background sealer: one pass every `intervalMs`, never two passes at once in this process. */
export function startSealer(store: AuditableEventStore, options: SealerOptions = {}): Sealer {
  const { intervalMs = DEFAULT_SEAL_INTERVAL_MS, eventsPerSeal = DEFAULT_EVENTS_PER_SEAL, onError } = options;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const pass = (): Promise<SealPassResult> => {
    const next = running.then(() => sealOnce(store, eventsPerSeal));
    running = next.catch((error: unknown) => onError?.(error));
    return next;
  };
  const timer = setInterval(() => {
    if (!stopped) void pass().catch(() => undefined);
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    sealNow: pass,
  };
}
