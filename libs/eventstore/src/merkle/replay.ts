/**
 * Replay export: events in commit order as JSON Lines, each with its inclusion proof against one
 * signed tree head carried in the first line, so an export — whole or filtered — can be verified
 * with nothing but the public key, long after the database changed.
 *   {"format":"gatehouse-replay/v1","treeHead":{...},"filter":{...}}
 *   {"event":{...},"leafIndex":n,"auditPath":["<hex>",...]}      one per event
 *   {"end":true,"events":n}                                        absent: the export was cut short
 */
import type { KeyObject } from 'node:crypto';
import { verifyTreeHead, type SignedTreeHead } from './treeHead.js';
import { eventLeafHash, verifyInclusion } from './merkleTree.js';
import type { LogTree } from './logTree.js';
import { recomputeEventHash } from '../verify.js';
import type { EventStore, StoredEvent } from '../types.js';

export const REPLAY_FORMAT = 'gatehouse-replay/v1';

/** An event as JSON (positions and versions as decimal strings). */
export interface ReplayEvent {
  id: string;
  type: string;
  streamId: string;
  streamVersion: string;
  globalPosition: string;
  recordedAt: string;
  data: unknown;
  metadata: Record<string, unknown>;
  hash: string;
  previousHash: string;
}

export interface ReplayFilter {
  /** Exclusive global position to start after (resuming an export). */
  after?: bigint;
  /** Inclusive last global position. */
  until?: bigint;
  streamId?: string;
  eventType?: string;
}

export function toReplayEvent(event: StoredEvent): ReplayEvent {
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    streamVersion: event.streamVersion.toString(),
    globalPosition: event.globalPosition.toString(),
    recordedAt: event.recordedAt.toISOString(),
    data: event.data,
    metadata: event.metadata as Record<string, unknown>,
    hash: event.hash,
    previousHash: event.previousHash,
  };
}

export function fromReplayEvent(event: ReplayEvent): StoredEvent {
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    streamVersion: BigInt(event.streamVersion),
    globalPosition: BigInt(event.globalPosition),
    recordedAt: new Date(event.recordedAt),
    data: event.data,
    metadata: event.metadata,
    hash: event.hash,
    previousHash: event.previousHash,
  };
}

const hex = (b: Buffer): string => b.toString('hex');

/**
 * The export's lines (each a JSON text without the newline), read from the store as it goes: only
 * the tree's leaf hashes are held in memory. `tree` must cover `treeHead.treeSize` events.
 */
export async function* replayLines(store: EventStore, tree: LogTree, treeHead: SignedTreeHead, filter: ReplayFilter = {}): AsyncGenerator<string> {
  yield JSON.stringify({
    format: REPLAY_FORMAT,
    treeHead,
    filter: {
      ...(filter.after === undefined ? {} : { after: filter.after.toString() }),
      ...(filter.until === undefined ? {} : { until: filter.until.toString() }),
      ...(filter.streamId === undefined ? {} : { streamId: filter.streamId }),
      ...(filter.eventType === undefined ? {} : { eventType: filter.eventType }),
    },
  });
  let count = 0;
  const options = {
    ...(filter.after === undefined ? {} : { after: filter.after }),
    ...(filter.until === undefined ? {} : { untilPosition: filter.until }),
    ...(filter.eventType === undefined ? {} : { eventTypes: [filter.eventType] }),
  };
  for await (const event of store.readAll(options)) {
    const leafIndex = tree.indexOf(event.globalPosition);
    // Past the signed head: not provable yet (a later export with a newer head carries it).
    if (leafIndex === undefined || leafIndex >= treeHead.treeSize) break;
    if (filter.streamId !== undefined && event.streamId !== filter.streamId) continue;
    yield JSON.stringify({ event: toReplayEvent(event), leafIndex, auditPath: tree.tree.inclusionProof(leafIndex, treeHead.treeSize).map(hex) });
    count += 1;
  }
  yield JSON.stringify({ end: true, events: count });
}

export type ReplayVerification =
  | { ok: true; events: number; treeHead: SignedTreeHead }
  | { ok: false; line: number; globalPosition?: string; streamId?: string; streamVersion?: string; reason: string };

interface ReplayLine {
  format?: string;
  treeHead?: SignedTreeHead;
  event?: ReplayEvent;
  leafIndex?: number;
  auditPath?: string[];
  end?: boolean;
  events?: number;
}

/** Verifies an export offline: the head's signature, then each event's content, hash and inclusion proof. */
export async function verifyReplay(lines: Iterable<string> | AsyncIterable<string>, publicKey: KeyObject): Promise<ReplayVerification> {
  let head: SignedTreeHead | undefined;
  let root: Buffer | undefined;
  let count = 0;
  let lastLeaf = -1;
  let ended = false;
  const lastOfStream = new Map<string, { version: bigint; hash: string }>();
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (text.trim() === '') continue;
    let line: ReplayLine;
    try {
      line = JSON.parse(text) as ReplayLine;
    } catch {
      return { ok: false, line: lineNumber, reason: 'not JSON' };
    }
    if (head === undefined) {
      if (line.format !== REPLAY_FORMAT || line.treeHead === undefined) return { ok: false, line: lineNumber, reason: `not a ${REPLAY_FORMAT} export (no header line)` };
      head = line.treeHead;
      if (!verifyTreeHead(head, publicKey)) return { ok: false, line: lineNumber, reason: `its tree head (size ${head.treeSize}) is not signed by the given key` };
      root = Buffer.from(head.rootHash, 'hex');
      continue;
    }
    if (ended) return { ok: false, line: lineNumber, reason: 'lines after the end line' };
    if (line.end === true) {
      if (line.events !== count) return { ok: false, line: lineNumber, reason: `the end line counts ${String(line.events)} events, the export holds ${count}` };
      ended = true;
      continue;
    }
    const { event, leafIndex, auditPath } = line;
    if (event === undefined || typeof leafIndex !== 'number' || !Array.isArray(auditPath)) return { ok: false, line: lineNumber, reason: 'neither an event line nor the end line' };
    const at = { line: lineNumber, globalPosition: event.globalPosition, streamId: event.streamId, streamVersion: event.streamVersion };
    let stored: StoredEvent;
    try {
      stored = fromReplayEvent(event);
    } catch {
      return { ok: false, ...at, reason: 'malformed event' };
    }
    const hash = recomputeEventHash(stored);
    if (hash !== event.hash) return { ok: false, ...at, reason: 'the event does not match its hash: content altered' };
    if (leafIndex <= lastLeaf) return { ok: false, ...at, reason: `leaf ${leafIndex} is out of commit order` };
    if (!verifyInclusion(eventLeafHash(hash), leafIndex, head.treeSize, auditPath.map((p) => Buffer.from(p, 'hex')), root as Buffer)) {
      return { ok: false, ...at, reason: `the event is not leaf ${leafIndex} of the signed tree head of size ${head.treeSize}` };
    }
    const previous = lastOfStream.get(event.streamId);
    if (previous !== undefined && previous.version + 1n === stored.streamVersion && previous.hash !== stored.previousHash) {
      return { ok: false, ...at, reason: `previous hash does not link to version ${previous.version} of the stream` };
    }
    lastOfStream.set(event.streamId, { version: stored.streamVersion, hash });
    lastLeaf = leafIndex;
    count += 1;
  }
  if (head === undefined) return { ok: false, line: lineNumber, reason: 'empty export' };
  if (!ended) return { ok: false, line: lineNumber, reason: 'the export ends without its end line: cut short' };
  return { ok: true, events: count, treeHead: head };
}
