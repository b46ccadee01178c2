import { toEnvelope } from '@gatehouse/bus';
import { createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { storeEventCheck, type EventMismatchReason } from './store-checked-events.js';

describe('storeEventCheck: only what the store holds is a fact', () => {
  async function given(): Promise<{ check: ReturnType<typeof storeEventCheck>; stored: StoredEvent; reads: () => number }> {
    const store = await createInMemoryEventStore();
    await store.appendToStream('changeRequest-cr-1', [{ type: 'ChangeRequestSubmitted', data: { changeRequestId: 'cr-1' }, metadata: { actor: 'ana', correlationId: 'c-1' } }]);
    const { events } = await store.appendToStream('changeRequest-cr-1', [{ type: 'ChangeCancelled', data: { changeRequestId: 'cr-1', reason: 'dup' }, metadata: { actor: 'ana' } }]);
    let count = 0;
    const counted = { readStream: (...args: Parameters<typeof store.readStream>) => (count++, store.readStream(...args)), readAll: (...args: Parameters<typeof store.readAll>) => (count++, store.readAll(...args)) };
    return { check: storeEventCheck(counted), stored: events[0]!, reads: () => count };
  }
  const reasonOf = async (check: ReturnType<typeof storeEventCheck>, event: StoredEvent, envelopePatch: Record<string, unknown> = {}): Promise<EventMismatchReason | undefined> =>
    (await check.check({ ...toEnvelope(event), ...envelopePatch }))?.reason;

  it('given the relayed event, when checked, then it passes (and the stream read serves the next lookups)', async () => {
    const { check, stored, reads } = await given();
    expect(await reasonOf(check, stored)).toBeUndefined();
    expect(await reasonOf(check, stored)).toBeUndefined();
    expect(reads()).toBe(1);
  });

  it('given a replay of the whole log in order, when every event is checked, then the store is read a page at a time, not per event', async () => {
    const store = await createInMemoryEventStore();
    for (let n = 0; n < 60; n++) await store.appendToStream(`changeRequest-cr-${n % 20}`, [{ type: 'ChangeUpdated', data: { n }, metadata: { actor: 'ana' } }]);
    let reads = 0;
    const check = storeEventCheck({ readStream: (...args) => (reads++, store.readStream(...args)), readAll: (...args) => (reads++, store.readAll(...args)) });
    for await (const event of store.readAll()) expect(await check.check(toEnvelope(event))).toBeUndefined();
    // The first lookup by stream, then one page of the log for the other 59.
    expect(reads).toBe(2);
    // A forged event far ahead costs one page and one stream read, and is refused.
    const [first] = await store.readStream('changeRequest-cr-0');
    expect((await check.check(toEnvelope({ ...first!, streamVersion: 99n, globalPosition: 999_999_999_999n })))?.reason).toBe('not_in_store');
  });

  it('given several consumers of one process checking the same new event at once, then the store is read once for it', async () => {
    const store = await createInMemoryEventStore();
    const append = async (n: number) => (await store.appendToStream(`changeRequest-cr-${n}`, [{ type: 'ChangeUpdated', data: { n }, metadata: { actor: 'ana' } }])).events[0]!;
    let reads = 0;
    const check = storeEventCheck({ readStream: (...args) => (reads++, store.readStream(...args)), readAll: (...args) => (reads++, store.readAll(...args)) });
    const first = await append(1);
    expect(await Promise.all([1, 2, 3].map(() => check.check(toEnvelope(first))))).toEqual([undefined, undefined, undefined]);
    expect(reads).toBe(1);
    // Live: each new event is read once, by the first consumer that misses it; the others find it in the cache.
    const next = await append(2);
    expect(await Promise.all([1, 2, 3].map(() => check.check(toEnvelope(next))))).toEqual([undefined, undefined, undefined]);
    expect(reads).toBe(2);
  });

  it('given a forged cancellation at a far position, when checked, then not_in_store / position_mismatch', async () => {
    const { check, stored } = await given();
    expect(await reasonOf(check, { ...stored, streamVersion: 7n, globalPosition: 999_999_999_999n })).toBe('not_in_store');
    expect(await reasonOf(check, { ...stored, globalPosition: 999_999_999_999n })).toBe('position_mismatch');
    expect(await reasonOf(check, { ...stored, streamId: 'changeRequest-cr-404' })).toBe('not_in_store');
  });

  it('given a real position with other content, when checked, then id_mismatch, hash_mismatch or content_altered', async () => {
    const { check, stored } = await given();
    expect(await reasonOf(check, { ...stored, id: '01939e00-0000-7000-8000-000000000000' })).toBe('id_mismatch');
    expect(await reasonOf(check, stored, { eventhash: 'a'.repeat(64) })).toBe('hash_mismatch');
    expect(await reasonOf(check, { ...stored, data: { changeRequestId: 'cr-1', reason: 'forged' } })).toBe('content_altered');
    expect(await reasonOf(check, { ...stored, metadata: { actor: 'mallory' } })).toBe('content_altered');
    expect(await reasonOf(check, { ...stored, type: 'ChangeApproved' })).toBe('content_altered');
  });
});
