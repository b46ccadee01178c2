import { createInMemoryEventStore } from './memory/createInMemoryEventStore.js';
import { withGovernanceTime } from './governanceTime.js';
import { verifyEventLog } from './verify.js';

describe('governance time', () => {
  it('stamps the clock time an event happened next to the wall-clock recordedAt, and keeps one already given', async () => {
    let governance = new Date('2026-11-25T10:30:00Z');
    const store = withGovernanceTime(createInMemoryEventStore(), () => governance);
    const before = Date.now();
    const { events: [first] } = await store.appendToStream('order-1', [{ type: 'OrderPlaced', data: {}, metadata: { actor: 'ana' } }]);
    governance = new Date('2026-12-01T10:00:00Z');
    await store.appendToStream('order-1', [{ type: 'OrderShipped', data: {} }, { type: 'OrderNoted', data: {}, metadata: { occurredAt: '2026-11-30T00:00:00.000Z' } }]);

    expect(first?.metadata).toEqual({ actor: 'ana', occurredAt: '2026-11-25T10:30:00.000Z' });
    expect(first!.recordedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect((await store.readStream('order-1')).map((e) => e.metadata.occurredAt)).toEqual([
      '2026-11-25T10:30:00.000Z',
      '2026-12-01T10:00:00.000Z',
      '2026-11-30T00:00:00.000Z',
    ]);
    // Part of the hashed content like any metadata.
    expect(await verifyEventLog(store)).toMatchObject({ ok: true, eventsChecked: 3 });
  });
});
