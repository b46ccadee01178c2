import { z } from 'zod';
import type { EventMetadata, StoredEvent } from '@gatehouse/eventstore';
import { InvalidEnvelopeError } from './errors.js';

/**
 * Events travel as CloudEvents 1.0 structured-mode JSON so tools that know
 * nothing of Gatehouse can consume them. Gatehouse facts ride in extension
 * attributes (lowercase alphanumeric names, as the spec requires). Positions
 * are decimal strings: CloudEvents integers are 32-bit and positions are bigint.
 */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const JSON_CONTENT_TYPE = 'application/json';
/** Default `source` when the publisher does not name itself. */
export const DEFAULT_EVENT_SOURCE = 'gatehouse/eventstore';

const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const decimalString = z.string().regex(/^\d+$/, 'a non-negative decimal integer string');

export const cloudEventEnvelopeSchema = z
  .object({
    specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    time: z.iso.datetime({ offset: true }),
    subject: z.string().min(1),
    datacontenttype: z.literal(JSON_CONTENT_TYPE),
    data: z.unknown(),
    /** 0-based version of the event within its stream. */
    streamversion: decimalString,
    /** Position of the event in the store's global log (commit order). */
    globalposition: decimalString,
    correlationid: z.string().optional(),
    causationid: z.string().optional(),
    actor: z.string().optional(),
    policyversion: z.string().optional(),
    /** Tamper-evidence chain, mirrored from the store so the audit side can verify from the bus. */
    eventhash: z.string().optional(),
    previoushash: z.string().optional(),
    /** Metadata keys beyond the known ones, as a JSON object string (extension values must be scalars). */
    gatehousemetadata: z.string().optional(),
  })
  // Unknown extensions from other producers are allowed by CloudEvents; keep them but check their names.
  .catchall(z.unknown())
  .superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (!EXTENSION_NAME.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'CloudEvents attribute names must be lowercase alphanumeric, at most 20 characters' });
      }
    }
  });

export type CloudEventEnvelope = z.infer<typeof cloudEventEnvelopeSchema>;

export interface ToEnvelopeOptions {
  /** CloudEvents `source`, e.g. `gatehouse/change-requests`. @defaultValue DEFAULT_EVENT_SOURCE */
  source?: string;
}

/** StoredEvent → CloudEvents envelope (the object; serialise with {@link encodeEnvelope}). */
export function toEnvelope(event: StoredEvent, { source = DEFAULT_EVENT_SOURCE }: ToEnvelopeOptions = {}): CloudEventEnvelope {
  const { correlationId, causationId, actor, policyVersion, ...rest } = event.metadata;
  const envelope: CloudEventEnvelope = {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: event.id,
    source,
    type: event.type,
    time: event.recordedAt.toISOString(),
    subject: event.streamId,
    datacontenttype: JSON_CONTENT_TYPE,
    data: event.data,
    streamversion: event.streamVersion.toString(),
    globalposition: event.globalPosition.toString(),
    eventhash: event.hash,
    previoushash: event.previousHash,
  };
  // Only strings fit the string-typed extensions; anything else stays in the JSON bag.
  const extra: Record<string, unknown> = { ...rest };
  const known = { correlationid: ['correlationId', correlationId], causationid: ['causationId', causationId], actor: ['actor', actor], policyversion: ['policyVersion', policyVersion] } as const;
  for (const [extension, [metadataKey, value]] of Object.entries(known)) {
    if (typeof value === 'string') envelope[extension] = value;
    else if (value !== undefined) extra[metadataKey] = value;
  }
  if (Object.keys(extra).length > 0) envelope.gatehousemetadata = JSON.stringify(extra);
  return envelope;
}

/** Envelope → StoredEvent, the inverse of {@link toEnvelope}. */
export function fromEnvelope<Type extends string = string, Data = unknown>(envelope: CloudEventEnvelope): StoredEvent<Type, Data> {
  const metadata: EventMetadata = envelope.gatehousemetadata === undefined ? {} : parseMetadataBag(envelope.gatehousemetadata);
  if (envelope.correlationid !== undefined) metadata.correlationId = envelope.correlationid;
  if (envelope.causationid !== undefined) metadata.causationId = envelope.causationid;
  if (envelope.actor !== undefined) metadata.actor = envelope.actor;
  if (envelope.policyversion !== undefined) metadata.policyVersion = envelope.policyversion;
  return {
    id: envelope.id,
    type: envelope.type as Type,
    streamId: envelope.subject,
    streamVersion: BigInt(envelope.streamversion),
    globalPosition: BigInt(envelope.globalposition),
    recordedAt: new Date(envelope.time),
    data: envelope.data as Data,
    metadata,
    hash: envelope.eventhash ?? '',
    previousHash: envelope.previoushash ?? '',
  };
}

function parseMetadataBag(json: string): EventMetadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new InvalidEnvelopeError('gatehousemetadata is not valid JSON', (error as Error).message);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidEnvelopeError('gatehousemetadata must be a JSON object');
  }
  return parsed as EventMetadata;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeEnvelope(envelope: CloudEventEnvelope): Uint8Array {
  return encoder.encode(JSON.stringify(envelope));
}

/**
 * Bytes → validated envelope. Throws {@link InvalidEnvelopeError} with the
 * reason (not UTF-8, not JSON, or which attributes are wrong).
 */
export function decodeEnvelope(bytes: Uint8Array): CloudEventEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw new InvalidEnvelopeError('payload is not UTF-8 JSON', (error as Error).message);
  }
  return parseEnvelope(json);
}

/** Unknown value → validated envelope; throws {@link InvalidEnvelopeError} listing the failing attributes. */
export function parseEnvelope(value: unknown): CloudEventEnvelope {
  const result = cloudEventEnvelopeSchema.safeParse(value);
  if (!result.success) {
    const summary = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new InvalidEnvelopeError(summary, result.error.issues);
  }
  if (result.data.gatehousemetadata !== undefined) parseMetadataBag(result.data.gatehousemetadata);
  return result.data;
}
