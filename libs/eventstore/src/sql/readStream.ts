import type { StoredEvent } from '../types.js';
import { EVENT_COLUMNS, toStoredEvent, type EventRow } from './eventRow.js';
import type { SqlQueryable } from './executor.js';
import { IN_LOG } from './logMembership.js';

/** LIMIT NULL means no limit. Only rows of the log readAll walks (IN_LOG): a forged row is never folded into state. */
export const readStreamSql = (s: string): string =>
  `SELECT ${EVENT_COLUMNS} FROM ${s}.events
   WHERE stream_id = $1 AND stream_version >= $2 AND ${IN_LOG}
   ORDER BY stream_version
   LIMIT $3`;

export async function readStream(
  db: SqlQueryable,
  s: string,
  streamId: string,
  options: { fromVersion: bigint; maxCount?: number },
): Promise<StoredEvent[]> {
  const rows = await db.query<EventRow>(readStreamSql(s), [streamId, options.fromVersion.toString(), options.maxCount ?? null], `gatehouse_read_stream_${s}`);
  return rows.map(toStoredEvent);
}
