import { type EventConsumerFactory, isPoison } from '@gatehouse/bus';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const DELAY = 'gatehouse_consumer_delivery_delay_seconds';
const POSITION = 'gatehouse_consumer_position';
const FAILURES = 'gatehouse_consumer_handler_failures_total';
/** From an in-process hand-off (ms) to a consumer catching up after a restart (minutes). */
const DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300];

type Labels = 'service' | 'consumer';

/**
 * The consumers a service starts, measured: how long after an event was stored its handler got it
 * (`gatehouse_consumer_delivery_delay_seconds{service,consumer}`, the consumer's lag in time), and
 * the global position of the last event handled (`gatehouse_consumer_position`), which compared
 * with the store's head (`gatehouse_relay_checkpoint_position`) is the lag in events. Handler failures are counted
 * by kind (`gatehouse_consumer_handler_failures_total{service,consumer,kind=transient|poison}`): transient ones are
 * retried with back-off, so a rising count with a standing position is a reaction waiting for a dependency.
 */
export function measuredEvents(factory: EventConsumerFactory, registry: Registry, service: string): EventConsumerFactory {
  const delay =
    (registry.getSingleMetric(DELAY) as Histogram<Labels> | undefined) ??
    new Histogram({ name: DELAY, help: 'Time from an event being stored to a consumer handling it', labelNames: ['service', 'consumer'], buckets: DELAY_BUCKETS, registers: [registry] });
  const position =
    (registry.getSingleMetric(POSITION) as Gauge<Labels> | undefined) ??
    new Gauge({ name: POSITION, help: 'Global position of the last event a consumer handled', labelNames: ['service', 'consumer'], registers: [registry] });
  const failures =
    (registry.getSingleMetric(FAILURES) as Counter<Labels | 'kind'> | undefined) ??
    new Counter({ name: FAILURES, help: 'Consumer handler failures by kind: transient (retried with back-off) or poison (dead-lettered)', labelNames: ['service', 'consumer', 'kind'], registers: [registry] });
  return {
    consume(options) {
      const labels = { service, consumer: options.name };
      const handler = options.handler as (received: { event: { recordedAt: Date; globalPosition: bigint } }) => Promise<void> | void;
      const measured = {
        ...options,
        handler: async (received: { event: { recordedAt: Date; globalPosition: bigint } }) => {
          try {
            await handler(received);
          } catch (error) {
            failures.inc({ ...labels, kind: isPoison(error) ? 'poison' : 'transient' });
            throw error;
          }
          delay.observe(labels, Math.max(0, Date.now() - received.event.recordedAt.getTime()) / 1000);
          position.set(labels, Number(received.event.globalPosition));
        },
      };
      return factory.consume(measured as unknown as typeof options);
    },
  } as EventConsumerFactory;
}
