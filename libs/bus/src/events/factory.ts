import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import { toEnvelope, type ToEnvelopeOptions } from '../envelope.js';
import { errorFields, silentLogger, type BusLogger } from '../logger.js';
import { DEFAULT_SUBJECT_PREFIX, categoryOf, eventFilter, eventSubjectFor } from '../subjects.js';
import { replayJetStreamEvents, replayStoreEvents } from './replay.js';
import {
  DEFAULT_MAX_DELIVER,
  backoffDelayMs,
  consumeEvents,
  isOutOfOrder,
  isPoison,
  type ConsumerHooks,
  type DataSchemas,
  type EventConsumer,
  type EventOfSchemas,
  type ReceivedEventHandler,
} from './consumer.js';

/** What a process manager or projection subscribes to, independent of the transport. */
export interface EventSubscriptionOptions<S extends DataSchemas | undefined = undefined> {
  /** Durable name (JetStream consumer / store checkpoint): resumes where it stopped. With `replay: true`, only a label. */
  name: string;
  /**
   * Replay from the beginning of the log, with no durable state: every matching event is delivered
   * again at each start, then new ones live, and nothing is stored (JetStream: an ephemeral ordered
   * consumer deleted on stop; in process: no checkpoint). For in-memory read models rebuilt at start.
   * Handler failures are retried in place, then reported and skipped (no redelivery, no DLQ), so
   * reactions that must survive a crash stay on a durable consumer.
   * @defaultValue false (durable)
   */
  replay?: boolean;
  /** Only these categories (stream id prefixes); all when omitted. */
  categories?: readonly string[];
  /** Only these event types; all when omitted. */
  eventTypes?: readonly string[];
  dataSchemas?: S;
  handler: ReceivedEventHandler<S extends DataSchemas ? EventOfSchemas<S> : StoredEvent>;
}

/** Services subscribe through this, so the same code runs on JetStream or in one process. */
export interface EventConsumerFactory {
  consume<S extends DataSchemas | undefined = undefined>(options: EventSubscriptionOptions<S>): Promise<EventConsumer>;
}

export interface JetStreamEventConsumerFactoryOptions {
  js: JetStreamClient;
  jsm?: JetStreamManager;
  streamName?: string;
  /** Where durable consumers also receive the dead letters redriven to them. @defaultValue DEFAULT_DEAD_LETTER_STREAM_NAME */
  deadLetterStreamName?: string;
  subjectPrefix?: string;
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Durable consumers: delay before redelivering after a transient handler failure. @defaultValue `backoffDelayMs` */
  retryDelayMs?: (deliveryCount: number) => number;
  hooks?: ConsumerHooks;
  logger?: BusLogger;
}

/** Durable JetStream pull consumers (see {@link consumeEvents}). Several categories × types need nats-server ≥ 2.10. */
export function createJetStreamEventConsumerFactory({ subjectPrefix = DEFAULT_SUBJECT_PREFIX, ...shared }: JetStreamEventConsumerFactoryOptions): EventConsumerFactory {
  return {
    consume({ name, categories, eventTypes, dataSchemas, handler, replay = false }) {
      const filterSubjects = (categories ?? [undefined]).flatMap((category) =>
        (eventTypes ?? [undefined]).map((eventType) => eventFilter({ ...(category !== undefined ? { category } : {}), ...(eventType !== undefined ? { eventType } : {}) }, subjectPrefix)),
      );
      if (replay) {
        const { js, streamName, maxDeliver, hooks, logger } = shared;
        return replayJetStreamEvents({
          js,
          name,
          subjectPrefix,
          filterSubjects,
          dataSchemas,
          handler: handler as ReceivedEventHandler,
          ...(streamName !== undefined ? { streamName } : {}),
          ...(maxDeliver !== undefined ? { maxDeliver } : {}),
          ...(hooks !== undefined ? { hooks } : {}),
          ...(logger !== undefined ? { logger } : {}),
        });
      }
      return consumeEvents({ ...shared, subjectPrefix, durableName: name, filterSubjects, dataSchemas, handler });
    },
  };
}

export interface InProcessEventConsumerFactoryOptions extends ToEnvelopeOptions {
  store: EventStore;
  subjectPrefix?: string;
  /** Replay subscriptions only: handler attempts per event before it is skipped and reported. Durable ones never skip. @defaultValue DEFAULT_MAX_DELIVER */
  maxDeliver?: number;
  /** Durable subscriptions: delay before the next attempt after a transient handler failure. @defaultValue `backoffDelayMs` (1 s doubling to 5 min, jittered) */
  retryDelayMs?: (attempt: number) => number;
  /** Polling interval of the store subscription. @defaultValue the store's (100 ms) */
  pollIntervalMs?: number;
  hooks?: ConsumerHooks;
  logger?: BusLogger;
}

