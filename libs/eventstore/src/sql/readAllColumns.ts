import type { SqlAccess } from '../types.js';
import { LOG_START, type LogCursor } from '../storage.js';
import { cursorAfter, readPageSql } from './readAll.js';
import { EVENT_COLUMNS } from './eventRow.js';
import { quoteSchema } from './schema.js';

/**
 * The log in commit order as raw rows of chosen columns, page by page, for readers that want less than a
 * StoredEvent (the Merkle tree: positions and hashes) or want the stored JSON as text (the replay export
 * writes it out as it is, with no parse and no re-stringify). The same gap-safe page query as readAll, only
 * the select list differs. `columns` must start with `transaction_id, global_position` (the cursor).
 */
export interface ReadAllColumnsOptions {
  /** Exclusive global position to start after. @defaultValue the log's start */
  after?: bigint | undefined;
  untilPosition?: bigint | undefined;
  eventTypes?: readonly string[] | undefined;
  /** Rows per page; the next page is read while the caller handles this one. */
  batchSize: number;
}

const CURSOR_COLUMNS = 'transaction_id, global_position';

export async function* readAllColumns(sql: SqlAccess, columns: string, { after, untilPosition, eventTypes, batchSize }: ReadAllColumnsOptions): AsyncGenerator<unknown[][]> {
  if (!columns.startsWith(CURSOR_COLUMNS)) throw new Error(`readAllColumns: columns must start with "${CURSOR_COLUMNS}"`);
  const s = quoteSchema(sql.schema);
  const text = readPageSql(s).replace(EVENT_COLUMNS, columns);
  const page = (cursor: LogCursor): Promise<unknown[][]> =>
    sql.executor.queryArrays(text, [cursor.transactionId, cursor.position.toString(), batchSize, untilPosition?.toString() ?? null, null, eventTypes === undefined ? null : [...eventTypes]]);
  const track = (pending: Promise<unknown[][]>): Promise<unknown[][]> => {
    pending.catch(() => undefined);
    return pending;
  };
  let pending = track(page(after === undefined || after === 0n ? LOG_START : await cursorAfter(sql.executor, s, after)));
  for (;;) {
    const rows = await pending;
    const last = rows[rows.length - 1];
    if (last !== undefined && rows.length === batchSize) pending = track(page({ transactionId: String(last[0]), position: BigInt(last[1] as string) }));
    if (rows.length > 0) yield rows;
    if (rows.length < batchSize) return;
  }
}
