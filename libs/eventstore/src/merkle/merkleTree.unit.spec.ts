import { createHash } from 'node:crypto';
import { CompactRange, EMPTY_ROOT, eventLeafHash, hashLeaf, MerkleTree, verifyConsistency, verifyInclusion } from './merkleTree.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');
const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/*
 * The RFC 6962 section 2.1 definitions, transcribed literally (recursion over arrays of entries),
 * as the independent reference the optimised tree is compared with.
 */
const k = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function MTH(d: Buffer[]): Buffer {
  if (d.length === 0) return sha256();
  if (d.length === 1) return sha256(Buffer.from([0]), d[0]!);
  return sha256(Buffer.from([1]), MTH(d.slice(0, k(d.length))), MTH(d.slice(k(d.length))));
}
function PATH(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const split = k(d.length);
  return m < split ? [...PATH(m, d.slice(0, split)), MTH(d.slice(split))] : [...PATH(m - split, d.slice(split)), MTH(d.slice(0, split))];
}
function SUBPROOF(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [MTH(d)];
  const split = k(d.length);
  return m <= split
    ? [...SUBPROOF(m, d.slice(0, split), b), MTH(d.slice(split))]
    : [...SUBPROOF(m - split, d.slice(split), false), MTH(d.slice(0, split))];
}
const PROOF = (m: number, d: Buffer[]): Buffer[] => SUBPROOF(m, d, true);