/**
 * Embedded mode: fed directly by the store's checkpointed subscription, with
 * the same envelope, filtering and schema validation as the JetStream consumer.
 * A durable subscription never skips an event: a transient handler failure is
 * retried with back-off until it succeeds (the checkpoint stays put and the
 * subscription waits, which shows as consumer lag), only poison — data failing
 * its schema or a `PoisonMessageError` — and an `OutOfOrderError` (in commit
 * order the fact it waits for will not come) are reported via
 * `hooks.onDeadLetter` and the logger and passed over (there is no
 * dead-letter stream in process).
 */
export function createInProcessEventConsumerFactory({
  store,
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  maxDeliver = DEFAULT_MAX_DELIVER,
  retryDelayMs = (attempt) => backoffDelayMs(attempt),
  pollIntervalMs,
  hooks = {},
  logger = silentLogger,
  ...envelopeOptions
}: InProcessEventConsumerFactoryOptions): EventConsumerFactory {
  return {
    async consume({ name, categories, eventTypes, dataSchemas, handler, replay = false }) {
      if (replay) {
        return replayStoreEvents({
          ...envelopeOptions,
          store,
          name,
          ...(categories !== undefined ? { categories } : {}),
          ...(eventTypes !== undefined ? { eventTypes } : {}),
          dataSchemas,
          handler: handler as ReceivedEventHandler,
          subjectPrefix,
          maxDeliver,
          ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
          hooks,
          logger,
        });
      }
      const categorySet = categories === undefined ? undefined : new Set(categories);
      const typeSet = eventTypes === undefined ? undefined : new Set(eventTypes);
      const run = handler as ReceivedEventHandler;
      // Wakes a back-off sleep when the subscription is stopped.
      const stopping = new AbortController();

      const subscription = store.subscribe(
        async (stored) => {
          if (categorySet !== undefined && !categorySet.has(categoryOf(stored.streamId))) return;
          if (typeSet !== undefined && !typeSet.has(stored.type)) return;
          let event = stored;
          if (dataSchemas !== undefined) {
            const schema = dataSchemas[stored.type];
            if (schema === undefined) return;
            const parsed = schema.safeParse(stored.data);
            if (!parsed.success) {
              report('invalid_data', stored, 1, parsed.error);
              return;
            }
            event = { ...stored, data: parsed.data };
          }
          const envelope = toEnvelope(stored, envelopeOptions);
          const subject = eventSubjectFor(stored.streamId, stored.type, subjectPrefix);
          for (let deliveryCount = 1; ; deliveryCount += 1) {
            try {
              await run({ event, envelope, subject, deliveryCount, streamSequence: Number(stored.globalPosition) });
              hooks.onHandled?.({ eventId: stored.id, type: stored.type, deliveryCount });
              return;
            } catch (error) {
              if (isPoison(error) || isOutOfOrder(error)) {
                report(isPoison(error) ? 'poison' : 'out_of_order', stored, deliveryCount, error);
                return;
              }
              const delayMs = retryDelayMs(deliveryCount);
              hooks.onRetry?.({ eventId: stored.id, deliveryCount, delayMs, error });
              logger.warn({ ...errorFields(error), eventId: stored.id, eventType: stored.type, consumer: name, deliveryCount, delayMs }, 'event handler failed; will retry');
              // Stopped while waiting: throwing leaves the checkpoint before this event, so the next start handles it again.
              if (!(await sleepUnlessAborted(delayMs, stopping.signal))) throw new SubscriptionStoppedError(name, stored.id);
            }
          }
        },
        { subscriptionId: name, ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}) },
      );

      function report(reason: 'invalid_data' | 'poison' | 'out_of_order', stored: StoredEvent, deliveryCount: number, error: unknown): void {
        const subject = eventSubjectFor(stored.streamId, stored.type, subjectPrefix);
        hooks.onDeadLetter?.({ reason, subject, deliveryCount, error });
        logger.error({ ...errorFields(error), reason, subject, eventId: stored.id, deliveryCount, consumer: name }, 'poison event passed over');
      }

      // A stop during a back-off ends the subscription with SubscriptionStoppedError: that is a stop, not a failure.
      const done = subscription.done.catch((error: unknown) => {
        if (!(error instanceof SubscriptionStoppedError)) throw error;
      });
      return {
        stop: async () => {
          stopping.abort();
          await subscription.stop().catch((error: unknown) => {
            if (!(error instanceof SubscriptionStoppedError)) throw error;
          });
        },
        done,
      };
    },
  };
}

/** A durable in-process subscription was stopped while an event waited for its next attempt (handled again at the next start). */
class SubscriptionStoppedError extends Error {
  override readonly name = 'SubscriptionStoppedError';
  constructor(consumer: string, eventId: string) {
    super(`consumer ${consumer} stopped while event ${eventId} waited to be retried; it is handled again at the next start`);
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
