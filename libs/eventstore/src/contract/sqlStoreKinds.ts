import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { createPgliteEventStore } from '../pglite/createPgliteEventStore.js';
import { createPostgresEventStore } from '../postgres/createPostgresEventStore.js';
import type { AuditableEventStore } from '../types.js';

/** One SQL store a spec runs against, by name, and how to open a fresh one (and clean it up after). */
export type SqlStoreKind = [name: string, open: () => Promise<{ store: AuditableEventStore; cleanup(): Promise<void> }>];

/**
 * The SQL stores a spec runs against, for `describe.each`: PGlite always, PostgreSQL when it is up (an isolated
 * schema named after `label`, dropped by `cleanup`, with a pool of `maxConnections`).
 */
export async function sqlStoreKinds(label: string, { maxConnections }: { maxConnections: number }): Promise<SqlStoreKind[]> {
  const postgres = await requirePostgres();
  const pglite: SqlStoreKind = ['PGlite', async () => ({ store: await createPgliteEventStore(), cleanup: async () => {} })];
  if (!postgres.available) return [pglite];
  const postgresql: SqlStoreKind = [
    'PostgreSQL',
    async () => {
      const schema = isolatedSchema(label, postgres.url);
      return { store: await createPostgresEventStore({ connectionString: postgres.url, schema: schema.name, maxConnections }), cleanup: () => schema.drop() };
    },
  ];
  return [pglite, postgresql];
}
