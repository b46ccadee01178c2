import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, type ConsumerConfig, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos } from '@nats-io/transport-node';
import type { StoredEvent } from '@gatehouse/eventstore';
import type { z } from 'zod';
import { decodeEnvelope, fromEnvelope, type CloudEventEnvelope } from '../envelope.js';
import { InvalidEnvelopeError } from '../errors.js';
import { errorFields, silentLogger, type BusLogger } from '../logger.js';
import { DEFAULT_DEAD_LETTER_STREAM_NAME, DEFAULT_EVENT_STREAM_NAME } from '../stream.js';
import { DEFAULT_SUBJECT_PREFIX, DLQ_SEGMENT, EVENT_SEGMENT, allEventsSubject, assertSubjectPrefix, deadLetterSubject, eventSubjectSelector } from '../subjects.js';

/**
 * Handler attempts before a transiently failing event is dead-lettered: with the default back-off
 * (1 s doubling to 5 min, jittered) that is roughly 30 to 60 minutes of retries, long enough for a
 * dependency's restart or a short outage, and visible meanwhile as consumer lag.
 */
export const DEFAULT_MAX_DELIVER = 20;
export const DEFAULT_ACK_WAIT_MS = 30_000;
export const DEFAULT_PULL_BATCH = 100;
export const FIRST_RETRY_DELAY_MS = 1_000;
export const MAX_RETRY_DELAY_MS = 300_000;
/** Header values are single protocol lines; long stack traces would bloat the DLQ. */
const MAX_ERROR_HEADER_LENGTH = 1_000;

/** Subject token under `<prefix>.dlq.` that carries redriven dead letters (no event category starts with `_`). */
export const REDRIVE_TOKEN = '_redrive';

/** Where a durable consumer receives the dead letters redriven to it (`deadLetters.redrive`); it reads them like new deliveries. */
export function redriveSubject(durableName: string, prefix: string = DEFAULT_SUBJECT_PREFIX): string {
  return `${assertSubjectPrefix(prefix)}.${DLQ_SEGMENT}.${REDRIVE_TOKEN}.${durableName}`;
}

/** Headers a dead-lettered message carries; its body is the original payload, byte for byte, so it can be replayed. */
export const DeadLetterHeaders = {
  Reason: 'Gatehouse-Dlq-Reason',
  OriginalSubject: 'Gatehouse-Dlq-Original-Subject',
  OriginalStream: 'Gatehouse-Dlq-Original-Stream',
  OriginalSequence: 'Gatehouse-Dlq-Original-Sequence',
  DeliveryCount: 'Gatehouse-Dlq-Delivery-Count',
  Consumer: 'Gatehouse-Dlq-Consumer',
  ErrorName: 'Gatehouse-Dlq-Error-Name',
  ErrorMessage: 'Gatehouse-Dlq-Error',
  EventId: 'Gatehouse-Dlq-Event-Id',
} as const;

/**
 * Why a message was parked: it could not be parsed, its data failed its schema, the handler declared it
 * poison (`PoisonMessageError`: retrying cannot help), or the handler kept failing through every retry.
 */
export type DeadLetterReason = 'invalid_envelope' | 'invalid_data' | 'poison' | 'out_of_order' | 'handler_failed' | 'max_deliver_exceeded';

/**
 * Thrown by a handler for a message that no retry can ever handle (malformed for this handler, forbidden):
 * it is dead-lettered at once with this reason. Anything else a handler throws is taken as transient.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by a handler for a message that depends on a fact it has not seen yet (events of different streams
 * redelivered out of order). JetStream redelivers later, after the earlier message came back: it is retried
 * with back-off like any transient failure. Delivered in commit order (embedded mode), every earlier fact was
 * handled already, so waiting cannot help: it is reported as `out_of_order` and passed over.
 */
export class OutOfOrderError extends Error {
  override readonly name: string = 'OutOfOrderError';
}

export function isOutOfOrder(error: unknown): boolean {
  return error instanceof OutOfOrderError;
}

/** Whether a handler's failure is poison (checked by name too, so a copy of the class from another bundle counts). */
export function isPoison(error: unknown): boolean {
  return error instanceof PoisonMessageError || (error instanceof Error && error.name === 'PoisonMessageError');
}

