import {
  type ApprovalEvent,
  type ApprovalState,
  approvalDecider,
  type ChangeRequestEvent,
  type ChangeRequestState,
  changeRequestDecider,
} from '@gatehouse/domain';
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

/** A moment of the story: a global position, or a governance instant (occurredAt, else recordedAt). */
export type AsOf = { position: bigint } | { at: Date };

/** The change as its own deciders saw it at the end of the story (or at `asOf`). */
export interface ChangeStateView {
  status: string;
  window: { start: string; end: string } | null;
  outcome: string | null;
  approval: { status: string; grants: { role: string; approver: string; grantedAt: string }[] } | null;
  /** The last policy version recorded on the story's events. */
  policyVersion: string | null;
}

export interface ChangeStory {
  changeRequestId: string;
  /** Set when the story was asked as of a moment: only what had happened by then. */
  asOf: { position: string } | { at: string } | null;
  state: ChangeStateView;
  /** Every stream the story draws on, in the order they first appear. */
  streams: string[];
  events: StoryEvent[];
}

/** True when `value` holds `id` as a string anywhere (the change id in an event's data, at any depth). */
export function mentions(value: unknown, id: string): boolean {
  if (value === id) return true;
  if (Array.isArray(value)) return value.some((item) => mentions(item, id));
  if (value !== null && typeof value === 'object') return Object.values(value).some((item) => mentions(item, id));
  return false;
}

/** Every string value held under `key` in `value`, at any depth. */
function valuesOf(value: unknown, key: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => valuesOf(item, key));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === key && typeof v === 'string' ? [v] : valuesOf(v, key)));
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The whole story of a change across all its streams: every stream named after the change or
 * holding an event that mentions it (release, approvals, schedule, timers, deployment, watch,
 * rollback, hotfix), plus the streams of its release, each told in full in commit order. Two
 * passes over the log: streams begin before the event that ties them to the change.
 */
export async function changeStory(store: EventStore, changeRequestId: string, asOf?: AsOf): Promise<ChangeStory | undefined> {
  const happenedBy = (event: StoredEvent): boolean => {
    if (asOf === undefined) return true;
    if ('position' in asOf) return event.globalPosition <= asOf.position;
    const occurredAt = typeof event.metadata.occurredAt === 'string' ? Date.parse(event.metadata.occurredAt) : event.recordedAt.getTime();
    return occurredAt <= asOf.at.getTime();
  };
  const involved = new Set<string>();
  const releaseIds = new Set<string>();
  for await (const event of store.readAll()) {
    if (!happenedBy(event)) continue;
    if (event.streamId.endsWith(`-${changeRequestId}`) || mentions(event.data, changeRequestId)) {
      involved.add(event.streamId);
      if (event.type === 'ChangeRequestSubmitted') for (const releaseId of valuesOf(event.data, 'releaseId')) releaseIds.add(releaseId);
    }
  }
  if (involved.size === 0) return undefined;
  const inStory = (event: StoredEvent): boolean => involved.has(event.streamId) || [...releaseIds].some((releaseId) => event.streamId.includes(releaseId));
  const streams: string[] = [];
  const events: StoryEvent[] = [];
  let change: ChangeRequestState = changeRequestDecider.initialState();
  let approval: ApprovalState = approvalDecider.initialState();
  let policyVersion: string | null = null;
  let leafIndex = 0;
  for await (const event of store.readAll()) {
    if (inStory(event) && happenedBy(event)) {
      if (event.streamId === `changeRequest-${changeRequestId}`) change = changeRequestDecider.evolve(change, event as unknown as ChangeRequestEvent);
      // The change learns its approval id only once approved: its approval is the approval stream in its story.
      if (event.streamId.startsWith('approval-')) approval = approvalDecider.evolve(approval, event as unknown as ApprovalEvent);
      policyVersion = stringOrNull(event.metadata.policyVersion) ?? policyVersion;
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
  return {
    changeRequestId,
    asOf: asOf === undefined ? null : 'position' in asOf ? { position: asOf.position.toString() } : { at: asOf.at.toISOString() },
    state: {
      status: change.status,
      window: change.status === 'not_submitted' ? null : change.window,
      outcome: change.status === 'not_submitted' ? null : change.outcome,
      approval:
        approval.status === 'not_requested'
          ? null
          : { status: approval.status, grants: approval.grants.map(({ role, approver, grantedAt }) => ({ role, approver, grantedAt })) },
      policyVersion,
    },
    streams,
    events,
  };
}
