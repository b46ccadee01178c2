import type { EventStore } from '@gatehouse/eventstore';
import { createStandInPostgresStore } from '../test-support/pg-store.js';

/**
 * The PostgreSQL store used by the relay crash test and bench: the real
 * adapter once @gatehouse/eventstore exports it, otherwise the stand-in.
 * Returns which one, so reports say what was measured.
 */
export async function openTestStore(connectionString: string, schema: string): Promise<EventStore & { kind?: string }> {
  const eventstore = (await import('@gatehouse/eventstore').catch(() => ({}))) as Record<string, unknown>;
  const create = eventstore.createPostgresEventStore as ((options: { connectionString: string; schema?: string }) => Promise<EventStore> | EventStore) | undefined;
  if (typeof create === 'function') return Object.assign(await create({ connectionString, schema }), { kind: 'postgres (@gatehouse/eventstore)' });
  return Object.assign(await createStandInPostgresStore({ connectionString, schema }), { kind: 'postgres (bus stand-in)' });
}
