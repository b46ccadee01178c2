import { type AuditableEventStore, createPostgresEventStore } from '@gatehouse/eventstore';

/** The real PostgreSQL event store, in its own schema, for the relay crash test's child process. */
export function openTestStore(connectionString: string, schema: string): Promise<AuditableEventStore> {
  return createPostgresEventStore({ connectionString, schema });
}
