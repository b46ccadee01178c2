import { createInMemoryEventStore } from './memory/createInMemoryEventStore.js';
import { createPgliteEventStore } from './pglite/createPgliteEventStore.js';
import { createPostgresEventStore } from './postgres/createPostgresEventStore.js';
import type { AuditableEventStore } from './types.js';

export interface EventStoreOptions {
  /** PostgreSQL URL: when set, the PostgreSQL adapter is used (production). */
  databaseUrl?: string;
  /** PGlite data folder: used when no databaseUrl is set. Omit both for an in-memory PGlite. */
  pgliteDataDir?: string;
  /** Schema holding the tables (SQL adapters). @defaultValue 'gatehouse' */
  schema?: string;
  /** Pure in-process store, no SQL at all (unit tests). @defaultValue false */
  inMemory?: boolean;
}

/**
 * Picks the adapter the way the rest of Gatehouse switches components: DATABASE_URL set →
 * PostgreSQL; otherwise embedded PGlite (in a data folder when given).
 */
export async function createEventStore(options: EventStoreOptions = {}): Promise<AuditableEventStore> {
  const { databaseUrl, pgliteDataDir, schema, inMemory = false } = options;
  if (inMemory) return createInMemoryEventStore();
  const schemaOption = schema === undefined ? {} : { schema };
  if (databaseUrl !== undefined && databaseUrl !== '') return createPostgresEventStore({ connectionString: databaseUrl, ...schemaOption });
  return createPgliteEventStore({ ...(pgliteDataDir === undefined ? {} : { dataDir: pgliteDataDir }), ...schemaOption });
}
