import type { Seal } from '../types.js';
import type { SqlQueryable } from './executor.js';

export const readSealsSql = (s: string): string =>
  `SELECT seal_number, position, chain_hash, events_sealed, sealed_at FROM ${s}.seals ORDER BY seal_number`;

/** A concurrent sealer that already wrote this seal number wins; ours is dropped. */
export const recordSealSql = (s: string): string =>
  `INSERT INTO ${s}.seals (seal_number, position, chain_hash, events_sealed) VALUES ($1, $2, $3, $4)
   ON CONFLICT (seal_number) DO NOTHING RETURNING seal_number`;

interface SealRow {
  seal_number: string;
  position: string;
  chain_hash: string;
  events_sealed: string;
  sealed_at: Date;
}

export async function readSeals(db: SqlQueryable, s: string): Promise<Seal[]> {
  const rows = await db.query<SealRow>(readSealsSql(s));
  return rows.map((row) => ({
    sealNumber: BigInt(row.seal_number),
    position: BigInt(row.position),
    chainHash: row.chain_hash,
    eventsSealed: BigInt(row.events_sealed),
    sealedAt: row.sealed_at,
  }));
}

export async function recordSeal(db: SqlQueryable, s: string, seal: Omit<Seal, 'sealedAt'>): Promise<boolean> {
  const rows = await db.query(recordSealSql(s), [
    seal.sealNumber.toString(),
    seal.position.toString(),
    seal.chainHash,
    seal.eventsSealed.toString(),
  ]);
  return rows.length === 1;
}