export interface BackoffOptions {
  /** @defaultValue FIRST_RETRY_DELAY_MS (1 s) */
  firstDelayMs?: number;
  /** @defaultValue MAX_RETRY_DELAY_MS (5 min) */
  maxDelayMs?: number;
  /** A number in [0, 1). @defaultValue Math.random */
  random?: () => number;
}

/**
 * Delay before the next attempt after `attempt` failed: doubling from `firstDelayMs`, capped at `maxDelayMs`,
 * then jittered down by up to half so replicas and consumers retrying the same outage do not retry in step.
 */
export function backoffDelayMs(attempt: number, { firstDelayMs = FIRST_RETRY_DELAY_MS, maxDelayMs = MAX_RETRY_DELAY_MS, random = Math.random }: BackoffOptions = {}): number {
  const ceiling = Math.min(firstDelayMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)), maxDelayMs);
  return Math.round(ceiling * (0.5 + random() / 2));
}

export type DataSchemas = Record<string, z.ZodType>;
/** The StoredEvent union a consumer with these schemas receives. */
export type EventOfSchemas<S extends DataSchemas> = {
  [K in keyof S & string]: StoredEvent<K, z.output<S[K]>>;
}[keyof S & string];

export interface ReceivedEvent<E extends StoredEvent = StoredEvent> {
  event: E;
  envelope: CloudEventEnvelope;
  subject: string;
  /** 1 on first delivery. */
  deliveryCount: number;
  streamSequence: number;
}

export type ReceivedEventHandler<E extends StoredEvent = StoredEvent> = (received: ReceivedEvent<E>) => Promise<void> | void;

export interface ConsumerHooks {
  onHandled?(info: { eventId: string; type: string; deliveryCount: number }): void;
  onRetry?(info: { eventId: string | undefined; deliveryCount: number; delayMs: number; error: unknown }): void;
  onDeadLetter?(info: { reason: DeadLetterReason; subject: string; deliveryCount: number; error: unknown }): void;
}

export interface ConsumeEventsOptions<S extends DataSchemas | undefined = undefined> {
  js: JetStreamClient;
  /** Used to create or update the durable consumer. @defaultValue `js.jetstreamManager()` */
  jsm?: JetStreamManager;
  /** The all-events stream. @defaultValue DEFAULT_EVENT_STREAM_NAME */
  streamName?: string;
  /** The dead-letter stream, where dead letters redriven to this consumer arrive too. @defaultValue DEFAULT_DEAD_LETTER_STREAM_NAME */
  deadLetterStreamName?: string;
  /** Durable consumer name: one per process manager / projection; replicas sharing it share the work. */
  durableName: string;
  /** @defaultValue DEFAULT_SUBJECT_PREFIX ('gatehouse') */
  subjectPrefix?: string;
  /**
   * Subjects to receive (see `eventFilter()`). One subject works on every
   * server; several need nats-server ≥ 2.10. @defaultValue [`<prefix>.evt.>`]
   */
  filterSubjects?: readonly string[];
  /**
   * Narrows a broader filter subject in the client: messages on event subjects outside these categories and
   * types are acked unread, before they are parsed (nats-server < 2.10 takes one filter subject per consumer,
   * so a subscription needing several gets the broader one). @defaultValue every event the filter lets through
   */
  select?: { categories?: readonly string[] | undefined; eventTypes?: readonly string[] | undefined };
  /**
   * Optional zod schema per event type: data is validated before the handler
   * runs and typed accordingly; a failure is dead-lettered as `invalid_data`.
   * Types without a schema are acked and skipped (read from the subject: unparsed).
   */
  dataSchemas?: S;
  handler: ReceivedEventHandler<S extends DataSchemas ? EventOfSchemas<S> : StoredEvent>;
  /**
   * Handler attempts before a transiently failing message is dead-lettered (a `PoisonMessageError` is
   * dead-lettered at the first). The server consumer allows one extra delivery so a message whose last
   * attempt crashed or timed out still reaches the DLQ instead of silently stopping.
   * @defaultValue DEFAULT_MAX_DELIVER (20)
   */
  maxDeliver?: number;
  /** Server redelivers an unacked message after this; a running handler extends it with progress acks. @defaultValue DEFAULT_ACK_WAIT_MS (30000) */
  ackWaitMs?: number;
  /** Delay before redelivering after a transient handler failure, by delivery count. @defaultValue `backoffDelayMs` (1 s doubling to 5 min, jittered) */
  retryDelayMs?: (deliveryCount: number) => number;
  /** Messages pulled per request. @defaultValue DEFAULT_PULL_BATCH (100) */
  pullBatch?: number;
  /** Where a new durable starts. @defaultValue 'all' */
  deliverPolicy?: 'all' | 'new';
  hooks?: ConsumerHooks;
  logger?: BusLogger;
}

