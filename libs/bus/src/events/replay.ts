import { randomUUID } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import { decodeEnvelope, fromEnvelope, toEnvelope, type CloudEventEnvelope, type ToEnvelopeOptions } from '../envelope.js';
import { InvalidEnvelopeError } from '../errors.js';
import { errorFields, silentLogger, type BusLogger } from '../logger.js';
import { DEFAULT_EVENT_STREAM_NAME } from '../stream.js';
import { REACTION_LEDGER_CATEGORY } from './store-ledger.js';
import { DEFAULT_SUBJECT_PREFIX, allEventsSubject, assertSubjectPrefix, categoryOf, eventSubjectFor } from '../subjects.js';
import { DEFAULT_PULL_BATCH, selectedSubjects, type ConsumeEventsOptions, type ConsumerHooks, type DataSchemas, type DeadLetterReason, type EventConsumer, type ReceivedEventHandler } from './consumer.js';

/** Attempts of a replay handler before the event is reported and skipped: replays rebuild read models, they do not wait for dependencies. */
export const DEFAULT_REPLAY_MAX_DELIVER = 5;

/**
 * Replay consumers: every matching event from the beginning of the log, then live, with NO durable
 * state — no JetStream durable, no store checkpoint. Meant for in-memory read models that are rebuilt
 * at every start; a restart simply replays again, and stop() leaves nothing behind.
 *
 * There is no redelivery and no dead-letter stream: a failing handler is retried in place (JetStream:
 * with back-off) up to `maxDeliver` attempts, then the event is reported (`hooks.onDeadLetter`, logger) and skipped, as
 * in the in-process consumer. Reactions that must survive a crash belong on a durable consumer.
 */

/** Delay between polls of the store once a replay has caught up. */
export const DEFAULT_REPLAY_POLL_INTERVAL_MS = 100;
/** Server-side safety net: an ephemeral consumer whose client vanished (crash) is removed after this. */
export const REPLAY_INACTIVE_THRESHOLD_MS = 60_000;

interface DeliverOptions {
  /** Label for logs and dead-letter reports. */
  name: string;
  dataSchemas: DataSchemas | undefined;
  handler: ReceivedEventHandler;
  maxDeliver: number;
  retryDelayMs: (deliveryCount: number) => number;
  hooks: ConsumerHooks;
  logger: BusLogger;
}

