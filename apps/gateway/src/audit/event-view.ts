import type { StoredEvent } from '@gatehouse/eventstore';

/** A stored event as JSON: positions as strings, since they are 64-bit. */
export interface EventView {
  id: string;
  type: string;
  streamId: string;
  streamVersion: string;
  globalPosition: string;
  recordedAt: string;
  data: unknown;
  metadata: Record<string, unknown>;
  hash: string;
  previousHash: string;
}

export function toEventView(event: StoredEvent): EventView {
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    streamVersion: event.streamVersion.toString(),
    globalPosition: event.globalPosition.toString(),
    recordedAt: event.recordedAt.toISOString(),
    data: event.data,
    metadata: event.metadata,
    hash: event.hash,
    previousHash: event.previousHash,
  };
}
