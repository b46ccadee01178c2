import { categoryOf, type EventConsumerFactory, type EventSubscriptionOptions } from '@gatehouse/bus';

/** nats-server 2.10 is the first to accept several filter subjects on one consumer. */
export function supportsMultipleFilterSubjects(serverVersion: string | undefined): boolean {
  const match = /^v?(\d+)\.(\d+)/.exec(serverVersion ?? '');
  if (match === null) return true;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 2 || (major === 2 && minor >= 10);
}

/**
 * For nats-server < 2.10: a subscription that would need several filter subjects (several
 * categories, or one category with several event types) gets one broader filter instead —
 * its single category, else every event — and the same selection is applied client-side
 * before the handler. Same events reach the handler; the consumer just receives (and acks)
 * more messages. Subscriptions that need one filter subject are passed through unchanged.
 */
export function withSingleFilterSubject(inner: EventConsumerFactory): EventConsumerFactory {
  return {
    consume<S extends Parameters<EventConsumerFactory['consume']>[0]['dataSchemas']>(options: EventSubscriptionOptions<S>) {
      const { categories, eventTypes } = options;
      const filterCount = (categories?.length ?? 1) * (eventTypes?.length ?? 1);
      if (filterCount <= 1) return inner.consume(options);
      const categorySet = categories === undefined ? undefined : new Set(categories);
      const typeSet = eventTypes === undefined ? undefined : new Set(eventTypes);
      const handler = options.handler as (received: { event: { streamId: string; type: string } }) => Promise<void>;
      const narrowed = {
        ...options,
        categories: categories?.length === 1 ? categories : undefined,
        eventTypes: undefined,
        handler: async (received: { event: { streamId: string; type: string } }) => {
          if (categorySet !== undefined && !categorySet.has(categoryOf(received.event.streamId))) return;
          if (typeSet !== undefined && !typeSet.has(received.event.type)) return;
          await handler(received);
        },
      };
      return inner.consume(narrowed as unknown as EventSubscriptionOptions<S>);
    },
  };
}
