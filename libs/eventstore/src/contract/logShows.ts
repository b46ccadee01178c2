import type { EventStore, StoredEvent } from '../types.js';

export interface LogShowsOptions {
  /** Read after this position. */
  after?: bigint;
  /** Count only the events this accepts (all are still returned). */
  counting?: (event: StoredEvent) => boolean;
  batchSize?: number;
}

/**
 * Reads the log until it shows at least `count` events, and returns what it read.
 * The log readers hold back events behind every write transaction open on the server, in any database, so a
 * suite of another project running at the same time (CI runs two at once) can hide fresh appends for a moment:
 * a test that reads what it just appended waits for them here instead of failing on a neighbour's transaction.
 */
export async function logShows(store: EventStore, count: number, options: LogShowsOptions = {}): Promise<StoredEvent[]> {
  const { after, counting = () => true, batchSize } = options;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events: StoredEvent[] = [];
    for await (const event of store.readAll({ ...(after === undefined ? {} : { after }), ...(batchSize === undefined ? {} : { batchSize }) })) events.push(event);
    const counted = events.filter(counting).length;
    if (counted >= count) return events;
    if (Date.now() > deadline) throw new Error(`the log readers showed ${counted} events, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
