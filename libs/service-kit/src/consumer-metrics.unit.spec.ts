import { createInProcessEventConsumerFactory, PoisonMessageError } from '@gatehouse/bus';
import { ANY, createInMemoryEventStore } from '@gatehouse/eventstore';
import { Registry } from 'prom-client';
import { measuredEvents } from './consumer-metrics.js';

describe('measured consumers', () => {
  it('count transient failures (retried) and poison (passed over) per consumer', async () => {
    const store = createInMemoryEventStore();
    await store.appendToStream('parcel-1', [{ type: 'ParcelShipped', data: { n: 1 } }, { type: 'ParcelForged', data: { n: 2 } }], { expectedVersion: ANY });
    const registry = new Registry();
    const events = measuredEvents(createInProcessEventConsumerFactory({ store, pollIntervalMs: 5, retryDelayMs: () => 5 }), registry, 'shipping');
    let attempts = 0;
    const handled: string[] = [];
    const consumer = await events.consume({
      name: 'shipper',
      handler: ({ event }) => {
        if (event.type === 'ParcelForged') throw new PoisonMessageError('forged');
        attempts += 1;
        if (attempts < 3) throw new Error('courier API unavailable');
        handled.push(event.type);
      },
    });
    const deadline = Date.now() + 5_000;
    while ((await registry.getSingleMetricAsString('gatehouse_consumer_handler_failures_total')).split('\n').filter((l) => l.startsWith('gatehouse_')).length < 2) {
      if (Date.now() > deadline) throw new Error('failures not counted');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await consumer.stop();
    const text = await registry.metrics();
    expect(text).toContain('gatehouse_consumer_handler_failures_total{service="shipping",consumer="shipper",kind="transient"} 2');
    expect(text).toContain('gatehouse_consumer_handler_failures_total{service="shipping",consumer="shipper",kind="poison"} 1');
    expect(handled).toEqual(['ParcelShipped']);
  });
});
