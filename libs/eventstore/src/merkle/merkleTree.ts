/**
 * A Merkle tree over the global log, hashed as RFC 6962 / RFC 9162 (section 2.1) hash it, so that
 * any Certificate Transparency tooling could check our proofs:
 *   MTH({})    = SHA-256()
 *   leaf       = SHA-256(0x00 || entry)          (entry: the event hash, 32 bytes)
 *   node       = SHA-256(0x01 || left || right)
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n.
 * Sizes are numbers: a log of 2^53 events is beyond any store this code will meet.
 */
import { createHash } from 'node:crypto';

export const HASH_LENGTH = 32;
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export function hashLeaf(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/** 0x00 || entry for a 32-byte entry, reused by eventLeafHash (one update instead of two, no allocation). */
const LEAF_INPUT = Buffer.alloc(1 + HASH_LENGTH);
const EVENT_HASH_HEX = /^[0-9a-fA-F]{64}$/;

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** The leaf of an event: its hash (hex, 32 bytes) as the entry. */
export function eventLeafHash(eventHashHex: string): Buffer {
  if (!EVENT_HASH_HEX.test(eventHashHex)) throw new TypeError(`event hash must be ${HASH_LENGTH} bytes of hex, got '${eventHashHex}'`);
  LEAF_INPUT.write(eventHashHex, 1, HASH_LENGTH, 'hex');
  return createHash('sha256').update(LEAF_INPUT).digest();
}

/** Largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/**
 * A tree over leaf hashes, with every complete aligned subtree hashed once (levels[h][i] covers
 * leaves [i*2^h, (i+1)*2^h)), so a root or proof for any size costs O(log n) hashes more.
 */
export class MerkleTree {
  private readonly levels: Buffer[][] = [[]];
  /** Hashes of incomplete (right-edge) ranges computed since the last append: proofs at one size share them. */
  private readonly edgeHashes = new Map<string, Buffer>();

  constructor(leafHashes: Iterable<Buffer> = []) {
    for (const leaf of leafHashes) this.append(leaf);
  }

  get size(): number {
    return (this.levels[0] as Buffer[]).length;
  }

  append(leafHash: Buffer): void {
    if (leafHash.length !== HASH_LENGTH) throw new TypeError(`a leaf hash is ${HASH_LENGTH} bytes`);
    this.edgeHashes.clear();
    let level = 0;
    let hash = leafHash;
    for (;;) {
      const nodes = (this.levels[level] ??= []);
      nodes.push(hash);
      if (nodes.length % 2 === 1) return;
      hash = hashChildren(nodes[nodes.length - 2] as Buffer, hash);
      level += 1;
    }
  }

  leaf(index: number): Buffer {
    this.checkSize(index + 1, 'index');
    return (this.levels[0] as Buffer[])[index] as Buffer;
  }

  /** MTH of the first `size` leaves. */
  root(size: number = this.size): Buffer {
    this.checkSize(size, 'size');
    return size === 0 ? EMPTY_ROOT : this.rangeHash(0, size);
  }

  /** RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of the first `size` leaves. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkSize(size, 'size');
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`index ${index} is not a leaf of a tree of size ${size}`);
    const path: Buffer[] = [];
    // PATH(m, D[start:start+n]) built top-down, emitted bottom-up.
    let start = 0;
    let n = size;
    let m = index;
    while (n > 1) {
      const k = splitPoint(n);
      if (m < k) {
        path.push(this.rangeHash(start + k, n - k));
        n = k;
      } else {
        path.push(this.rangeHash(start, k));
        start += k;
        m -= k;
        n -= k;
      }
    }
    return path.reverse();
  }

  /** RFC 9162 2.1.4.1: proof that the tree of size `first` is a prefix of the tree of size `second`. */
  consistencyProof(first: number, second: number = this.size): Buffer[] {
    this.checkSize(second, 'second');
    if (!Number.isInteger(first) || first < 0 || first > second) throw new RangeError(`first (${first}) must be between 0 and second (${second})`);
    if (first === 0 || first === second) return [];
    // SUBPROOF(m, D[start:start+n], b), top-down, emitted bottom-up.
    const proof: Buffer[] = [];
    let start = 0;
    let n = second;
    let m = first;
    let complete = true;
    while (m !== n) {
      const k = splitPoint(n);
      if (m <= k) {
        proof.push(this.rangeHash(start + k, n - k));
        n = k;
      } else {
        proof.push(this.rangeHash(start, k));
        start += k;
        m -= k;
        n -= k;
        complete = false;
      }
    }
    if (!complete) proof.push(this.rangeHash(start, n));
    return proof.reverse();
  }

  /** The perfect subtrees the first `size` leaves decompose into, largest first: a CompactRange's peaks. */
  leftEdge(size: number): { height: number; hash: Buffer }[] {
    this.checkSize(size, 'size');
    const peaks: { height: number; hash: Buffer }[] = [];
    let start = 0;
    for (let height = Math.floor(Math.log2(Math.max(size, 1))); height >= 0; height--) {
      const width = 2 ** height;
      if (start + width > size) continue;
      peaks.push({ height, hash: this.rangeHash(start, width) });
      start += width;
    }
    return peaks;
  }

  /** MTH(D[start:start+n]); in RFC 6962's recursion `start` is always a multiple of the largest power of two <= n. */
  private rangeHash(start: number, n: number): Buffer {
    if (isPowerOfTwo(n) && start % n === 0) {
      const height = Math.log2(n);
      const stored = this.levels[height]?.[start / n];
      if (stored !== undefined) return stored;
    }
    const key = `${start}:${n}`;
    const known = this.edgeHashes.get(key);
    if (known !== undefined) return known;
    const k = splitPoint(n);
    const hash = hashChildren(this.rangeHash(start, k), this.rangeHash(start + k, n - k));
    this.edgeHashes.set(key, hash);
    return hash;
  }

  private checkSize(size: number, field: string): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size) throw new RangeError(`${field} ${size} is beyond the tree (${this.size} leaves)`);
  }
}

