import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { DEFAULT_SUBJECT_PREFIX, allDeadLettersSubject, allEventsSubject } from './subjects.js';

export const DEFAULT_EVENT_STREAM_NAME = 'GATEHOUSE_EVENTS';
export const DEFAULT_DEAD_LETTER_STREAM_NAME = 'GATEHOUSE_DLQ';
/**
 * Two hours: the relay may re-publish everything after its last stored
 * checkpoint when it restarts, and JetStream only drops those duplicates while
 * their Nats-Msg-Id is inside this window. It must exceed the longest relay
 * outage after which we still expect exactly-once storage; beyond it, consumers'
 * own idempotency (event ids) absorbs the duplicates.
 */
export const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60 * 60 * 1000;

export interface EnsureEventStreamOptions {
  /** Subject prefix shared by every Gatehouse subject. @defaultValue DEFAULT_SUBJECT_PREFIX ('gatehouse') */
  subjectPrefix?: string;
  /** Name of the all-events stream (captures `<prefix>.evt.>`). @defaultValue DEFAULT_EVENT_STREAM_NAME */
  streamName?: string;
  /** Name of the dead-letter stream (captures `<prefix>.dlq.>`). @defaultValue DEFAULT_DEAD_LETTER_STREAM_NAME */
  deadLetterStreamName?: string;
  /** Dedupe window for Nats-Msg-Id on the events stream. @defaultValue DEFAULT_DUPLICATE_WINDOW_MS (2 h) */
  duplicateWindowMs?: number;
  /** Replicas in a clustered deployment; 1 on a single server. @defaultValue 1 */
  replicas?: number;
}

export interface EventStreams {
  events: StreamInfo;
  deadLetters: StreamInfo;
}

/**
 * Creates the all-events and dead-letter streams, or updates their mutable
 * settings when they exist (idempotent; safe to call from every replica at start).
 * File storage and limits retention: the events stream is the durable fan-out
 * log replayed by projections, not a work queue.
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  {
    subjectPrefix = DEFAULT_SUBJECT_PREFIX,
    streamName = DEFAULT_EVENT_STREAM_NAME,
    deadLetterStreamName = DEFAULT_DEAD_LETTER_STREAM_NAME,
    duplicateWindowMs = DEFAULT_DUPLICATE_WINDOW_MS,
    replicas = 1,
  }: EnsureEventStreamOptions = {},
): Promise<EventStreams> {
  const events = await addOrUpdate(jsm, {
    name: streamName,
    subjects: [allEventsSubject(subjectPrefix)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    duplicate_window: nanos(duplicateWindowMs),
    num_replicas: replicas,
    description: 'Gatehouse: every stored event, in commit order (published by the outbox relay)',
  });
  const deadLetters = await addOrUpdate(jsm, {
    name: deadLetterStreamName,
    subjects: [allDeadLettersSubject(subjectPrefix)],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: replicas,
    description: 'Gatehouse: events a consumer could not process, with the reason in headers',
  });
  return { events, deadLetters };
}

/** JetStream API error: a stream with this name exists (another replica created it first). */
const STREAM_NAME_IN_USE = 10058;

async function addOrUpdate(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<StreamInfo> {
  try {
    await jsm.streams.info(config.name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      return await jsm.streams.add(config);
    } catch (addError) {
      // Lost a creation race with another replica: fall through to update.
      if (!(addError instanceof JetStreamApiError && addError.code === STREAM_NAME_IN_USE)) throw addError;
    }
  }
  // storage and retention are immutable; update only sends what may change.
  const { name, storage: _storage, retention: _retention, ...mutable } = config;
  return jsm.streams.update(name, mutable);
}
