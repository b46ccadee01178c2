import type { EventStore, SqlAccess } from '../types.js';
import { readAllColumns } from '../sql/readAllColumns.js';

/** Leaves read per page of the log when the tree is read over SQL. No more: larger pages tip the planner, on a log whose statistics lag, from the commit-order index to a sort of the rest of the log at every page. */
const TREE_READ_BATCH = 5_000;
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
  // Keyed by the position as a number (exact below 2^53): a bigint key costs a hash of its digits per lookup.
  const byPosition = new Map<number, number>();
  const add = (leaf: LogLeaf): void => {
    tree.append(eventLeafHash(leaf.eventHash));
    leaves.push(leaf);
    byPosition.set(Number(leaf.globalPosition), leaf.index);
  };
  const sql = (store as { sql?: SqlAccess }).sql;
  if (maxSize !== 0 && sql !== undefined) {
    // Only what a leaf holds: the events' data and metadata are neither read nor parsed.
    const batchSize = maxSize === undefined ? TREE_READ_BATCH : Math.min(TREE_READ_BATCH, maxSize);
    pages: for await (const rows of readAllColumns(sql, 'transaction_id, global_position, stream_id, stream_version, type, hash', { batchSize })) {
      for (const [, position, streamId, streamVersion, type, hash] of rows as Array<[string, string, string, string, string, string]>) {
        add({ index: leaves.length, globalPosition: BigInt(position), streamId, streamVersion: BigInt(streamVersion), type, eventHash: hash });
        if (maxSize !== undefined && leaves.length >= maxSize) break pages;
      }
    }
  } else if (maxSize !== 0) {
    for await (const event of store.readAll()) {
      add({ index: leaves.length, globalPosition: event.globalPosition, streamId: event.streamId, streamVersion: event.streamVersion, type: event.type, eventHash: event.hash });
      if (maxSize !== undefined && leaves.length >= maxSize) break;
    }
  }
  return { tree, leaves, indexOf: (position) => byPosition.get(Number(position)) };
}
