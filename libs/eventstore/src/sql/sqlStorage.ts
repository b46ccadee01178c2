import type { EventLogStorage } from '../storage.js';
import { appendToStream } from './appendToStream.js';
import { readCheckpoint, storeCheckpoint } from './checkpoints.js';
import type { SqlExecutor } from './executor.js';
import { migrate } from './migrations.js';
import { cursorAfter, readPage } from './readAll.js';
import { readStream } from './readStream.js';
import { quoteSchema } from './schema.js';
import { readSeals, recordSeal } from './seals.js';

/** Storage shared by the PostgreSQL and PGlite adapters: same schema, same SQL. */
export function sqlStorage(executor: SqlExecutor, schema: string): EventLogStorage {
  const s = quoteSchema(schema);
  return {
    migrate: () => migrate(executor, schema, s),
    append: (append) => appendToStream(executor, s, append),
    readStream: (streamId, options) => readStream(executor, s, streamId, options),
    readPage: (after, options) => readPage(executor, s, after, options),
    cursorAfter: (position) => cursorAfter(executor, s, position),
    readCheckpoint: (name) => readCheckpoint(executor, s, name),
    storeCheckpoint: (name, position) => storeCheckpoint(executor, s, name, position),
    readSeals: () => readSeals(executor, s),
    recordSeal: (seal) => recordSeal(executor, s, seal),
    close: () => executor.close(),
  };
}
