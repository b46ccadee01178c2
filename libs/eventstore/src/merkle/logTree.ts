import type { EventStore } from '../types.js';
import { eventLeafHash, MerkleTree } from './merkleTree.js';

/** What a leaf stands for: one event of the log, in commit order. */
export interface LogLeaf {
  /** Leaf index: the event's 0-based place in readAll order. */
  index: number;
  globalPosition: bigint;
  streamId: string;
  streamVersion: bigint;
  type: string;
  /** The event's hash (hex), the leaf's entry. */
  eventHash: string;
}

export interface LogTree {
  tree: MerkleTree;
  leaves: readonly LogLeaf[];
  /** Leaf index of the event at `position`, if the tree covers it. */
  indexOf(position: bigint): number | undefined;
}

/**
 * The Merkle tree of the log as the database holds it now, read in full (readAll order), so
 * that proofs and new tree heads always reflect the stored rows: a rewrite of history shows up
 * as a root that no longer extends the heads signed before it.
 * @param maxSize read at most this many events. @defaultValue the whole log
 */
export async function readLogTree(store: EventStore, maxSize?: number): Promise<LogTree> {
  const tree = new MerkleTree();
  const leaves: LogLeaf[] = [];
  const byPosition = new Map<bigint, number>();
  if (maxSize !== 0) {
    for await (const event of store.readAll()) {
      const index = leaves.length;
      tree.append(eventLeafHash(event.hash));
      leaves.push({
        index,
        globalPosition: event.globalPosition,
        streamId: event.streamId,
        streamVersion: event.streamVersion,
        type: event.type,
        eventHash: event.hash,
      });
      byPosition.set(event.globalPosition, index);
      if (maxSize !== undefined && leaves.length >= maxSize) break;
    }
  }
  return { tree, leaves, indexOf: (position) => byPosition.get(position) };
}
