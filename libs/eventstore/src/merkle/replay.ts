/**
 * Replay export: events in commit order as JSON Lines, each with its inclusion proof against one
 * signed tree head carried in the first line, so an export — whole or filtered — can be verified
 * with nothing but the public key, long after the database changed.
 *   {"format":"gatehouse-replay/v1","treeHead":{...},"filter":{...}}
 *   {"event":{...},"leafIndex":n,"auditPath":["<hex>",...]}      one per event
 *   {"end":true,"events":n}                                        absent: the export was cut short
 * An export of the whole log from a position (no stream, type or `until` filter) carries instead,
 * in its header, the tree's left edge before its first event (`leftEdge`: the perfect subtrees'
 * heights and hashes) and no audit paths: the verifier continues the tree over every event and
 * compares the root with the signed one — a fifth of the bytes and no proof per event.
 */
import type { KeyObject } from 'node:crypto';
import { verifyTreeHead, type SignedTreeHead } from './treeHead.js';
import { CompactRange, eventLeafHash, verifyInclusion } from './merkleTree.js';
import type { LogTree } from './logTree.js';
import { recomputeEventHash } from '../verify.js';
import type { EventStore, SqlAccess, StoredEvent } from '../types.js';
import { readAllColumns, type ReadAllColumnsOptions } from '../sql/readAllColumns.js';

/** Events read per page of the log by an export over SQL. No more: larger pages tip the planner, on a log whose statistics lag, from the commit-order index to a sort of the rest of the log at every page. */
const EXPORT_READ_BATCH = 5_000;

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

/** Whether an export needs the log tree: all but the whole log from its start (left edge, audit paths). */
export function replayNeedsTree(filter: ReplayFilter): boolean {
  return filter.after !== undefined || filter.streamId !== undefined || filter.eventType !== undefined || filter.until !== undefined;
}

/**
 * The export's lines (each a JSON text without the newline), read from the store as it goes: only
 * the tree's leaf hashes are held in memory. `tree` must cover `treeHead.treeSize` events. A whole-log
 * export from the start needs no tree (`tree` undefined): its leaves are the events in commit order, one
 * after the other, and the verifier rebuilds the tree from them and checks its root against the signed
 * one, so nothing read at export time is trusted; it stops after `treeHead.treeSize` events.
 */
export async function* replayLines(store: EventStore, tree: LogTree | undefined, treeHead: SignedTreeHead, filter: ReplayFilter = {}): AsyncGenerator<string> {
  const whole = filter.streamId === undefined && filter.eventType === undefined && filter.until === undefined;
  if (tree === undefined && replayNeedsTree(filter)) throw new RangeError('a filtered or resumed export needs the log tree (audit paths, left edge)');
  const firstLeaf = filter.after === undefined || tree === undefined ? 0 : (tree.indexOf(filter.after) ?? -1) + 1;
  const leftEdge = tree !== undefined && whole && firstLeaf > 0 ? tree.tree.leftEdge(firstLeaf).map(({ height, hash }) => ({ height, hash: hex(hash) })) : whole ? [] : undefined;
  yield JSON.stringify({
    format: REPLAY_FORMAT,
    treeHead,
    filter: {
      ...(filter.after === undefined ? {} : { after: filter.after.toString() }),
      ...(filter.until === undefined ? {} : { until: filter.until.toString() }),
      ...(filter.streamId === undefined ? {} : { streamId: filter.streamId }),
      ...(filter.eventType === undefined ? {} : { eventType: filter.eventType }),
    },
    ...(leftEdge === undefined ? {} : { leftEdge }),
  });
  let count = 0;
  const options = {
    ...(filter.after === undefined ? {} : { after: filter.after }),
    ...(filter.until === undefined ? {} : { untilPosition: filter.until }),
    ...(filter.eventType === undefined ? {} : { eventTypes: [filter.eventType] }),
  };
  pages: for await (const page of replayEventTexts(store, options)) for (const event of page) {
    const leafIndex = tree === undefined ? count : tree.indexOf(event.globalPosition);
    // Past the signed head: not provable yet (a later export with a newer head carries it).
    if (leafIndex === undefined || leafIndex >= treeHead.treeSize) break pages;
    if (filter.streamId !== undefined && event.streamId !== filter.streamId) continue;
    // As JSON.stringify({ event, leafIndex, auditPath? }) would write it, with the event's JSON as it came.
    yield leftEdge === undefined
      ? `{"event":${event.json},"leafIndex":${leafIndex},"auditPath":${JSON.stringify((tree as LogTree).tree.inclusionProof(leafIndex, treeHead.treeSize).map(hex))}}`
      : `{"event":${event.json},"leafIndex":${leafIndex}}`;
    count += 1;
  }
  yield JSON.stringify({ end: true, events: count });
}

