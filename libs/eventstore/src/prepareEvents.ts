import { validate as isUuid } from 'uuid';
import { canonicalJson, NotJsonError } from './canonicalJson.js';
import { newEventId } from './eventId.js';
import { InvalidArgumentError } from './errors.js';
import { canonicalEventBodyFromJson } from './hashing.js';
import { ANY, NO_STREAM, STREAM_EXISTS, type EventMetadata, type ExpectedVersion, type NewEvent } from './types.js';

/** A validated event ready to be written: JSON already canonical, hash body already built. */
export interface PreparedEvent {
  id: string;
  type: string;
  /** Canonical JSON text of data / metadata: what is written to jsonb and hashed. */
  dataJson: string;
  metadataJson: string;
  /** The values as they will read back (parsed from the canonical text). */
  data: unknown;
  metadata: EventMetadata;
  /** Canonical body hashed together with the stream version and previous hash. */
  body: string;
}

export interface PreparedAppend {
  streamId: string;
  expectedVersion: ExpectedVersion;
  /** One instant for the whole append, millisecond precision so it round-trips through timestamptz and Date. */
  recordedAt: Date;
  events: PreparedEvent[];
}

/**
 * Validates an append before anything touches storage, so a bad argument can never leave a
 * partial write behind. Throws InvalidArgumentError naming the field.
 */
export function prepareAppend(
  streamId: string,
  events: readonly NewEvent[],
  expectedVersion: ExpectedVersion = ANY,
  now: Date = new Date(),
): PreparedAppend {
  if (typeof streamId !== 'string' || streamId.trim() === '') {
    throw new InvalidArgumentError('streamId', 'must be a non-empty string');
  }
  toJson(streamId, 'streamId'); // refuses NUL and unpaired surrogates, which PostgreSQL text cannot hold
  validateExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidArgumentError('events', 'append at least one event');
  }
  const recordedAt = new Date(now.getTime());
  const seenIds = new Set<string>();
  const prepared = events.map((event, index) => prepareEvent(streamId, event, index, recordedAt, seenIds));
  return { streamId, expectedVersion, recordedAt, events: prepared };
}

function validateExpectedVersion(expected: ExpectedVersion): void {
  if (expected === NO_STREAM || expected === STREAM_EXISTS || expected === ANY) return;
  if (typeof expected !== 'bigint' || expected < 0n) {
    throw new InvalidArgumentError('expectedVersion', `must be a bigint >= 0n, NO_STREAM, STREAM_EXISTS or ANY; got ${String(expected)}`);
  }
}

function prepareEvent(streamId: string, event: NewEvent, index: number, recordedAt: Date, seenIds: Set<string>): PreparedEvent {
  const field = `events[${index}]`;
  if (typeof event?.type !== 'string' || event.type.trim() === '') {
    throw new InvalidArgumentError(`${field}.type`, 'must be a non-empty string');
  }
  let id: string;
  if (event.id === undefined) {
    id = newEventId();
  } else if (typeof event.id === 'string' && isUuid(event.id)) {
    // PostgreSQL prints uuids in lower case; hashing the same spelling keeps hashes verifiable.
    id = event.id.toLowerCase();
  } else {
    throw new InvalidArgumentError(`${field}.id`, `must be a UUID; got ${JSON.stringify(event.id)}`);
  }
  if (seenIds.has(id)) throw new InvalidArgumentError(`${field}.id`, `duplicate event id ${id} in one append`);
  seenIds.add(id);

  const dataJson = toJson(event.data, `${field}.data`);
  const metadataJson = toJson(event.metadata ?? {}, `${field}.metadata`);
  const data: unknown = JSON.parse(dataJson);
  const metadata: unknown = JSON.parse(metadataJson);
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidArgumentError(`${field}.metadata`, 'must be a JSON object');
  }
  const body = canonicalEventBodyFromJson({
    id: JSON.stringify(id),
    type: toJson(event.type, `${field}.type`),
    streamId: JSON.stringify(streamId),
    recordedAt,
    dataJson,
    metadataJson,
  });
  return { id, type: event.type, dataJson, metadataJson, data, metadata: metadata as EventMetadata, body };
}

function toJson(value: unknown, field: string): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    if (error instanceof NotJsonError) throw new InvalidArgumentError(`${field}${error.path.slice(1)}`, error.reason);
    throw error;
  }
}
