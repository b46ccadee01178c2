/**
 * The change requests of the read model, kept ready for `changeRequests` queries: indexed by service,
 * status and environment, and linked newest first. Folding an event is O(1) (events arrive almost in time
 * order, so a change that moves to the front of the list walks past nothing); a query reads only the
 * changes it answers with, or the smallest index bucket its filter names.
 */
import type { ChangeRequestState } from '@gatehouse/domain';

type SubmittedState = Exclude<ChangeRequestState, { status: 'not_submitted' }>;

export interface ChangeRequestEntry {
  readonly changeRequestId: string;
  state: ChangeRequestState;
  /** recordedAt of the last event of the change, as toISOString(): lexical order is time order. */
  updatedAt: string;
  /** Service the change ships, derived by the read model (release, else booking); indexed. */
  service: string | null;
  /** Number of the update that last touched the change: among equal `updatedAt`, the later update is newer. */
  updateSeq: number;
  /** Keys the entry is filed under; null while the change is not submitted (it is in no index and not listed). */
  filed: FiledKeys | null;
  newer: ChangeRequestEntry | null;
  older: ChangeRequestEntry | null;
}

interface FiledKeys {
  status: string;
  environments: readonly string[];
  releaseId: string | null;
  service: string | null;
}

/** What the read-model tables keep of a change; the index keys and links are derived again on load. */
export type StoredChangeRequest = Pick<ChangeRequestEntry, 'changeRequestId' | 'state' | 'updatedAt' | 'service' | 'updateSeq'>;

export interface ChangeRequestFilter {
  status?: string;
  environment?: string;
  service?: string;
  kind?: string;
}

/** A submitted change as the list shows it; a not-yet-submitted one is never listed. */
export type ListedChangeRequest = ChangeRequestEntry & { state: SubmittedState };

/** Sets of entries by key; empty sets are dropped so that a bucket's size is the number of matches. */
class Buckets<K> {
  private readonly sets = new Map<K, Set<ChangeRequestEntry>>();
  get(key: K): ReadonlySet<ChangeRequestEntry> | undefined {
    return this.sets.get(key);
  }
  add(key: K, entry: ChangeRequestEntry): void {
    const set = this.sets.get(key);
    if (set === undefined) this.sets.set(key, new Set([entry]));
    else set.add(entry);
  }
  delete(key: K, entry: ChangeRequestEntry): void {
    const set = this.sets.get(key);
    if (set !== undefined && set.delete(entry) && set.size === 0) this.sets.delete(key);
  }
}

const isNewer = (a: ChangeRequestEntry, b: ChangeRequestEntry): boolean => a.updatedAt > b.updatedAt || (a.updatedAt === b.updatedAt && a.updateSeq > b.updateSeq);
const newestFirst = (a: ChangeRequestEntry, b: ChangeRequestEntry): number => (isNewer(a, b) ? -1 : 1);
const NO_MATCHES: ReadonlySet<ChangeRequestEntry> = new Set();

export class ChangeRequestIndex {
  private readonly entries = new Map<string, ChangeRequestEntry>();
  private readonly byService = new Buckets<string>();
  private readonly byStatus = new Buckets<string>();
  private readonly byEnvironment = new Buckets<string>();
  private readonly byRelease = new Buckets<string>();
  private newest: ChangeRequestEntry | null = null;
  private updates = 0;

  /** `changed` hears of every change whose stored fields (state, service, updatedAt, updateSeq) moved: what the tables must rewrite. */
  constructor(private readonly changed: (changeRequestId: string) => void = () => {}) {}

  /**
   * Puts back a change as it was stored (loading the tables): call in increasing `updateSeq`, so each one
   * goes to the newest end of the list at no cost; the update counter continues after the largest.
   */
  restore(stored: StoredChangeRequest): void {
    const entry: ChangeRequestEntry = { ...stored, filed: null, newer: null, older: null };
    this.entries.set(entry.changeRequestId, entry);
    this.updates = Math.max(this.updates, entry.updateSeq);
    const keys = filedKeysOf(entry.state, entry.service);
    this.file(entry, keys);
    if (keys !== null) this.link(entry);
  }