/** An event of the export: where it is, and its ReplayEvent as JSON text. */
interface ReplayEventText {
  globalPosition: bigint;
  streamId: string;
  json: string;
}

/**
 * Each event's line built by PostgreSQL, as toReplayEvent + JSON.stringify would write it (keys in that order;
 * recordedAt in milliseconds, as a Date holds it; data and metadata as the stored JSON text): the database does
 * the formatting on its own core while this process only passes the text on, four columns a row instead of eleven.
 */
const REPLAY_LINE_COLUMNS = `transaction_id, global_position, stream_id,
  '{"id":"' || id || '","type":' || to_json(type)::text || ',"streamId":' || to_json(stream_id)::text
  || ',"streamVersion":"' || stream_version || '","globalPosition":"' || global_position
  || '","recordedAt":"' || to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  || '","data":' || data::text || ',"metadata":' || metadata::text
  || ',"hash":' || to_json(hash)::text || ',"previousHash":' || to_json(previous_hash)::text || '}'`;
type ReplayLineRow = [transactionId: string, globalPosition: string, streamId: string, json: string];

/**
 * The events to export in commit order, a page at a time (one await per page, not per event). Over SQL each
 * event's JSON text comes from the database (REPLAY_LINE_COLUMNS) and goes into the line as it is (the verifier
 * parses it and recomputes the hash from the values); elsewhere each event is stringified.
 */
async function* replayEventTexts(store: EventStore, options: Omit<ReadAllColumnsOptions, 'batchSize'>): AsyncGenerator<ReplayEventText[]> {
  const sql = (store as { sql?: SqlAccess }).sql;
  if (sql === undefined) {
    for await (const event of store.readAll(options)) yield [{ globalPosition: event.globalPosition, streamId: event.streamId, json: JSON.stringify(toReplayEvent(event)) }];
    return;
  }
  for await (const rows of readAllColumns(sql, REPLAY_LINE_COLUMNS, { ...options, batchSize: EXPORT_READ_BATCH })) {
    yield (rows as ReplayLineRow[]).map(([, position, streamId, json]) => ({ globalPosition: BigInt(position), streamId, json }));
  }
}

export type ReplayVerification =
  | { ok: true; events: number; treeHead: SignedTreeHead }
  | { ok: false; line: number; globalPosition?: string; streamId?: string; streamVersion?: string; reason: string };

interface ReplayLine {
  format?: string;
  treeHead?: SignedTreeHead;
  leftEdge?: { height: number; hash: string }[];
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
  /** Whole-log exports: the tree continued from the header's left edge. */
  let range: CompactRange | undefined;
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
      if (line.leftEdge !== undefined) {
        try {
          range = CompactRange.fromLeftEdge(line.leftEdge.map(({ height, hash }) => ({ height, hash: Buffer.from(hash, 'hex') })));
        } catch {
          return { ok: false, line: lineNumber, reason: 'its left edge is malformed' };
        }
      }
      continue;
    }
    if (ended) return { ok: false, line: lineNumber, reason: 'lines after the end line' };
    if (line.end === true) {
      if (line.events !== count) return { ok: false, line: lineNumber, reason: `the end line counts ${String(line.events)} events, the export holds ${count}` };
      if (range !== undefined && (range.size !== head.treeSize || !range.root().equals(root as Buffer))) {
        return { ok: false, line: lineNumber, reason: `its events do not produce the root of the signed tree head of size ${head.treeSize} (the tree reached ${range.size} leaves)` };
      }
      ended = true;
      continue;
    }
    const { event, leafIndex, auditPath } = line;
    if (event === undefined || typeof leafIndex !== 'number' || (range === undefined && !Array.isArray(auditPath))) {
      return { ok: false, line: lineNumber, reason: 'neither an event line nor the end line' };
    }
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
    if (range !== undefined) {
      // A whole-log export: every leaf in turn, checked all together against the root at the end.
      if (leafIndex !== range.size) return { ok: false, ...at, reason: `leaf ${range.size} is missing: the next event claims leaf ${leafIndex}` };
      range.append(eventLeafHash(hash));
    } else if (!verifyInclusion(eventLeafHash(hash), leafIndex, head.treeSize, (auditPath as string[]).map((p) => Buffer.from(p, 'hex')), root as Buffer)) {
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
