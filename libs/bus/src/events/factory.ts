import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import { toEnvelope, type ToEnvelopeOptions } from '../envelope.js';
import { errorFields, silentLogger, type BusLogger } from '../logger.js';
import { DEFAULT_SUBJECT_PREFIX, categoryOf, eventFilter, eventSubjectFor } from '../subjects.js';
import { replayJetStreamEvents, replayStoreEvents } from './replay.js';
import { REACTION_LEDGER_CATEGORY, loadEvent, recordDeadLetter, recordResumed, recordSetAside, redriveFor, refOf, stillSetAside } from './store-ledger.js';
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
  /**
   * Whether the server takes several filter subjects on one consumer (nats-server ≥ 2.10, see
   * `supportsMultipleFilterSubjects`). When not, a subscription needing several gets one broader subject (its
   * category, else its event type, else every event) and the client reads only the selected subjects, skipping
   * the others unparsed.
   * @defaultValue true
   */
  multipleFilterSubjects?: boolean;
  hooks?: ConsumerHooks;
  logger?: BusLogger;
}

/** Durable JetStream pull consumers (see {@link consumeEvents}). */
export function createJetStreamEventConsumerFactory({ subjectPrefix = DEFAULT_SUBJECT_PREFIX, multipleFilterSubjects = true, ...shared }: JetStreamEventConsumerFactoryOptions): EventConsumerFactory {
  return {
    consume({ name, categories, eventTypes, dataSchemas, handler, replay = false }) {
      const exact = (categories ?? [undefined]).flatMap((category) =>
        (eventTypes ?? [undefined]).map((eventType) => eventFilter({ ...(category !== undefined ? { category } : {}), ...(eventType !== undefined ? { eventType } : {}) }, subjectPrefix)),
      );
      const narrowInClient = !multipleFilterSubjects && exact.length > 1;
      // The narrowest one subject: the category when there is one, else the event type when there is one.
      const broader = categories?.length === 1 ? { category: categories[0]! } : eventTypes?.length === 1 ? { eventType: eventTypes[0]! } : {};
      const filterSubjects = narrowInClient ? [eventFilter(broader, subjectPrefix)] : exact;
      const select = narrowInClient ? { categories, eventTypes } : undefined;
      if (replay) {
        const { js, streamName, maxDeliver, hooks, logger } = shared;
        return replayJetStreamEvents({
          js,
          name,
          subjectPrefix,
          filterSubjects,
          ...(select !== undefined ? { select } : {}),
          dataSchemas,
          handler: handler as ReceivedEventHandler,
          ...(streamName !== undefined ? { streamName } : {}),
          ...(maxDeliver !== undefined ? { maxDeliver } : {}),
          ...(hooks !== undefined ? { hooks } : {}),
          ...(logger !== undefined ? { logger } : {}),
        });
      }
      return consumeEvents({ ...shared, subjectPrefix, durableName: name, filterSubjects, ...(select !== undefined ? { select } : {}), dataSchemas, handler });
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
 * subscription waits, which shows as consumer lag); only poison — data failing
 * its schema or a `PoisonMessageError` — is dead-lettered at once, into the
 * store's dead-letter ledger (store-ledger.ts: listed and redriven with
 * `gatehouse dlq` / `/api/admin/dead-letters`, as on JetStream).
 * An `OutOfOrderError` (the event waits for a fact another producer may commit
 * later) is set aside, recorded in the store, and tried again with back-off
 * while later events flow, as JetStream's redelivery does; a restart takes it
 * back. After `maxDeliver` attempts it is dead-lettered as `out_of_order`.
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
       * Writes to the store's ledger (set-aside events, dead letters), retried with back-off while the store is
       * unavailable: the checkpoint does not move past an event whose fate was not recorded. Stopped while
       * waiting: SubscriptionStoppedError (the event is handled again at the next start).
       */
      async function recorded(what: string, write: () => Promise<void>, eventId: string): Promise<void> {
        for (let attempt = 1; ; attempt += 1) {
          try {
            return await write();
          } catch (error) {
            const delayMs = retryDelayMs(attempt);
            logger.warn({ ...errorFields(error), consumer: name, eventId, delayMs }, `recording ${what} failed; will retry`);
            if (!(await sleepUnlessAborted(delayMs, stopping.signal))) throw new SubscriptionStoppedError(name, eventId);
          }
        }
      }

      /**
       * Events waiting for a fact another producer may still commit (OutOfOrderError): later events flow
       * meanwhile and these are tried again with back-off, until handled, poison, or out of attempts.
       * Each is recorded in the store's ledger when set aside and when resumed, so a restart takes back
       * every one still waiting (its checkpoint has moved on).
       */
      const deferred: Array<{ received: ReceivedEvent; stored: StoredEvent; attempts: number; nextAt: number }> = [];
      async function resume(entry: (typeof deferred)[number], outcome: 'handled' | 'dead_lettered'): Promise<void> {
        await recorded('a resumed event', () => recordResumed(store, name, refOf(entry.stored), outcome), entry.stored.id);
        const index = deferred.indexOf(entry);
        if (index >= 0) deferred.splice(index, 1);
      }
      /** `newFact`: an event was just handled, so each waiting event is tried at once (a failure keeps its back-off schedule). */
      async function retryDeferred(newFact: boolean): Promise<void> {
        for (const entry of [...deferred]) {
          if (stopping.signal.aborted) return;
          if (!newFact && entry.nextAt > Date.now()) continue;
          const attempt = newFact ? entry.attempts : entry.attempts + 1;
          try {
            await run({ ...entry.received, deliveryCount: attempt });
            await resume(entry, 'handled');
            hooks.onHandled?.({ eventId: entry.stored.id, type: entry.stored.type, deliveryCount: attempt });
          } catch (error) {
            if (error instanceof SubscriptionStoppedError) throw error;
            if (isPoison(error)) {
              await report('poison', entry.stored, attempt, error);
              await resume(entry, 'dead_lettered');
            } else if (!newFact) {
              entry.attempts = attempt;
              if (isOutOfOrder(error) && attempt >= (maxDeliver ?? DEFAULT_MAX_DELIVER)) {
                await report('out_of_order', entry.stored, attempt, error);
                await resume(entry, 'dead_lettered');
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
        if (deferred.length > 0) void serially(() => retryDeferred(false)).catch((error: unknown) => {
          if (!(error instanceof SubscriptionStoppedError)) logger.error({ ...errorFields(error), consumer: name }, 'retrying deferred events failed');
        });
      }, DEFERRED_CHECK_INTERVAL_MS);
      deferredTimer.unref();

      /** What this subscription hands its handler for a stored event; undefined when it does not subscribe to it. */
      async function receive(stored: StoredEvent): Promise<ReceivedEvent | undefined> {
        // The ledger is the consumers' own bookkeeping: handed only to a subscription that names its category.
        if (categorySet === undefined && categoryOf(stored.streamId) === REACTION_LEDGER_CATEGORY) return undefined;
        if (categorySet !== undefined && !categorySet.has(categoryOf(stored.streamId))) return undefined;
        if (typeSet !== undefined && !typeSet.has(stored.type)) return undefined;
        let event = stored;
        if (dataSchemas !== undefined) {
          const schema = dataSchemas[stored.type];
          if (schema === undefined) return undefined;
          const parsed = schema.safeParse(stored.data);
          if (!parsed.success) {
            await report('invalid_data', stored, 1, parsed.error);
            return undefined;
          }
          event = { ...stored, data: parsed.data };
        }
        const envelope = toEnvelope(stored, envelopeOptions);
        const subject = eventSubjectFor(stored.streamId, stored.type, subjectPrefix);
        return { event, envelope, subject, deliveryCount: 1, streamSequence: Number(stored.globalPosition) };
      }

      // Set-aside events a previous run left waiting come back before anything new is handled.
      for (const ref of await stillSetAside(store, name)) {
        const stored = await loadEvent(store, ref);
        const received = stored === undefined ? undefined : await receive(stored);
        if (stored === undefined || received === undefined) {
          logger.error({ consumer: name, eventId: ref.eventId, streamId: ref.streamId }, 'a set-aside event is no longer in the log or no longer subscribed to: passed over');
          continue;
        }
        if (!deferred.some((entry) => entry.stored.id === stored.id)) deferred.push({ received, stored, attempts: 1, nextAt: Date.now() });
      }

      const subscription = store.subscribe(
        (stored) => serially(() => handleStored(stored)),
        { subscriptionId: name, ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}) },
      );

      async function handleStored(stored: StoredEvent): Promise<void> {
        // An operator handed back one of this consumer's dead letters: the original event is delivered again.
        const redrive = redriveFor(name, stored);
        if (redrive !== undefined) {
          const original = await loadEvent(store, redrive);
          if (original === undefined) {
            logger.error({ consumer: name, eventId: redrive.eventId, deadLetterId: redrive.deadLetterId }, 'redriven dead letter names an event the log does not hold: passed over');
            return;
          }
          logger.info({ consumer: name, eventId: original.id, deadLetterId: redrive.deadLetterId }, 'dead letter redriven');
          return deliver(original);
        }
        return deliver(stored);
      }

      async function deliver(stored: StoredEvent): Promise<void> {
        // Already waiting (taken back from the ledger at start, and delivered again because the checkpoint had not moved).
        if (deferred.some((entry) => entry.stored.id === stored.id)) return;
        const received = await receive(stored);
        if (received === undefined) return;
        for (let deliveryCount = 1; ; deliveryCount += 1) {
          try {
            await run({ ...received, deliveryCount });
            hooks.onHandled?.({ eventId: stored.id, type: stored.type, deliveryCount });
            // A fact just handled may be what a deferred event waited for.
            if (deferred.length > 0) await retryDeferred(true);
            break;
          } catch (error) {
            if (error instanceof SubscriptionStoppedError) throw error;
            if (isPoison(error)) {
              await report('poison', stored, deliveryCount, error);
              break;
            }
            const delayMs = retryDelayMs(deliveryCount);
            hooks.onRetry?.({ eventId: stored.id, deliveryCount, delayMs, error });
            if (isOutOfOrder(error)) {
              // Recorded before the checkpoint moves past it: a restart takes it back from the ledger.
              await recorded('a set-aside event', () => recordSetAside(store, name, refOf(stored)), stored.id);
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

      /** Parks the event in the store's dead-letter ledger (listed and redriven by `gatehouse dlq`), and reports it. */
      async function report(reason: 'invalid_data' | 'poison' | 'out_of_order', stored: StoredEvent, deliveryCount: number, error: unknown): Promise<void> {
        const subject = eventSubjectFor(stored.streamId, stored.type, subjectPrefix);
        const errorName = error instanceof Error ? error.name : null;
        const message = error instanceof Error ? error.message : String(error);
        await recorded('a dead letter', () => recordDeadLetter(store, { ...refOf(stored), consumer: name, reason, deliveryCount, errorName, error: message.slice(0, 2_000) }), stored.id);
        hooks.onDeadLetter?.({ reason, subject, deliveryCount, error });
        logger.error({ ...errorFields(error), reason, subject, eventId: stored.id, deliveryCount, consumer: name }, 'event dead-lettered (gatehouse dlq list)');
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
