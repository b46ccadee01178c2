import type { AppendSignal } from '../appendSignal.js';
import type { EventLogStorage } from '../storage.js';
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
    readPage: (after, options) => readPage(executor, s, after, options),
    cursorAfter: (position) => cursorAfter(executor, s, position),
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
