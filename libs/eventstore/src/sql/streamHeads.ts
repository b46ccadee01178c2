/**
 * Last known (version, hash) of recently touched streams, per store: what an append with an
 * exact expected version needs to chain its hashes in Node and write a plain INSERT, instead of
 * reading the head inside the statement (a recursive CTE for several events).
 *
 * Only ever holds pairs read from committed rows (the store's own appends and stream reads), so
 * it can be stale but never wrong: a stale head means a newer version exists, and the INSERT of
 * version + 1 then fails on UNIQUE (stream_id, stream_version) and writes nothing, exactly as a
 * lost race does. The unique index stays the guard; the cache only saves the read.
 */
export interface StreamHead {
  version: bigint;
  hash: string;
}

/** Streams remembered per store; the least recently used is forgotten first. */
export const DEFAULT_STREAM_HEADS = 10_000;

export class StreamHeads {
  private readonly heads = new Map<string, StreamHead>();

  constructor(private readonly capacity: number = DEFAULT_STREAM_HEADS) {}

  get size(): number {
    return this.heads.size;
  }

  /** The known head if it is exactly `version`, else undefined. */
  at(streamId: string, version: bigint): StreamHead | undefined {
    const head = this.heads.get(streamId);
    return head !== undefined && head.version === version ? head : undefined;
  }

  /** Records a committed event; keeps the highest version seen. */
  saw(streamId: string, version: bigint, hash: string): void {
    const known = this.heads.get(streamId);
    if (known !== undefined) {
      if (known.version > version) return;
      this.heads.delete(streamId); // re-insert: most recently used last
    }
    this.heads.set(streamId, { version, hash });
    if (this.heads.size > this.capacity) {
      const oldest = this.heads.keys().next();
      if (oldest.done !== true) this.heads.delete(oldest.value);
    }
  }

  forget(streamId: string): void {
    this.heads.delete(streamId);
  }
}