export interface EventConsumer {
  /** Stops pulling, lets the handler in progress finish, and releases un-handled buffered messages for redelivery. */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects if the subscription failed (e.g. the consumer was deleted). */
  readonly done: Promise<void>;
}

const defaultRetryDelay = (deliveryCount: number): number => backoffDelayMs(deliveryCount);

/**
 * Acks of handled events, sent together once per turn of the event loop: nats.js writes to its
 * socket once per microtask checkpoint, so acks of the several consumers of a process (each event
 * reaches most of them) would otherwise cost one socket write each. Delaying an ack by one turn
 * changes nothing a consumer relies on: it is still sent before the next pull is needed and long
 * before ack_wait, and a crash before it is sent means one redelivery, as a crash before any ack.
 */
const pendingAcks: JsMsg[] = [];
let acksScheduled = false;
function ackSoon(msg: JsMsg): void {
  pendingAcks.push(msg);
  if (acksScheduled) return;
  acksScheduled = true;
  setImmediate(flushAcks);
}
/** Sends every pending ack now (also before a consumer stops, so none waits for a closed connection). */
function flushAcks(): void {
  acksScheduled = false;
  for (const msg of pendingAcks.splice(0)) {
    try {
      msg.ack();
    } catch {
      // The connection closed: the server redelivers the message after ack_wait.
    }
  }
}

/**
 * Starts a durable pull consumer on the events stream with explicit acks:
 * events are parsed and validated, handled one at a time in stream order,
 * retried with back-off (for minutes: a dependency that is down is waited for,
 * visible as consumer lag), and parked in the dead-letter stream at once when
 * they are poison (cannot be parsed, fail their schema, `PoisonMessageError`),
 * or after every retry failed, so one bad message never blocks the rest.
 */
