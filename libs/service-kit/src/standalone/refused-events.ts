import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { DeadLetterHeaders, deadLetterSubject, encodeEnvelope, EVENT_SEGMENT } from '@gatehouse/bus';
import type { Registry } from 'prom-client';
import { registeredCounter } from '../command-metrics.js';
import type { ServiceLogger } from '../service.js';
import type { RefusedEventSink } from '../store-checked-events.js';

/** `Gatehouse-Dlq-Reason` of an event the store does not hold as received. */
export const EVENT_NOT_IN_STORE_REASON = 'event_not_in_store';

export interface RefusedEventsDeadLetterOptions {
  js: JetStreamClient;
  /** The events stream the message came from (recorded in the dead letter). */
  streamName: string;
  subjectPrefix: string;
  service: string;
  metrics: Registry;
  logger: ServiceLogger;
}

/**
 * Parks a refused event in the dead-letter stream at once (a forgery does not become true on
 * retry), with the reason and the mismatch in headers, counts it in
 * `gatehouse_consumer_refused_events_total{service,consumer,reason}` and logs it. The consumer then
 * acknowledges it: it is never folded, and never redelivered.
 */
export function deadLetterRefusedEvents({ js, streamName, subjectPrefix, service, metrics, logger }: RefusedEventsDeadLetterOptions): RefusedEventSink {
  const refused = registeredCounter(metrics, 'gatehouse_consumer_refused_events_total', 'Events received that the store does not hold as received (forged or altered), dead-lettered unhandled', ['service', 'consumer', 'reason']);
  const root = `${subjectPrefix}.${EVENT_SEGMENT}.`;
  return async (refusal, received, consumer) => {
    const [category = 'unknown', type = 'unknown'] = received.subject.startsWith(root) ? received.subject.slice(root.length).split('.') : [];
    const h = natsHeaders();
    h.set(DeadLetterHeaders.Reason, EVENT_NOT_IN_STORE_REASON);
    h.set(DeadLetterHeaders.OriginalSubject, received.subject);
    h.set(DeadLetterHeaders.OriginalStream, streamName);
    h.set(DeadLetterHeaders.OriginalSequence, String(received.streamSequence));
    h.set(DeadLetterHeaders.DeliveryCount, String(received.deliveryCount));
    h.set(DeadLetterHeaders.Consumer, consumer);
    h.set(DeadLetterHeaders.ErrorName, refusal.name);
    h.set(DeadLetterHeaders.ErrorMessage, refusal.message.slice(0, 1_000));
    h.set(DeadLetterHeaders.EventId, refusal.eventId);
    // Same id scheme as the consumer's own dead letters: parking one delivery twice stores it once.
    await js.publish(deadLetterSubject(category, type, subjectPrefix), encodeEnvelope(received.envelope), { headers: h, msgID: `${consumer}:${streamName}:${received.streamSequence}` });
    refused.inc({ service, consumer, reason: refusal.reason });
    logger.error({ consumer, reason: refusal.reason, eventId: refusal.eventId, streamId: refusal.streamId, globalPosition: refusal.globalPosition, subject: received.subject }, 'event refused: the store does not hold it as received; dead-lettered, not handled');
  };
}
