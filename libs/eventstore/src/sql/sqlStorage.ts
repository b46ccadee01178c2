import type { AppendSignal } from '../appendSignal.js';
import type { EventLogStorage, LogCursor } from '../storage.js';
import { appendToStream } from './appendToStream.js';
import { readCheckpoint, storeCheckpoint } from './checkpoints.js';
import type { SqlExecutor } from './executor.js';
import { migrate } from './migrations.js';
import { cursorAfter, readPage } from './readAll.js';
import { readStream } from './readStream.js';
import { quoteSchema } from './schema.js';
import { StreamHeads } from './streamHeads.js';
import { readEventsOutsideLog } from './outsideLog.js';
import { readSealedEvents, readSeals, recordSeal } from './seals.js';

/**
 * Storage shared by the PostgreSQL and PGlite adapters: same schema, same SQL. `signal` wakes
 * watchers after appends: how depends on where the other processes, if any, are.
 */
export function sqlStorage(executor: SqlExecutor, schema: string, signal: AppendSignal): EventLogStorage {
  const s = quoteSchema(schema);
  const heads = new StreamHeads();
  const cursors = new KnownCursors();
  return {
    sql: { executor, schema },
    migrate: () => migrate(executor, schema, s),
    async append(append) {
      const result = await appendToStream(executor, s, append, heads);
      await signal.appended();
      return result;
    },
    async readStream(streamId, options) {
      const events = await readStream(executor, s, streamId, options);
      // What a command handler reads is what it appends after: remember the head it saw.
      const last = events[events.length - 1];
      if (last !== undefined) heads.saw(streamId, last.streamVersion, last.hash);
      return events;
    },
    async readPage(after, options) {
      const page = await readPage(executor, s, after, options);
      if (page.size > 0) cursors.remember(page.next);
      return page;
    },
    cursorAfter: (position) => Promise.resolve(cursors.at(position) ?? cursorAfter(executor, s, position)),
    readCheckpoint: (name) => readCheckpoint(executor, s, name),
    storeCheckpoint: (name, position) => storeCheckpoint(executor, s, name, position),
    readSeals: () => readSeals(executor, s),
    recordSeal: (seal, events) => recordSeal(executor, s, seal, events),
    readSealedEvents: (fromOrdinal, limit) => readSealedEvents(executor, s, fromOrdinal, limit),
    readEventsOutsideLog: (limit) => readEventsOutsideLog(executor, s, limit),
    watchAppends: (listener, options) => signal.watch(listener, options),
    async close() {
      await signal.close();
      await executor.close();
    },
  };
}

/**
 * Where this store's last log pages ended. A reader following the log resumes after the last event it was
 * given (the relay, the read models, the store checks): that event's cursor is known from the page it came in,
 * so resuming costs no lookup of its transaction id (one statement fewer per wake-up of each follower).
 */
class KnownCursors {
  private static readonly SIZE = 256;
  private readonly byPosition = new Map<bigint, LogCursor>();

  remember(cursor: LogCursor): void {
    this.byPosition.set(cursor.position, cursor);
    if (this.byPosition.size > KnownCursors.SIZE) this.byPosition.delete(this.byPosition.keys().next().value as bigint);
  }

  at(position: bigint): LogCursor | undefined {
    return this.byPosition.get(position);
  }
}