export async function consumeEvents<S extends DataSchemas | undefined = undefined>(options: ConsumeEventsOptions<S>): Promise<EventConsumer> {
  const {
    js,
    streamName = DEFAULT_EVENT_STREAM_NAME,
    deadLetterStreamName = DEFAULT_DEAD_LETTER_STREAM_NAME,
    durableName,
    subjectPrefix = DEFAULT_SUBJECT_PREFIX,
    filterSubjects = [allEventsSubject(subjectPrefix)],
    select,
    dataSchemas,
    maxDeliver = DEFAULT_MAX_DELIVER,
    ackWaitMs = DEFAULT_ACK_WAIT_MS,
    retryDelayMs = defaultRetryDelay,
    pullBatch = DEFAULT_PULL_BATCH,
    deliverPolicy = 'all',
    hooks = {},
    logger = silentLogger,
  } = options;
  const handler = options.handler as ReceivedEventHandler;
  assertSubjectPrefix(subjectPrefix);
  if (filterSubjects.length === 0) throw new RangeError('filterSubjects must name at least one subject');
  const selected = selectedSubjects(select, dataSchemas, subjectPrefix);

  const jsm = options.jsm ?? (await js.jetstreamManager());
  const config: Partial<ConsumerConfig> & { durable_name: string } = {
    durable_name: durableName,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver + 1,
    deliver_policy: deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ...(filterSubjects.length === 1 ? { filter_subject: filterSubjects[0] } : { filter_subjects: [...filterSubjects] }),
  };
  await ensureDurable(jsm, streamName, config);

  const consumer = await js.consumers.get(streamName, durableName);
  const messages = await consumer.consume({ max_messages: pullBatch });
  // Dead letters redriven to this consumer: a durable of its own on the dead-letter stream, handled the same way.
  const redriven = await redrivenMessages();
  let stopping = false;

  async function redrivenMessages() {
    const redriveDurable = `${durableName}__redrive`;
    try {
      await ensureDurable(jsm, deadLetterStreamName, { ...config, durable_name: redriveDurable, deliver_policy: DeliverPolicy.All, filter_subject: redriveSubject(durableName, subjectPrefix), filter_subjects: undefined });
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound) {
        logger.warn({ deadLetterStreamName, durableName }, 'no dead-letter stream: dead letters cannot be redriven to this consumer');
        return null;
      }
      throw error;
    }
    return (await js.consumers.get(deadLetterStreamName, redriveDurable)).consume({ max_messages: pullBatch });
  }

  async function deadLetter(msg: JsMsg, reason: DeadLetterReason, error: unknown, eventId?: string): Promise<void> {
    // A redriven dead letter keeps the subject it was first published on.
    const originalSubject = msg.headers?.get(DeadLetterHeaders.OriginalSubject) || msg.subject;
    const [category, type] = eventTokens(originalSubject, subjectPrefix);
    const h = natsHeaders();
    h.set(DeadLetterHeaders.Reason, reason);
    h.set(DeadLetterHeaders.OriginalSubject, originalSubject);
    h.set(DeadLetterHeaders.OriginalStream, msg.info.stream);
    h.set(DeadLetterHeaders.OriginalSequence, String(msg.info.streamSequence));
    h.set(DeadLetterHeaders.DeliveryCount, String(msg.info.deliveryCount));
    h.set(DeadLetterHeaders.Consumer, durableName);
    h.set(DeadLetterHeaders.ErrorName, error instanceof Error ? error.name : typeof error);
    h.set(DeadLetterHeaders.ErrorMessage, headerSafe(error instanceof Error ? error.message : String(error)));
    if (eventId !== undefined) h.set(DeadLetterHeaders.EventId, eventId);
    // Deterministic id: parking the same delivery twice (crash before term) stores it once.
    await js.publish(deadLetterSubject(category, type, subjectPrefix), msg.data, {
      headers: h,
      msgID: `${durableName}:${msg.info.stream}:${msg.info.streamSequence}`,
    });
    // No term reason: nats-server < 2.10 ignores "+TERM <reason>" entirely and would redeliver; the DLQ headers carry it.
    msg.term();
    hooks.onDeadLetter?.({ reason, subject: msg.subject, deliveryCount: msg.info.deliveryCount, error });
    logger.warn({ ...errorFields(error), reason, subject: msg.subject, deliveryCount: msg.info.deliveryCount, durableName }, 'event dead-lettered');
  }

  async function handle(msg: JsMsg): Promise<void> {
    // Redriven dead letters arrive on the redrive subject: they were this consumer's, and are parsed.
    if (!selected(msg.subject)) return ackSoon(msg);
    const deliveryCount = msg.info.deliveryCount;
    let envelope: CloudEventEnvelope;
    let event: StoredEvent;
    try {
      envelope = decodeEnvelope(msg.data);
      event = fromEnvelope(envelope);
    } catch (error) {
      return deadLetter(msg, 'invalid_envelope', error);
    }
    if (deliveryCount > maxDeliver) {
      return deadLetter(msg, 'max_deliver_exceeded', new Error(`no handler attempt succeeded within ${maxDeliver} deliveries`), event.id);
    }
    if (dataSchemas !== undefined) {
      const schema = dataSchemas[event.type];
      if (schema === undefined) return ackSoon(msg);
      const parsed = schema.safeParse(event.data);
      if (!parsed.success) return deadLetter(msg, 'invalid_data', new InvalidEnvelopeError(`data of ${event.type} fails its schema`, parsed.error.issues), event.id);
      event = { ...event, data: parsed.data };
    }
    // Progress acks keep a slow but live handler from being redelivered to another replica.
    const keepAlive = setInterval(() => msg.working(), Math.max(1, Math.floor(ackWaitMs / 2)));
    try {
      await handler({ event, envelope, subject: msg.subject, deliveryCount, streamSequence: msg.info.streamSequence });
    } catch (error) {
      if (isPoison(error)) return deadLetter(msg, 'poison', error, event.id);
      if (deliveryCount >= maxDeliver) return deadLetter(msg, 'handler_failed', error, event.id);
      const delayMs = retryDelayMs(deliveryCount);
      msg.nak(delayMs);
      hooks.onRetry?.({ eventId: event.id, deliveryCount, delayMs, error });
      logger.warn({ ...errorFields(error), eventId: event.id, eventType: event.type, durableName, deliveryCount, delayMs }, 'event handler failed; will retry');
      return;
    } finally {
      clearInterval(keepAlive);
    }
    ackSoon(msg);
    hooks.onHandled?.({ eventId: event.id, type: event.type, deliveryCount });
  }

  async function run(source: AsyncIterable<JsMsg>): Promise<void> {
    for await (const msg of source) {
      // Buffered messages after stop(): hand them back now instead of after ack_wait.
      if (stopping) {
        msg.nak();
        continue;
      }
      try {
        await handle(msg);
      } catch (error) {
        // Dead-lettering itself failed (DLQ stream missing, NATS down): retry later rather than lose it.
        logger.error({ ...errorFields(error), subject: msg.subject }, 'could not dead-letter event; will retry');
        msg.nak(retryDelayMs(msg.info.deliveryCount));
      }
    }
  }

  // Handler runs never overlap: the redrive loop waits for the main loop's run in progress, and the other way round.
  let turn: Promise<void> = Promise.resolve();
  const oneAtATime = (source: AsyncIterable<JsMsg>): AsyncIterable<JsMsg> => ({
    async *[Symbol.asyncIterator]() {
      for await (const msg of source) {
        let release!: () => void;
        const previous = turn;
        turn = new Promise((resolve) => (release = resolve));
        await previous;
        try {
          yield msg;
        } finally {
          release();
        }
      }
    },
  });
  const done = Promise.all([run(oneAtATime(messages)), ...(redriven === null ? [] : [run(oneAtATime(redriven))])]).then(() => undefined);
  done.catch(() => undefined);
  return {
    async stop() {
      stopping = true;
      flushAcks();
      await messages.close();
      await redriven?.close();
      await done;
      // The handler that was running acked after the close.
      flushAcks();
    },
    done,
  };
}

