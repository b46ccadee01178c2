/**
 * A change's history, read from the log when asked for: every event of the change's streams
 * (`<category>-<changeRequestId>` for each of CHANGE_STREAM_CATEGORIES), in log position order.
 *
 * The log already is this history, and a copy of it in the read models (every event's data once more, in
 * memory and in a table) was most of what a rebuild wrote and most of what a start loaded; a change's
 * streams are read by their index in a few milliseconds, through the store's own stream reads, so only rows
 * of the verified log are ever shown.
 */
import type { HistoryEntry } from '@gatehouse/contracts';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';

/** Streams whose id is `<category>-<changeRequestId>`: together they are one change's history. */
export const CHANGE_STREAM_CATEGORIES = ['changeRequest', 'approval', 'schedule', 'deployment', 'watch'] as const;
/** Events shown in a change's history without their data (they can be large and are in the log). */
const SUMMARISED_IN_HISTORY = new Set(['MetricSamplesRecorded']);

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The change's history: its streams' events in log position order; empty for a change the log does not know. */
export async function readChangeHistory(store: Pick<EventStore, 'readStream'>, changeRequestId: string): Promise<HistoryEntry[]> {
  const streams = await Promise.all(CHANGE_STREAM_CATEGORIES.map((category) => store.readStream(`${category}-${changeRequestId}`)));
  return streams
    .flat()
    .sort((a, b) => (a.globalPosition < b.globalPosition ? -1 : a.globalPosition > b.globalPosition ? 1 : 0))
    .map(historyEntryOf);
}

export function historyEntryOf(event: StoredEvent): HistoryEntry {
  const data = (event.data ?? {}) as Record<string, unknown>;
  return {
    position: String(event.globalPosition),
    streamId: event.streamId,
    type: event.type,
    recordedAt: event.recordedAt.toISOString(),
    actor: str(event.metadata.actor),
    reason: str(data.reason),
    data: SUMMARISED_IN_HISTORY.has(event.type) ? { samples: Array.isArray(data.samples) ? data.samples.length : 0 } : data,
  };
}