/** Validates, then hands one event to the handler with in-place retries; never throws for a bad event. */
async function deliverInline(stored: StoredEvent, envelope: CloudEventEnvelope, subject: string, streamSequence: number, options: DeliverOptions): Promise<void> {
  const { name, dataSchemas, handler, maxDeliver, retryDelayMs, hooks, logger } = options;
  const report = (reason: DeadLetterReason, deliveryCount: number, error: unknown): void => {
    hooks.onDeadLetter?.({ reason, subject, deliveryCount, error });
    logger.error({ ...errorFields(error), reason, subject, eventId: stored.id, deliveryCount, consumer: name }, 'replayed event skipped after failed handling');
  };
  let event = stored;
  if (dataSchemas !== undefined) {
    const schema = dataSchemas[stored.type];
    if (schema === undefined) return;
    const parsed = schema.safeParse(stored.data);
    if (!parsed.success) return report('invalid_data', 1, new InvalidEnvelopeError(`data of ${stored.type} fails its schema`, parsed.error.issues));
    event = { ...stored, data: parsed.data };
  }
  for (let deliveryCount = 1; ; deliveryCount += 1) {
    try {
      await handler({ event, envelope, subject, deliveryCount, streamSequence });
      hooks.onHandled?.({ eventId: stored.id, type: stored.type, deliveryCount });
      return;
    } catch (error) {
      if (deliveryCount >= maxDeliver) return report('handler_failed', deliveryCount, error);
      const delayMs = retryDelayMs(deliveryCount);
      hooks.onRetry?.({ eventId: stored.id, deliveryCount, delayMs, error });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

export interface ReplayStoreEventsOptions extends ToEnvelopeOptions {
  store: EventStore;
  name: string;
  categories?: readonly string[];
  eventTypes?: readonly string[];
  dataSchemas?: DataSchemas;
  handler: ReceivedEventHandler;
  subjectPrefix?: string;
  /** @defaultValue DEFAULT_REPLAY_MAX_DELIVER (5) */
  maxDeliver?: number;
  /** Pause before retrying a failed handler, by attempt. @defaultValue none (like the in-process durable consumer) */
  retryDelayMs?: (deliveryCount: number) => number;
  /** @defaultValue DEFAULT_REPLAY_POLL_INTERVAL_MS (100) */
  pollIntervalMs?: number;
  hooks?: ConsumerHooks;
  logger?: BusLogger;
}

/** In process: reads the store from position 0 (readAll, gap-safe), then polls for more; stores no checkpoint. */
export function replayStoreEvents({
  store,
  name,
  categories,
  eventTypes,
  dataSchemas,
  handler,
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  maxDeliver = DEFAULT_REPLAY_MAX_DELIVER,
  retryDelayMs = () => 0,
  pollIntervalMs = DEFAULT_REPLAY_POLL_INTERVAL_MS,
  hooks = {},
  logger = silentLogger,
  ...envelopeOptions
}: ReplayStoreEventsOptions): EventConsumer {
  const categorySet = categories === undefined ? undefined : new Set(categories);
  const typeSet = eventTypes === undefined ? undefined : new Set(eventTypes);
  const deliver: DeliverOptions = { name, dataSchemas, handler, maxDeliver, retryDelayMs, hooks, logger };
  let stopping = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = finish;
    });

  async function run(): Promise<void> {
    let after = 0n;
    while (!stopping) {
      for await (const stored of store.readAll({ after, ...(typeSet !== undefined ? { eventTypes: [...typeSet] } : {}) })) {
        if (stopping) return;
        after = stored.globalPosition;
        // The consumers' ledger (embedded dead letters and set-aside events) only for a subscription that names it.
        if (categorySet === undefined && categoryOf(stored.streamId) === REACTION_LEDGER_CATEGORY) continue;
        if (categorySet !== undefined && !categorySet.has(categoryOf(stored.streamId))) continue;
        if (typeSet !== undefined && !typeSet.has(stored.type)) continue;
        const subject = eventSubjectFor(stored.streamId, stored.type, subjectPrefix);
        await deliverInline(stored, toEnvelope(stored, envelopeOptions), subject, Number(stored.globalPosition), deliver);
      }
      if (!stopping) await sleep(pollIntervalMs);
    }
  }

  const done = run();
  done.catch(() => undefined);
  return {
    async stop() {
      stopping = true;
      wake?.();
      await done.catch(() => undefined);
    },
    done,
  };
}

export interface ReplayJetStreamEventsOptions {
  js: JetStreamClient;
  /** @defaultValue DEFAULT_EVENT_STREAM_NAME */
  streamName?: string;
  /** Label; the server consumer is named `<name>_<random>_<n>` so concurrent replays never share one. */
  name: string;
  /** @defaultValue DEFAULT_SUBJECT_PREFIX */
  subjectPrefix?: string;
  /** See `consumeEvents`; several need nats-server ≥ 2.10. @defaultValue [`<prefix>.evt.>`] */
  filterSubjects?: readonly string[];
  /** See `consumeEvents`: narrows a broader filter subject in the client, before messages are parsed. */
  select?: ConsumeEventsOptions['select'];
  dataSchemas?: DataSchemas;
  handler: ReceivedEventHandler;
  /** @defaultValue DEFAULT_REPLAY_MAX_DELIVER (5) */
  maxDeliver?: number;
  /** Pause before retrying a failed handler, by attempt. @defaultValue 200 ms doubling (≈3 s over 5 attempts) */
  retryDelayMs?: (deliveryCount: number) => number;
  /** @defaultValue DEFAULT_PULL_BATCH (100) */
  pullBatch?: number;
  hooks?: ConsumerHooks;
  logger?: BusLogger;
}

/**
 * On JetStream: an ordered consumer (ephemeral, in memory, no acks) from the first message of the
 * stream. stop() deletes it on the server; if the process dies instead, the server removes it after
 * REPLAY_INACTIVE_THRESHOLD_MS of inactivity.
 */
export async function replayJetStreamEvents({
  js,
  streamName = DEFAULT_EVENT_STREAM_NAME,
  name,
  subjectPrefix = DEFAULT_SUBJECT_PREFIX,
  filterSubjects = [allEventsSubject(subjectPrefix)],
  select,
  dataSchemas,
  handler,
  maxDeliver = DEFAULT_REPLAY_MAX_DELIVER,
  retryDelayMs = (deliveryCount) => Math.min(200 * 2 ** (deliveryCount - 1), 30_000),
  pullBatch = DEFAULT_PULL_BATCH,
  hooks = {},
  logger = silentLogger,
}: ReplayJetStreamEventsOptions): Promise<EventConsumer> {
  assertSubjectPrefix(subjectPrefix);
  if (filterSubjects.length === 0) throw new RangeError('filterSubjects must name at least one subject');
  const deliver: DeliverOptions = { name, dataSchemas, handler, maxDeliver, retryDelayMs, hooks, logger };
  const selected = selectedSubjects(select, dataSchemas, subjectPrefix);
  const namePrefix = `${name.replace(/[^A-Za-z0-9_-]/g, '_')}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const consumer = await js.consumers.get(streamName, {
    name_prefix: namePrefix,
    // One subject as `filter_subject`, which nats-server < 2.10 understands too.
    filter_subjects: filterSubjects.length === 1 ? filterSubjects[0]! : [...filterSubjects],
    inactive_threshold: REPLAY_INACTIVE_THRESHOLD_MS,
  });
  const messages = await consumer.consume({ max_messages: pullBatch });
  let stopping = false;

  async function run(): Promise<void> {
    for await (const msg of messages) {
      if (stopping) break;
      if (!selected(msg.subject)) continue;
      let envelope: CloudEventEnvelope;
      let event: StoredEvent;
      try {
        envelope = decodeEnvelope(msg.data);
        event = fromEnvelope(envelope);
      } catch (error) {
        hooks.onDeadLetter?.({ reason: 'invalid_envelope', subject: msg.subject, deliveryCount: 1, error });
        logger.error({ ...errorFields(error), subject: msg.subject, consumer: name }, 'replayed message skipped: not an event envelope');
        continue;
      }
      await deliverInline(event, envelope, msg.subject, msg.info.streamSequence, deliver);
    }
  }

  const done = run();
  done.catch(() => undefined);
  return {
    async stop() {
      stopping = true;
      await messages.close();
      await done.catch(() => undefined);
      // Removes the current server consumer (the client may have recreated it under a new serial).
      await consumer.delete().catch((error: unknown) => logger.debug({ ...errorFields(error), consumer: name }, 'replay consumer already gone'));
    },
    done,
  };
}