  get(changeRequestId: string): ChangeRequestEntry | undefined {
    return this.entries.get(changeRequestId);
  }

  /** Every change the model holds, submitted or not. */
  values(): IterableIterator<ChangeRequestEntry> {
    return this.entries.values();
  }

  /** Changes whose draft names the release. */
  withRelease(releaseId: string): Iterable<ChangeRequestEntry> {
    return this.byRelease.get(releaseId) ?? NO_MATCHES;
  }

  /** Records the change's new state; `service` is what the read model derives for it. */
  record(changeRequestId: string, state: ChangeRequestState, updatedAt: string, service: string | null): void {
    // Read everything the indexes need before touching anything: a malformed state throws here, and the event is skipped whole.
    const keys = filedKeysOf(state, service);
    let entry = this.entries.get(changeRequestId);
    if (entry === undefined) {
      entry = { changeRequestId, state, updatedAt, service, updateSeq: 0, filed: null, newer: null, older: null };
      this.entries.set(changeRequestId, entry);
    }
    entry.state = state;
    entry.service = service;
    entry.updatedAt = updatedAt;
    entry.updateSeq = ++this.updates;
    this.changed(changeRequestId);
    this.file(entry, keys);
    if (keys !== null) {
      this.unlink(entry);
      this.link(entry);
    }
  }

  /** The derived service changed (a release was planned, a booking made): refile without touching the order. */
  setService(entry: ChangeRequestEntry, service: string | null): void {
    if (entry.service === service) return;
    entry.service = service;
    this.changed(entry.changeRequestId);
    this.file(entry, filedKeysOf(entry.state, service));
  }

  /**
   * Submitted changes matching the filter, newest first, at most `limit`. Without an indexed filter it walks the
   * list; with one it walks the list only while that is cheaper than the smallest matching bucket, then selects the
   * newest of that bucket without sorting it.
   */
  select(filter: ChangeRequestFilter, limit?: number): ListedChangeRequest[] {
    const { status, environment, service, kind } = filter;
    const matches = (entry: ChangeRequestEntry): entry is ListedChangeRequest =>
      entry.state.status !== 'not_submitted' &&
      (status === undefined || entry.state.status === status) &&
      (environment === undefined || entry.state.draft.environments.includes(environment)) &&
      (service === undefined || entry.service === service) &&
      (kind === undefined || entry.state.kind === kind);
    let candidates: ReadonlySet<ChangeRequestEntry> | undefined;
    for (const bucket of [
      status === undefined ? undefined : (this.byStatus.get(status) ?? NO_MATCHES),
      environment === undefined ? undefined : (this.byEnvironment.get(environment) ?? NO_MATCHES),
      service === undefined ? undefined : (this.byService.get(service) ?? NO_MATCHES),
    ]) {
      if (bucket !== undefined && (candidates === undefined || bucket.size < candidates.size)) candidates = bucket;
    }
    if (candidates === undefined) return this.walk(matches, limit, Infinity)!;
    if (candidates.size === 0) return [];
    if (limit !== undefined) {
      const walked = this.walk(matches, limit, candidates.size);
      if (walked !== undefined) return walked;
    }
    return newestOf(candidates, matches, limit);
  }

  /** Newest-first walk; undefined when `budget` entries were read before the answer was complete. */
  private walk(matches: (entry: ChangeRequestEntry) => entry is ListedChangeRequest, limit: number | undefined, budget: number): ListedChangeRequest[] | undefined {
    const found: ListedChangeRequest[] = [];
    const wanted = limit ?? Infinity;
    let read = 0;
    for (let entry = this.newest; entry !== null && found.length < wanted; entry = entry.older) {
      if (read++ === budget) return undefined;
      if (matches(entry)) found.push(entry);
    }
    return found;
  }