async function ensureDurable(jsm: JetStreamManager, streamName: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  try {
    await jsm.consumers.info(streamName, config.durable_name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound) {
      await jsm.consumers.add(streamName, config);
      return;
    }
    throw error;
  }
  const { durable_name, ack_policy: _ackPolicy, deliver_policy: _deliverPolicy, ...mutable } = config;
  await jsm.consumers.update(streamName, durable_name, mutable);
}

/**
 * Which messages a consumer reads, from their subject alone: those of the selected categories and types, and of
 * the types it has a data schema for (it skips the others anyway). Everything when nothing narrows it.
 */
export function selectedSubjects(select: ConsumeEventsOptions['select'], dataSchemas: DataSchemas | undefined, prefix: string): (subject: string) => boolean {
  const schemaTypes = dataSchemas === undefined ? undefined : Object.keys(dataSchemas);
  const eventTypes = select?.eventTypes === undefined ? schemaTypes : schemaTypes === undefined ? select.eventTypes : select.eventTypes.filter((type) => schemaTypes.includes(type));
  if (select?.categories === undefined && eventTypes === undefined) return () => true;
  return eventSubjectSelector({ categories: select?.categories, eventTypes }, prefix);
}

/** [category, type] of an event subject; placeholders when a foreign message does not follow the layout. */
function eventTokens(subject: string, prefix: string): [string, string] {
  const head = `${prefix}.${EVENT_SEGMENT}.`;
  const rest = subject.startsWith(head) ? subject.slice(head.length).split('.') : [];
  return rest.length === 2 ? [rest[0]!, rest[1]!] : ['unknown', 'unknown'];
}

function headerSafe(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, ' ');
  return oneLine.length > MAX_ERROR_HEADER_LENGTH ? `${oneLine.slice(0, MAX_ERROR_HEADER_LENGTH)}…` : oneLine;
}
