/**
 * A reader following the log resumes after the last event it was given without a lookup of that event's
 * transaction id (the store knows where its pages ended); any other position is looked up, and one the log
 * does not hold is refused, as before.
 */
import { visibleHead } from '@gatehouse/testing';
import { sqlStoreKinds } from '../contract/sqlStoreKinds.js';
import { InvalidArgumentError } from '../errors.js';
import type { AuditableEventStore, StoredEvent } from '../types.js';

const kinds = await sqlStoreKinds('resume_cursor', { maxConnections: 2 });

describe.each(kinds)('resuming readAll (%s)', (_, open) => {
  let store: AuditableEventStore;
  let cleanup: () => Promise<void>;
  let lookups: number;
  beforeEach(async () => {
    ({ store, cleanup } = await open());
    const executor = store.sql!.executor;
    const query = executor.query.bind(executor);
    lookups = 0;
    executor.query = ((text: string, params?: readonly unknown[], name?: string) => {
      if (name?.startsWith('gatehouse_cursor_') === true) lookups += 1;
      return query(text, params, name);
    }) as typeof executor.query;
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });
  const all = async (after?: bigint): Promise<StoredEvent[]> => {
    const events: StoredEvent[] = [];
    for await (const event of store.readAll(after === undefined ? {} : { after })) events.push(event);
    return events;
  };
  const append = (n: number) => store.appendToStream(`order-${n}`, [{ type: 'Placed', data: { n } }]);

  it('after the last event a page gave, with no lookup; elsewhere with one; nowhere else', async () => {
    for (let n = 0; n < 3; n += 1) await append(n);
    // The log readers hold appends back behind any write transaction open on the server (another suite's, in CI).
    await visibleHead(store);
    const first = await all();
    const last = first.at(-1)!.globalPosition;
    expect(await all(last)).toEqual([]);
    await append(3);
    await append(4);
    await visibleHead(store);
    expect((await all(last)).map((e) => e.data)).toEqual([{ n: 3 }, { n: 4 }]);
    expect(lookups).toBe(0);

    expect((await all(first[0]!.globalPosition)).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(lookups).toBe(1);
    await expect(all(last + 1_000n)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
