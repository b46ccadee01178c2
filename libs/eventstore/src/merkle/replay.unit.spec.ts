import { generateKeyPairSync } from 'node:crypto';
import { createInMemoryEventStore } from '../memory/createInMemoryEventStore.js';
import { readLogTree } from './logTree.js';
import { fromReplayEvent, replayLines, verifyReplay } from './replay.js';
import { recomputeEventHash } from '../verify.js';
import { signTreeHead } from './treeHead.js';

describe('replay export', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');

  async function exportOf(filter = {}) {
    const store = createInMemoryEventStore();
    await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { sku: 'a' } }, { type: 'OrderPaid', data: { amount: 3 } }]);
    await store.appendToStream('order-2', [{ type: 'OrderPlaced', data: { sku: 'b' } }]);
    await store.appendToStream('order-1', [{ type: 'OrderShipped', data: {} }]);
    const tree = await readLogTree(store);
    const head = signTreeHead({ treeSize: 3, rootHash: tree.tree.root(3).toString('hex'), lastPosition: '3', timestamp: '2026-12-01T10:00:00.000Z' }, privateKey);
    const lines: string[] = [];
    for await (const line of replayLines(store, tree, head, filter)) lines.push(line);
    return lines;
  }

  it('carries the signed head, the events it covers with their proofs, and an end line; all verify', async () => {
    const lines = await exportOf();
    expect(lines.map((l) => Object.keys(JSON.parse(l))[0])).toEqual(['format', 'event', 'event', 'event', 'end']);
    expect(JSON.parse(lines[4]!)).toEqual({ end: true, events: 3 });
    // The whole log: the header carries the left edge (empty from the start), lines carry no proofs.
    expect(JSON.parse(lines[0]!).leftEdge).toEqual([]);
    expect(JSON.parse(lines[1]!)).not.toHaveProperty('auditPath');
    expect(await verifyReplay(lines, publicKey)).toMatchObject({ ok: true, events: 3 });
  });

  it('exports the whole log from the start without reading the tree: the same lines, and a log that no longer matches the head fails', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: { sku: 'a' } }, { type: 'OrderPaid', data: { amount: 3 } }]);
    await store.appendToStream('order-2', [{ type: 'OrderPlaced', data: { sku: 'b' } }]);
    const tree = await readLogTree(store);
    const head = signTreeHead({ treeSize: 3, rootHash: tree.tree.root(3).toString('hex'), lastPosition: '3', timestamp: '2026-12-01T10:00:00.000Z' }, privateKey);
    // An event after the head: neither export carries it.
    await store.appendToStream('order-1', [{ type: 'OrderShipped', data: {} }]);
    const collect = async (source: AsyncIterable<string>) => {
      const lines: string[] = [];
      for await (const line of source) lines.push(line);
      return lines;
    };
    const withTree = await collect(replayLines(store, tree, head));
    const withoutTree = await collect(replayLines(store, undefined, head));
    expect(withoutTree).toEqual(withTree);
    expect(JSON.parse(withoutTree.at(-1)!)).toEqual({ end: true, events: 3 });
    expect(await verifyReplay(withoutTree, publicKey)).toMatchObject({ ok: true, events: 3 });

    // A head that does not describe these events (another root): the export still streams, and fails verification.
    const other = signTreeHead({ ...head, rootHash: tree.tree.root(2).toString('hex') }, privateKey);
    expect(await verifyReplay(await collect(replayLines(store, undefined, other)), publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/do not produce the root/) });
    // Filters and resumes need the tree.
    await expect(collect(replayLines(store, undefined, head, { after: 1n }))).rejects.toThrow(/needs the log tree/);
    await expect(collect(replayLines(store, undefined, head, { streamId: 'order-1' }))).rejects.toThrow(/needs the log tree/);
  });

  it('filters by stream and resumes after a position, each line still proving itself', async () => {
    const oneStream = await exportOf({ streamId: 'order-1' });
    expect(oneStream.slice(1, -1).map((l) => JSON.parse(l).event.type)).toEqual(['OrderPlaced', 'OrderPaid']);
    expect(await verifyReplay(oneStream, publicKey)).toMatchObject({ ok: true, events: 2 });
    const resumed = await exportOf({ after: 2n });
    expect(resumed.slice(1, -1).map((l) => JSON.parse(l).event.globalPosition)).toEqual(['3']);
    expect(await verifyReplay(resumed, publicKey)).toMatchObject({ ok: true, events: 1 });
  });

  it('refuses another key, a swapped proof, lines out of order, a missing end and lines after it', async () => {
    const lines = await exportOf({ until: 3n });
    expect(JSON.parse(lines[1]!).auditPath).toHaveLength(2);
    expect(await verifyReplay(lines, generateKeyPairSync('ed25519').publicKey)).toMatchObject({ ok: false, line: 1, reason: expect.stringMatching(/not signed by the given key/) });
    const [header, first, second, third, end] = lines as [string, string, string, string, string];
    const swapped = { ...JSON.parse(second), auditPath: JSON.parse(first).auditPath };
    expect(await verifyReplay([header, first, JSON.stringify(swapped), third, end], publicKey)).toMatchObject({
      ok: false,
      line: 3,
      globalPosition: '2',
      reason: expect.stringMatching(/is not leaf 1 of the signed tree head of size 3/),
    });
    expect(await verifyReplay([header, second, first, third, end], publicKey)).toMatchObject({ ok: false, line: 3, reason: expect.stringMatching(/out of commit order/) });
    expect(await verifyReplay([header, first, second, third], publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/cut short/) });
    expect(await verifyReplay([header, first, second, end], publicKey)).toMatchObject({ ok: false, reason: expect.stringMatching(/counts 3 events, the export holds 2/) });
    expect(await verifyReplay([...lines, first], publicKey)).toMatchObject({ ok: false, line: 6, reason: 'lines after the end line' });
    expect(await verifyReplay([first], publicKey)).toMatchObject({ ok: false, line: 1, reason: expect.stringMatching(/no header line/) });
  });

  it('refuses a whole-log export with an event left out, or one rewritten with its hash recomputed', async () => {
    const lines = await exportOf();
    const [header, first, second, third, end] = lines as [string, string, string, string, string];
    const fewer = JSON.stringify({ end: true, events: 2 });
    expect(await verifyReplay([header, first, third, fewer], publicKey)).toMatchObject({ ok: false, line: 3, globalPosition: '3', reason: 'leaf 1 is missing: the next event claims leaf 2' });
    // A forger who recomputes the event's own hash passes the content check, not the signed root.
    const original = JSON.parse(second);
    const forgedEvent = { ...original.event, data: { amount: 3000 } };
    forgedEvent.hash = recomputeEventHash(fromReplayEvent(forgedEvent));
    expect(await verifyReplay([header, first, JSON.stringify({ ...original, event: forgedEvent }), third, end], publicKey)).toMatchObject({
      ok: false,
      line: 5,
      reason: 'its events do not produce the root of the signed tree head of size 3 (the tree reached 3 leaves)',
    });
  });
});
