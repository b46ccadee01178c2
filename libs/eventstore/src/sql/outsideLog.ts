import type { StoredEvent } from '../types.js';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './eventRow.js';
import type { SqlQueryable } from './executor.js';
import { OUTSIDE_LOG } from './logMembership.js';

/** Rows no reader returns (see logMembership.ts): only forgery puts them there. */
export const readEventsOutsideLogSql = (s: string): string =>
  `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE ${OUTSIDE_LOG} ORDER BY global_position LIMIT $1`;

export async function readEventsOutsideLog(db: SqlQueryable, s: string, limit: number): Promise<StoredEvent[]> {
  const rows = await db.query<EventRow>(readEventsOutsideLogSql(s), [limit]);
  return rows.map(toStoredEvent);
}
