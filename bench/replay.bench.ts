/**
 * Replay export throughput: the whole log as JSON Lines (GET /api/audit/export: the signed head, then the
 * events; the verifier rebuilds the tree), written to a file, next to a raw keyset read of the same rows
 * written as JSON Lines in the same run (the machine is shared and noisy: the ratio is the stable part).
 * Also: reading the tree and signing a head (the sealer's work, done before an export), an export that
 * reads the tree first (what a resumed or filtered export does), the same through the store's generic
 * reads (parse and re-stringify every event), and the offline verification rate.
 * Target (issue 11): >= 100,000 events/s to a file.
 *
 *   npm run bench:replay
 * Env: DATABASE_URL (postgres://postgres@127.0.0.1:5432/test), REPLAY_BENCH_EVENTS (200000).
 * Seeds a fresh random schema and drops it at the end.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createPostgresEventStore, readLogTree, replayLines, signTreeHead, verifyReplay, type EventStore, type ReadAllOptions } from '@gatehouse/eventstore';
import { rawKeysetSql, seedSql } from './lib/storeBenchSql.js';

const SEED_CHUNK = 50_000;
const PAGE = 5_000;

interface Rate {
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

const rate = (events: number, started: bigint): Rate => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, seconds: Number(seconds.toFixed(3)), eventsPerSecond: Math.round(events / seconds) };
};

async function writeLines(file: string, lines: AsyncIterable<string>): Promise<void> {
  const out = createWriteStream(file);
  for await (const line of lines) if (!out.write(`${line}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}

export async function runReplayBench({ databaseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test', events = Number(process.env['REPLAY_BENCH_EVENTS'] ?? 200_000) } = {}) {
  const schema = `replay_bench_${randomBytes(4).toString('hex')}`;
  const s = `"${schema}"`;
  const dir = await mkdtemp(path.join(tmpdir(), 'replay-bench-'));
  const store = await createPostgresEventStore({ connectionString: databaseUrl, schema });
  const raw = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    for (let from = 1; from <= events; from += SEED_CHUNK) await raw.query(seedSql(s), [from, Math.min(events, from + SEED_CHUNK - 1)]);

    // Baseline: keyset pages of the same rows, each row as one JSON line.
    let started = process.hrtime.bigint();
    await writeLines(path.join(dir, 'raw.ndjson'), (async function* () {
      for (let after = 0n; ; ) {
        const { rows } = await raw.query(rawKeysetSql(s, 'events'), [after.toString(), PAGE]);
        for (const row of rows) yield JSON.stringify(row);
        if (rows.length < PAGE) return;
        after = BigInt(rows[rows.length - 1].global_position);
      }
    })());
    const rawRate = rate(events, started);

    // Signing a tree head (the sealer's periodic work, before any export): the tree read from the log, its root signed.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    started = process.hrtime.bigint();
    const tree = await readLogTree(store);
    const head = signTreeHead({ treeSize: tree.tree.size, rootHash: tree.tree.root().toString('hex'), lastPosition: String(tree.leaves.at(-1)?.globalPosition ?? 0n), timestamp: new Date().toISOString() }, privateKey);
    const treeRate = rate(events, started);

    // The export as GET /api/audit/export serves the whole log: the events after the signed head's header, no tree read.
    const exportFile = path.join(dir, 'history.ndjson');
    started = process.hrtime.bigint();
    await writeLines(exportFile, replayLines(store, undefined, head));
    const exportRate = rate(events, started);

    // A resumed or filtered export reads the tree first (audit paths, left edge): the tree and the export together.
    started = process.hrtime.bigint();
    await writeLines(path.join(dir, 'with-tree.ndjson'), replayLines(store, await readLogTree(store), head, { after: 0n }));
    const withTreeRate = rate(events, started);

    // The same export through the store's generic reads (what it did before streaming the stored JSON text):
    // every event parsed and stringified again, the tree read from whole events.
    const generic = { readAll: (options?: ReadAllOptions) => store.readAll(options) } as EventStore;
    started = process.hrtime.bigint();
    const genericTree = await readLogTree(generic);
    await writeLines(path.join(dir, 'generic.ndjson'), replayLines(generic, genericTree, head));
    const genericRate = rate(events, started);

    started = process.hrtime.bigint();
    const verified = await verifyReplay(createInterface({ input: createReadStream(exportFile), crlfDelay: Infinity }), publicKey);
    const verifyRate = rate(events, started);
    if (!verified.ok) throw new Error(`the export did not verify: ${JSON.stringify(verified)}`);

    return {
      events,
      rawKeysetToFile: rawRate,
      exportToFile: exportRate,
      treeReadAndSign: treeRate,
      exportWithTreeReadToFile: withTreeRate,
      exportThroughGenericReadsToFile: genericRate,
      ratio: Number((exportRate.eventsPerSecond / rawRate.eventsPerSecond).toFixed(2)),
      offlineVerify: verifyRate,
      exportMegabytes: Number(((await stat(exportFile)).size / 1e6).toFixed(1)),
      target: { name: 'replay export to a file', target: '>= 100000 events/s', actual: exportRate.eventsPerSecond, met: exportRate.eventsPerSecond >= 100_000 },
    };
  } finally {
    await store.close();
    await raw.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await raw.end();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(await runReplayBench(), null, 2)}\n`);
}
