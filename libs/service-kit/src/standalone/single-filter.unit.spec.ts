import type { EventConsumerFactory, EventSubscriptionOptions } from '@gatehouse/bus';
import { supportsMultipleFilterSubjects, withSingleFilterSubject } from './single-filter.js';

type Seen = { categories: readonly string[] | undefined; eventTypes: readonly string[] | undefined; handler: (r: unknown) => Promise<void> };

function recordingFactory(): { factory: EventConsumerFactory; seen: Seen[] } {
  const seen: Seen[] = [];
  const factory = {
    consume: async (options: EventSubscriptionOptions) => {
      seen.push({ categories: options.categories, eventTypes: options.eventTypes, handler: options.handler as Seen['handler'] });
      return { stop: async () => {}, done: Promise.resolve() };
    },
  } as unknown as EventConsumerFactory;
  return { factory, seen };
}

const received = (streamId: string, type: string) => ({ event: { streamId, type, data: {} } });

describe('single filter subject for nats-server < 2.10', () => {
  it('knows which servers take several filter subjects', () => {
    expect(supportsMultipleFilterSubjects('2.9.10')).toBe(false);
    expect(supportsMultipleFilterSubjects('2.10.0')).toBe(true);
    expect(supportsMultipleFilterSubjects('v2.11.3')).toBe(true);
    expect(supportsMultipleFilterSubjects('3.0.0')).toBe(true);
    expect(supportsMultipleFilterSubjects(undefined)).toBe(true);
  });

  it('passes a one-filter subscription through unchanged', async () => {
    const { factory, seen } = recordingFactory();
    const handler = async () => {};
    await withSingleFilterSubject(factory).consume({ name: 'x', categories: ['order'], eventTypes: ['OrderPlaced'], handler });
    expect(seen).toEqual([{ categories: ['order'], eventTypes: ['OrderPlaced'], handler }]);
  });

  it('widens several types of one category to the category and selects the types client-side', async () => {
    const { factory, seen } = recordingFactory();
    const handled: string[] = [];
    await withSingleFilterSubject(factory).consume({ name: 'x', categories: ['order'], eventTypes: ['OrderPlaced', 'OrderShipped'], handler: async ({ event }) => void handled.push(event.type) });
    expect(seen[0]).toMatchObject({ categories: ['order'], eventTypes: undefined });
    for (const type of ['OrderPlaced', 'OrderCancelled', 'OrderShipped']) await seen[0]!.handler(received('order-1', type));
    expect(handled).toEqual(['OrderPlaced', 'OrderShipped']);
  });

  it('widens several categories to every event and selects categories and types client-side', async () => {
    const { factory, seen } = recordingFactory();
    const handled: string[] = [];
    await withSingleFilterSubject(factory).consume({ name: 'x', categories: ['order', 'deployment'], eventTypes: ['Done'], handler: async ({ event }) => void handled.push(event.streamId) });
    expect(seen[0]).toMatchObject({ categories: undefined, eventTypes: undefined });
    await seen[0]!.handler(received('order-1', 'Done'));
    await seen[0]!.handler(received('watch-1', 'Done'));
    await seen[0]!.handler(received('deployment-2', 'Started'));
    await seen[0]!.handler(received('deployment-3', 'Done'));
    expect(handled).toEqual(['order-1', 'deployment-3']);
  });
});
