import { createHash } from 'node:crypto';

/** Previous hash of the first event of a stream, and the seed of the global seal chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Separator between hash-input fields; never appears in a hex hash or a decimal version. */
const FIELD_SEPARATOR = '|';

/** The immutable content of an event that its hash covers, except its chain links. */
export interface HashedEventContent {
  id: string;
  type: string;
  streamId: string;
  recordedAt: Date;
  data: unknown;
  metadata: unknown;
}

/**
 * Canonical body of an event: everything hashed except the stream version and previous hash.
 * Kept separate because the SQL adapters finish the hash inside PostgreSQL (where the
 * version and previous hash are known) from exactly this string.
 */
export function canonicalEventBody(event: HashedEventContent, canonical: (value: unknown) => string): string {
  return canonicalEventBodyFromJson({
    id: canonical(event.id),
    type: canonical(event.type),
    streamId: canonical(event.streamId),
    recordedAt: event.recordedAt,
    dataJson: canonical(event.data),
    metadataJson: canonical(event.metadata),
  });
}

/**
 * The same body assembled from already-canonical JSON pieces, so an append serialises its
 * data once. Members in canonical (sorted) key order: data, id, metadata, recordedAt, streamId, type.
 */
export function canonicalEventBodyFromJson(pieces: {
  id: string;
  type: string;
  streamId: string;
  recordedAt: Date;
  dataJson: string;
  metadataJson: string;
}): string {
  return `{"data":${pieces.dataJson},"id":${pieces.id},"metadata":${pieces.metadataJson},"recordedAt":"${pieces.recordedAt.toISOString()}","streamId":${pieces.streamId},"type":${pieces.type}}`;
}

/** Same formula as the SQL append: sha256(previousHash | streamVersion | body), hex. */
export function eventHash(previousHash: string, streamVersion: bigint, body: string): string {
  return sha256Hex(`${previousHash}${FIELD_SEPARATOR}${streamVersion}${FIELD_SEPARATOR}${body}`);
}

/** One link of the global seal chain: chain_n = sha256(chain_{n-1} | event.hash | globalPosition). */
export function nextChainHash(previousChainHash: string, eventHashHex: string, globalPosition: bigint): string {
  return sha256Hex(`${previousChainHash}${FIELD_SEPARATOR}${eventHashHex}${FIELD_SEPARATOR}${globalPosition}`);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