/**
 * The right edge of a growing tree: the roots of its perfect subtrees, largest first. Enough to
 * compute the root at the current size in O(log n) memory, for a walk over a log of any length.
 */
export class CompactRange {
  private readonly peaks: { height: number; hash: Buffer }[] = [];
  private count = 0;

  /** A range continuing from the left edge of a tree (MerkleTree.leftEdge): peaks largest first. */
  static fromLeftEdge(peaks: readonly { height: number; hash: Buffer }[]): CompactRange {
    const range = new CompactRange();
    let previous = Number.POSITIVE_INFINITY;
    for (const peak of peaks) {
      if (!Number.isInteger(peak.height) || peak.height < 0 || peak.height >= previous || peak.hash.length !== HASH_LENGTH) {
        throw new RangeError('a left edge is perfect subtrees of strictly decreasing heights, 32-byte hashes');
      }
      range.peaks.push({ height: peak.height, hash: peak.hash });
      range.count += 2 ** peak.height;
      previous = peak.height;
    }
    return range;
  }

  get size(): number {
    return this.count;
  }

  append(leafHash: Buffer): void {
    let peak = { height: 0, hash: leafHash };
    for (let last = this.peaks.at(-1); last !== undefined && last.height === peak.height; last = this.peaks.at(-1)) {
      this.peaks.pop();
      peak = { height: peak.height + 1, hash: hashChildren(last.hash, peak.hash) };
    }
    this.peaks.push(peak);
    this.count += 1;
  }

  /** MTH of the leaves appended so far: the peaks folded from the right, as RFC 6962 splits a tree. */
  root(): Buffer {
    if (this.peaks.length === 0) return EMPTY_ROOT;
    let root = (this.peaks.at(-1) as { hash: Buffer }).hash;
    for (let i = this.peaks.length - 2; i >= 0; i--) root = hashChildren((this.peaks[i] as { hash: Buffer }).hash, root);
    return root;
  }
}

const sameHash = (a: Uint8Array, b: Uint8Array): boolean => a.length === HASH_LENGTH && b.length === HASH_LENGTH && Buffer.compare(a, b) === 0;

/** RFC 9162 2.1.3.2: does `proof` place `leafHash` at `index` of the tree of `size` with root `root`? */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  if (leafHash.length !== HASH_LENGTH || proof.some((p) => p.length !== HASH_LENGTH)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(r, root);
}

/** RFC 9162 2.1.4.2: is the tree of size `first` (root `firstRoot`) a prefix of the one of size `second` (root `secondRoot`)? */
export function verifyConsistency(first: number, second: number, firstRoot: Uint8Array, secondRoot: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 0 || first > second) return false;
  if (proof.some((p) => p.length !== HASH_LENGTH)) return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0 && sameHash(firstRoot, EMPTY_ROOT);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0] as Uint8Array);
  let sr: Buffer = Buffer.from(path[0] as Uint8Array);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}
