import type { EventStore, StoredEvent } from '@gatehouse/eventstore';

/** One event of a change's story, with what an auditor asks of it: when, who, under which policy, why. */
export interface StoryEvent {
  /** Leaf index in the log tree (commit order): what `gatehouse audit verify-inclusion` proves. */
  leafIndex: number;
  globalPosition: string;
  streamId: string;
  streamVersion: string;
  type: string;
  /** Governance time it happened at (the injectable clock); absent on events written before it was recorded. */
  occurredAt: string | null;
  recordedAt: string;
  actor: string | null;
  policyVersion: string | null;
  correlationId: string | null;
  data: unknown;
}

export interface ChangeStory {
  changeRequestId: string;
  /** Every stream the story draws on, in the order they first appear. */
  streams: string[];
  events: StoryEvent[];
}

/** True when `value` holds `id` as a string anywhere (the change id in an event's data, at any depth). */
function mentions(value: unknown, id: string): boolean {
  if (value === id) return true;
  if (Array.isArray(value)) return value.some((item) => mentions(item, id));
  if (value !== null && typeof value === 'object') return Object.values(value).some((item) => mentions(item, id));
  return false;
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The whole story of a change across all its streams: every stream named after the change or
 * holding an event that mentions it (release, approvals, schedule, timers, deployment, watch,
 * rollback, hotfix), plus the streams of its release, each told in full in commit order. Two
 * passes over the log: streams begin before the event that ties them to the change.
 */
export async function changeStory(store: EventStore, changeRequestId: string): Promise<ChangeStory | undefined> {
  const involved = new Set<string>();
  const releaseIds = new Set<string>();
  for await (const event of store.readAll()) {
    if (event.streamId.endsWith(`-${changeRequestId}`) || mentions(event.data, changeRequestId)) {
      involved.add(event.streamId);
      const releaseId = (event.data as { releaseId?: unknown } | null)?.releaseId;
      if (event.type === 'ChangeRequestSubmitted' && typeof releaseId === 'string') releaseIds.add(releaseId);
    }
  }
  if (involved.size === 0) return undefined;
  const inStory = (event: StoredEvent): boolean => involved.has(event.streamId) || [...releaseIds].some((releaseId) => event.streamId.includes(releaseId));
  const streams: string[] = [];
  const events: StoryEvent[] = [];
  let leafIndex = 0;
  for await (const event of store.readAll()) {
    if (inStory(event)) {
      if (!streams.includes(event.streamId)) streams.push(event.streamId);
      events.push({
        leafIndex,
        globalPosition: event.globalPosition.toString(),
        streamId: event.streamId,
        streamVersion: event.streamVersion.toString(),
        type: event.type,
        occurredAt: stringOrNull(event.metadata.occurredAt),
        recordedAt: event.recordedAt.toISOString(),
        actor: stringOrNull(event.metadata.actor),
        policyVersion: stringOrNull(event.metadata.policyVersion),
        correlationId: stringOrNull(event.metadata.correlationId),
        data: event.data,
      });
    }
    leafIndex += 1;
  }
  return { changeRequestId, streams, events };
}