  private file(entry: ChangeRequestEntry, keys: FiledKeys | null): void {
    const was = entry.filed;
    if (was?.status !== keys?.status) {
      if (was !== null) this.byStatus.delete(was.status, entry);
      if (keys !== null) this.byStatus.add(keys.status, entry);
    }
    if (was?.environments !== keys?.environments) {
      for (const environment of was?.environments ?? []) this.byEnvironment.delete(environment, entry);
      for (const environment of keys?.environments ?? []) this.byEnvironment.add(environment, entry);
    }
    refile(this.byRelease, entry, was?.releaseId ?? null, keys?.releaseId ?? null);
    refile(this.byService, entry, was?.service ?? null, keys?.service ?? null);
    entry.filed = keys;
    if (keys === null) this.unlink(entry);
  }

  /** Inserts the entry at its place from the newest end. */
  private link(entry: ChangeRequestEntry): void {
    let newer: ChangeRequestEntry | null = null;
    let older = this.newest;
    while (older !== null && isNewer(older, entry)) {
      newer = older;
      older = older.older;
    }
    entry.newer = newer;
    entry.older = older;
    if (newer === null) this.newest = entry;
    else newer.older = entry;
    if (older !== null) older.newer = entry;
  }

  private unlink(entry: ChangeRequestEntry): void {
    if (entry.newer === null && this.newest !== entry) return;
    if (entry.newer === null) this.newest = entry.older;
    else entry.newer.older = entry.older;
    if (entry.older !== null) entry.older.newer = entry.newer;
    entry.newer = null;
    entry.older = null;
  }
}

function filedKeysOf(state: ChangeRequestState, service: string | null): FiledKeys | null {
  if (state.status === 'not_submitted') return null;
  const { environments, releaseId } = state.draft;
  if (!Array.isArray(environments)) throw new TypeError(`change request ${state.changeRequestId} has no environment list`);
  return { status: state.status, environments, releaseId: releaseId ?? null, service };
}

function refile(buckets: Buckets<string>, entry: ChangeRequestEntry, was: string | null, is: string | null): void {
  if (was === is) return;
  if (was !== null) buckets.delete(was, entry);
  if (is !== null) buckets.add(is, entry);
}

/** The `limit` newest matching entries, newest first: a bounded min-heap, so O(n log limit) rather than a sort of n. */
function newestOf(candidates: Iterable<ChangeRequestEntry>, matches: (entry: ChangeRequestEntry) => entry is ListedChangeRequest, limit?: number): ListedChangeRequest[] {
  if (limit === undefined) return [...candidates].filter(matches).sort(newestFirst);
  const heap: ListedChangeRequest[] = [];
  for (const entry of candidates) {
    if (!matches(entry)) continue;
    if (heap.length < limit) {
      heap.push(entry);
      siftUp(heap, heap.length - 1);
    } else if (isNewer(entry, heap[0]!)) {
      heap[0] = entry;
      siftDown(heap, 0);
    }
  }
  return heap.sort(newestFirst);
}

// Min-heap on recency: the root is the oldest of the entries kept.
function siftUp(heap: ChangeRequestEntry[], index: number): void {
  const entry = heap[index]!;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (!isNewer(heap[parent]!, entry)) break;
    heap[index] = heap[parent]!;
    index = parent;
  }
  heap[index] = entry;
}

function siftDown(heap: ChangeRequestEntry[], index: number): void {
  const entry = heap[index]!;
  for (;;) {
    let oldest = index;
    let oldestEntry = entry;
    for (const child of [2 * index + 1, 2 * index + 2]) {
      if (child < heap.length && isNewer(oldestEntry, heap[child]!)) {
        oldest = child;
        oldestEntry = heap[child]!;
      }
    }
    if (oldest === index) break;
    heap[index] = oldestEntry;
    index = oldest;
  }
  heap[index] = entry;
}
