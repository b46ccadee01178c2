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
  type ReceivedEvent,
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
  /**
   * Replay subscriptions: handler attempts per event before it is skipped and reported (@defaultValue DEFAULT_REPLAY_MAX_DELIVER).
   * Durable ones never skip; this bounds only how long an event waiting for a fact (OutOfOrderError) is set aside (@defaultValue DEFAULT_MAX_DELIVER).
   */
  maxDeliver?: number;
  /** Durable subscriptions: delay before the next attempt after a transient handler failure. @defaultValue `backoffDelayMs` from 100 ms (doubling to 5 min, jittered) */
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
 * its schema or a `PoisonMessageError` — is reported via `hooks.onDeadLetter`
 * and the logger and passed over (there is no dead-letter stream in process).
 * An `OutOfOrderError` (the event waits for a fact another producer may commit
 * later) is set aside and tried again with back-off while later events flow,
 * as JetStream's redelivery does; after `maxDeliver` attempts it is reported
 * as `out_of_order`.
 */
export function createInProcessEventConsumerFactory({
  store,
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  maxDeliver,
  retryDelayMs = (attempt) => backoffDelayMs(attempt, { firstDelayMs: IN_PROCESS_FIRST_RETRY_DELAY_MS }),
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
          ...(maxDeliver !== undefined ? { maxDeliver } : {}),
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
      // Handler runs never overlap: the subscription's events and the retries of deferred ones take turns.
      let turn: Promise<void> = Promise.resolve();
      const serially = (task: () => Promise<void>): Promise<void> => {
        const result = turn.then(task);
        turn = result.catch(() => undefined);
        return result;
      };

      /**
       * Events waiting for a fact another producer may still commit (OutOfOrderError): later events flow
       * meanwhile and these are tried again with back-off, until handled, poison, or out of attempts.
       * Kept in memory: a restart does not bring back one still waiting (its checkpoint has moved on).
       */
      const deferred: Array<{ received: ReceivedEvent; stored: StoredEvent; attempts: number; nextAt: number }> = [];
      /** `newFact`: an event was just handled, so each waiting event is tried at once (a failure keeps its back-off schedule). */
      async function retryDeferred(newFact: boolean): Promise<void> {
        for (const entry of [...deferred]) {
          if (stopping.signal.aborted) return;
          if (!newFact && entry.nextAt > Date.now()) continue;
          const attempt = newFact ? entry.attempts : entry.attempts + 1;
          try {
            await run({ ...entry.received, deliveryCount: attempt });
            deferred.splice(deferred.indexOf(entry), 1);
            hooks.onHandled?.({ eventId: entry.stored.id, type: entry.stored.type, deliveryCount: attempt });
          } catch (error) {
            if (isPoison(error)) {
              deferred.splice(deferred.indexOf(entry), 1);
              report('poison', entry.stored, attempt, error);
            } else if (!newFact) {
              entry.attempts = attempt;
              if (isOutOfOrder(error) && attempt >= (maxDeliver ?? DEFAULT_MAX_DELIVER)) {
                deferred.splice(deferred.indexOf(entry), 1);
                report('out_of_order', entry.stored, attempt, error);
              } else {
                const delayMs = retryDelayMs(attempt);
                entry.nextAt = Date.now() + delayMs;
                hooks.onRetry?.({ eventId: entry.stored.id, deliveryCount: attempt, delayMs, error });
              }
            }
          }
        }
      }
      const deferredTimer = setInterval(() => {
        if (deferred.length > 0) void serially(() => retryDeferred(false)).catch((error: unknown) => logger.error({ ...errorFields(error), consumer: name }, 'retrying deferred events failed'));
      }, DEFERRED_CHECK_INTERVAL_MS);
      deferredTimer.unref();

      const subscription = store.subscribe(
        (stored) => serially(() => handleStored(stored)),
        { subscriptionId: name, ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}) },
      );

      async function handleStored(stored: StoredEvent): Promise<void> {
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
        const received: ReceivedEvent = { event, envelope, subject, deliveryCount: 1, streamSequence: Number(stored.globalPosition) };
        for (let deliveryCount = 1; ; deliveryCount += 1) {
          try {
            await run({ ...received, deliveryCount });
            hooks.onHandled?.({ eventId: stored.id, type: stored.type, deliveryCount });
            // A fact just handled may be what a deferred event waited for.
            if (deferred.length > 0) await retryDeferred(true);
            break;
          } catch (error) {
            if (isPoison(error)) {
              report('poison', stored, deliveryCount, error);
              break;
            }
            const delayMs = retryDelayMs(deliveryCount);
            hooks.onRetry?.({ eventId: stored.id, deliveryCount, delayMs, error });
            if (isOutOfOrder(error)) {
              deferred.push({ received, stored, attempts: deliveryCount, nextAt: Date.now() + delayMs });
              logger.warn({ ...errorFields(error), eventId: stored.id, eventType: stored.type, consumer: name, delayMs }, 'event waits for an earlier fact; later events go on');
              break;
            }
            logger.warn({ ...errorFields(error), eventId: stored.id, eventType: stored.type, consumer: name, deliveryCount, delayMs }, 'event handler failed; will retry');
            // Stopped while waiting: throwing leaves the checkpoint before this event, so the next start handles it again.
            if (!(await sleepUnlessAborted(delayMs, stopping.signal))) throw new SubscriptionStoppedError(name, stored.id);
          }
        }
      }

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
          clearInterval(deferredTimer);
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

/** In one process a retry costs no network round trip: a contended append is tried again soon, a dependency that is down still waits minutes. */
const IN_PROCESS_FIRST_RETRY_DELAY_MS = 100;

/** How often deferred events (waiting for a fact) are looked at when no new event arrives. */
const DEFERRED_CHECK_INTERVAL_MS = 250;

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