/* The Certificate Transparency reference entries and their published tree heads (sizes 0..8). */
const CT_ENTRIES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  {
    index: 0,
    size: 8,
    path: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    path: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const CT_CONSISTENCY = [
  { first: 1, second: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { first: 6, second: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { first: 2, second: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];

describe('Merkle tree (RFC 6962 / 9162)', () => {
  const ctTree = new MerkleTree(CT_ENTRIES.map(hashLeaf));

  it('has the published Certificate Transparency roots for sizes 0 to 8', () => {
    expect(hex(EMPTY_ROOT)).toBe(CT_ROOTS[0]);
    for (let size = 0; size <= 8; size++) {
      expect(hex(ctTree.root(size))).toBe(CT_ROOTS[size]);
      expect(hex(MTH(CT_ENTRIES.slice(0, size)))).toBe(CT_ROOTS[size]);
    }
  });

  it('gives the published inclusion proofs, and they verify', () => {
    for (const { index, size, path } of CT_INCLUSION) {
      expect(ctTree.inclusionProof(index, size).map(hex)).toEqual(path);
      expect(verifyInclusion(ctTree.leaf(index), index, size, path.map(unhex), unhex(CT_ROOTS[size]!))).toBe(true);
    }
  });

  it('gives the published consistency proofs, and they verify', () => {
    for (const { first, second, proof } of CT_CONSISTENCY) {
      expect(ctTree.consistencyProof(first, second).map(hex)).toEqual(proof);
      expect(verifyConsistency(first, second, unhex(CT_ROOTS[first]!), unhex(CT_ROOTS[second]!), proof.map(unhex))).toBe(true);
    }
  });

  describe('against the RFC definitions for every size up to 33', () => {
    const entries = Array.from({ length: 33 }, (_, i) => sha256(Buffer.from(`event ${i}`)));
    const tree = new MerkleTree(entries.map(hashLeaf));
    const rootOf = (n: number): Buffer => MTH(entries.slice(0, n));

    it('roots, also from the compact range a log walk keeps', () => {
      const range = new CompactRange();
      for (let n = 0; n <= 33; n++) {
        expect(hex(tree.root(n))).toBe(hex(rootOf(n)));
        expect(hex(range.root())).toBe(hex(rootOf(n)));
        if (n < 33) range.append(tree.leaf(n));
      }
    });

    it('inclusion proofs are PATH(m, D[n]), verify, and fail when the leaf, index, root or a path hash is wrong', () => {
      for (let n = 1; n <= 33; n++) {
        const root = rootOf(n);
        for (let m = 0; m < n; m++) {
          const proof = tree.inclusionProof(m, n);
          expect(proof.map(hex)).toEqual(PATH(m, entries.slice(0, n)).map(hex));
          expect(verifyInclusion(tree.leaf(m), m, n, proof, root)).toBe(true);
          expect(verifyInclusion(hashLeaf(Buffer.from('not in the log')), m, n, proof, root)).toBe(false);
          if (n > 1) expect(verifyInclusion(tree.leaf(m), (m + 1) % n, n, proof, root)).toBe(false);
          expect(verifyInclusion(tree.leaf(m), m, n, proof, rootOf(n === 33 ? 32 : n + 1))).toBe(false);
          if (proof.length > 0) {
            const bent = proof.map((p) => Buffer.from(p));
            bent[bent.length - 1]![0]! ^= 1;
            expect(verifyInclusion(tree.leaf(m), m, n, bent, root)).toBe(false);
            expect(verifyInclusion(tree.leaf(m), m, n, proof.slice(0, -1), root)).toBe(false);
          }
          expect(verifyInclusion(tree.leaf(m), m, n, [...proof, root], root)).toBe(false);
        }
      }
    });

    it('consistency proofs are PROOF(m, D[n]), verify, and fail for a rewritten first tree or a wrong proof', () => {
      const rewritten = [...entries];
      for (let n = 1; n <= 33; n++) {
        for (let m = 1; m < n; m++) {
          const proof = tree.consistencyProof(m, n);
          expect(proof.map(hex)).toEqual(PROOF(m, entries.slice(0, n)).map(hex));
          expect(verifyConsistency(m, n, rootOf(m), rootOf(n), proof)).toBe(true);
          // History rewritten at leaf m-1: the new tree no longer extends the old head.
          rewritten[m - 1] = sha256(Buffer.from(`forged ${m - 1}`));
          const forgedTree = new MerkleTree(rewritten.slice(0, n).map(hashLeaf));
          expect(verifyConsistency(m, n, rootOf(m), forgedTree.root(n), forgedTree.consistencyProof(m, n))).toBe(false);
          rewritten[m - 1] = entries[m - 1]!;
          expect(verifyConsistency(m, n, rootOf(m), rootOf(n), proof.slice(1))).toBe(false);
          expect(verifyConsistency(m, n, rootOf(m), rootOf(n), [...proof, rootOf(m)])).toBe(false);
        }
      }
    });
  });

  it("continues a compact range from any size's left edge to the same roots", () => {
    const entries = Array.from({ length: 21 }, (_, i) => sha256(Buffer.from(`edge ${i}`)));
    const tree = new MerkleTree(entries.map(hashLeaf));
    for (let m = 0; m <= 21; m++) {
      const range = CompactRange.fromLeftEdge(tree.leftEdge(m));
      expect(range.size).toBe(m);
      for (let n = m; n < 21; n++) range.append(tree.leaf(n));
      expect(hex(range.root())).toBe(hex(tree.root(21)));
    }
    expect(() => CompactRange.fromLeftEdge([{ height: 0, hash: tree.leaf(0) }, { height: 1, hash: tree.leaf(1) }])).toThrow(RangeError);
  });

  it('treats the empty tree and equal sizes as the RFC does', () => {
    const root4 = ctTree.root(4);
    expect(ctTree.consistencyProof(0, 8)).toEqual([]);
    expect(ctTree.consistencyProof(4, 4)).toEqual([]);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, ctTree.root(8), [])).toBe(true);
    expect(verifyConsistency(0, 8, root4, ctTree.root(8), [])).toBe(false);
    expect(verifyConsistency(4, 4, root4, root4, [])).toBe(true);
    expect(verifyConsistency(4, 4, root4, ctTree.root(5), [])).toBe(false);
    expect(verifyConsistency(5, 4, root4, root4, [])).toBe(false);
    expect(verifyInclusion(ctTree.leaf(0), 8, 8, [], ctTree.root(8))).toBe(false);
  });

  it('refuses sizes and indexes beyond the tree', () => {
    expect(() => ctTree.root(9)).toThrow(RangeError);
    expect(() => ctTree.inclusionProof(8, 8)).toThrow(RangeError);
    expect(() => ctTree.consistencyProof(5, 3)).toThrow(RangeError);
  });

  it("hashes an event's leaf from its 32-byte hash and refuses anything else", () => {
    const eventHash = sha256(Buffer.from('an event')).toString('hex');
    expect(hex(eventLeafHash(eventHash))).toBe(hex(sha256(Buffer.from([0]), unhex(eventHash))));
    expect(() => eventLeafHash('abc')).toThrow(TypeError);
    expect(() => eventLeafHash('z'.repeat(64))).toThrow(TypeError);
  });
});
