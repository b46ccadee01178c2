/**
 * The auditors' reports read the log as plain records, whatever it came from: the store's events
 * (positions as bigints, dates as Dates) or an export / `/api/events` page (strings). Time is
 * governance time — the injectable clock's `metadata.occurredAt` — and recordedAt only for events
 * written before it was recorded, so a history made under a moved clock reads as it happened.
 */

/** What a report needs of one event. */
export interface AuditEvent {
  readonly type: string;
  readonly streamId: string;
  readonly globalPosition: bigint;
  /** Governance time (ms since epoch). */
  readonly at: number;
  readonly actor: string | null;
  readonly policyVersion: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

/** An event as the store returns it or as JSON carries it. */
export interface LoggedEvent {
  type: string;
  streamId: string;
  globalPosition: bigint | string;
  recordedAt: Date | string;
  data: unknown;
  metadata: Readonly<Record<string, unknown>>;
}

export function toAuditEvent(event: LoggedEvent): AuditEvent {
  const occurredAt = event.metadata['occurredAt'];
  const at = typeof occurredAt === 'string' ? Date.parse(occurredAt) : new Date(event.recordedAt).getTime();
  const actor = event.metadata['actor'];
  const policyVersion = event.metadata['policyVersion'];
  return {
    type: event.type,
    streamId: event.streamId,
    globalPosition: BigInt(event.globalPosition),
    at,
    actor: typeof actor === 'string' ? actor : null,
    policyVersion: typeof policyVersion === 'string' ? policyVersion : null,
    data: event.data !== null && typeof event.data === 'object' ? (event.data as Record<string, unknown>) : {},
  };
}

/** A half-open period [from, to) of governance time. */
export interface Period {
  from: Date;
  to: Date;
}

export const inPeriod = (at: number, period: Period): boolean => at >= period.from.getTime() && at < period.to.getTime();

/** A moment of the log: a global position, or a governance instant. */
export type LogMoment = { position: bigint } | { at: Date };

export const happenedBy = (event: AuditEvent, moment: LogMoment): boolean =>
  'position' in moment ? event.globalPosition <= moment.position : event.at <= moment.at.getTime();

/** The category of a stream id (`deployment-abc` → `deployment`) and its id. */
export function splitStreamId(streamId: string): { category: string; id: string } {
  const dash = streamId.indexOf('-');
  return dash < 0 ? { category: streamId, id: '' } : { category: streamId.slice(0, dash), id: streamId.slice(dash + 1) };
}

export const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
export const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
