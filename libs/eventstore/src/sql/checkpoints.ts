import type { SqlQueryable } from './executor.js';

export const readCheckpointSql = (s: string): string => `SELECT position FROM ${s}.checkpoints WHERE name = $1`;

export const storeCheckpointSql = (s: string): string =>
  `INSERT INTO ${s}.checkpoints (name, position) VALUES ($1, $2)
   ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()`;

export async function readCheckpoint(db: SqlQueryable, s: string, name: string): Promise<bigint | undefined> {
  const [row] = await db.query<{ position: string }>(readCheckpointSql(s), [name], `gatehouse_read_checkpoint_${s}`);
  return row === undefined ? undefined : BigInt(row.position);
}

export async function storeCheckpoint(db: SqlQueryable, s: string, name: string, position: bigint): Promise<void> {
  await db.query(storeCheckpointSql(s), [name, position.toString()], `gatehouse_store_checkpoint_${s}`);
}
