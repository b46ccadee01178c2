import pg from 'pg';

/**
 * A PostgreSQL session advisory lock on a dedicated connection: held as long as that
 * connection lives, released by PostgreSQL itself when the holder's process or
 * connection dies, so a standby replica can take over.
 */
export interface LeaderLock {
  /** Tries once; true when this instance now holds the lock. */
  tryAcquire(): Promise<boolean>;
  /** Resolves when the lock is still held (the connection answers), rejects otherwise. */
  check(): Promise<void>;
  /** Releases the lock (if held) and closes the connection. */
  release(): Promise<void>;
  readonly held: boolean;
}

export function createLeaderLock(databaseUrl: string, lockName: string): LeaderLock {
  let client: pg.Client | undefined;
  let held = false;
  let broken = false;

  async function connection(): Promise<pg.Client> {
    if (client !== undefined && !broken) return client;
    await client?.end().catch(() => undefined);
    const fresh = new pg.Client({ connectionString: databaseUrl, application_name: 'gatehouse-relay-lock' });
    broken = false;
    // A lost connection means a lost lock: the next check() fails and the relay stands down.
    fresh.on('error', () => {
      broken = true;
      held = false;
    });
    fresh.on('end', () => {
      broken = true;
      held = false;
    });
    await fresh.connect();
    client = fresh;
    return fresh;
  }

  return {
    get held() {
      return held;
    },
    async tryAcquire() {
      const c = await connection();
      const result = await c.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [lockName]);
      held = result.rows[0]?.locked === true;
      return held;
    },
    async check() {
      if (!held || broken || client === undefined) throw new Error('relay leader lock lost');
      await client.query('SELECT 1');
    },
    async release() {
      const c = client;
      client = undefined;
      if (c === undefined) return;
      if (held && !broken) await c.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName]).catch(() => undefined);
      held = false;
      await c.end().catch(() => undefined);
    },
  };
}
