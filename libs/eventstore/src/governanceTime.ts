import type { AuditableEventStore, NewEvent } from './types.js';

/**
 * The store with every appended event stamped with the governance time at which it happened —
 * `metadata.occurredAt`, read from the injectable clock that every rule reads — next to the wall
 * clock `recordedAt` the store keeps. A demo or test that moves the clock thus leaves a history
 * whose times match what happened. An event that already carries `occurredAt` keeps it.
 */
export function withGovernanceTime(store: AuditableEventStore, now: () => Date): AuditableEventStore {
  const stamp = (event: NewEvent): NewEvent =>
    event.metadata?.occurredAt !== undefined ? event : { ...event, metadata: { ...event.metadata, occurredAt: now().toISOString() } };
  return {
    ...store,
    appendToStream: (streamId, events, options) => store.appendToStream(streamId, events.map(stamp), options),
  };
}
