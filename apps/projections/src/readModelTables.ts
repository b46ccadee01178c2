/**
 * The projections' read models kept in PostgreSQL (PGlite when embedded), in the service's own schema
 * `<log schema>_projections` of the store's database.
 *
 * - One table per keyed collection of the model (`<collection>_g<generation>`: key text, value json), plus
 *   `read_models`, one row per model: its version, the generation of its tables and its checkpoint (global
 *   position of the last event folded in). A change's history is not copied here: it is read from the log
 *   (changeHistory.ts).
 * - `write()` stores what folding changed (ReadModel.changes) and moves the checkpoint in ONE transaction, so
 *   the tables always hold exactly the events up to the checkpoint: a process killed mid-batch rolls its batch
 *   back whole, and the next start folds it again from the checkpoint. The checkpoint moves only from where
 *   this process last saw it (compare-and-set): a second replica that wrote in between makes the write fail
 *   with CheckpointMovedError, and the caller leaves the writing to that replica.
 * - `rebuild()` folds the whole log in memory (the model lives there anyway), reading pages ahead, into a
 *   fresh generation of tables loaded with COPY: each key's final row, REBUILD_ROWS_PER_STATEMENT rows per
 *   load, each load committed on its own (no transaction stays open long: the gap-safe log readers wait for
 *   open transactions; no upsert: every key is written once); then it swaps the generation and checkpoint in
 *   one transaction and drops the old tables. Queries keep reading the model in memory meanwhile.
 *
 * The model in memory is a cache warmed from these tables (`load()`), never replayed from the log at start
 * unless the tables are missing or of another READ_MODEL_VERSION.
 */
import { copyTextField, quoteSchema, type AuditableEventStore, type SqlAccess, type SqlQueryable, type StoredEvent } from '@gatehouse/eventstore';
import type { StoredChangeRequest } from './changeRequestIndex.js';
import { initialReadModel, KEYED_TABLES, READ_MODEL_VERSION, type KeyedTable, type ReadModel, type TrackedMap } from './readModel.js';

/** Events folded between two writes while catching up with the log. */
export const WRITE_BATCH_EVENTS = 5_000;
/**
 * Page size of the log reads of a rebuild (the next page is read ahead while one is folded). No larger:
 * larger pages tip the planner, on a log whose statistics lag, from the commit-order index to a sort of the rest of the log at every page.
 */
export const REBUILD_READ_BATCH = 5_000;
/** Rows per COPY load (each its own transaction) when a rebuild writes its final rows. */
export const REBUILD_ROWS_PER_STATEMENT = 10_000;
const MODEL_NAME = 'projections';
const MAX_IDENTIFIER_LENGTH = 63;

/** Where the tables stand: which generation is live, of which version, folded up to which position. */
export interface ReadModelState {
  version: number;
  generation: number;
  position: bigint;
  /** When a writer last touched the row (a write, a swap, a rebuild in progress): text, compared for change only. */
  touchedAt?: string;
}

/** Another writer (a second replica, a rebuild) moved the checkpoint since this process read it. */
export class CheckpointMovedError extends Error {
  override readonly name = 'CheckpointMovedError';
  constructor(expected: ReadModelState) {
    super(`the read-model checkpoint is no longer generation ${expected.generation} at position ${expected.position}: another writer moved it`);
  }
}

/** Folds one event; what the service does with an event that cannot be folded is its own business. */
export type Fold = (model: ReadModel, event: StoredEvent) => void;

export class ReadModelTables {
  readonly schema: string;
  private readonly s: string;

  constructor(private readonly sql: SqlAccess) {
    this.schema = `${sql.schema}_projections`.slice(0, MAX_IDENTIFIER_LENGTH);
    this.s = quoteSchema(this.schema);
  }

  private keyed(table: KeyedTable, generation: number): string {
    return `${this.s}.${table}_g${generation}`;
  }

  /** Creates the schema and state table if missing; the state row, or undefined when no tables were ever built. */
  async state(): Promise<ReadModelState | undefined> {
    await this.sql.executor.exec(
      `CREATE SCHEMA IF NOT EXISTS ${this.s};
       CREATE TABLE IF NOT EXISTS ${this.s}.read_models (
         name text PRIMARY KEY, version integer NOT NULL, generation integer NOT NULL, position bigint NOT NULL,
         rebuilt_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    return this.peek();
  }

  /** The state row as it is now (no schema set-up: a replica that does not write looks at it on every round). */
  async peek(): Promise<ReadModelState | undefined> {
    const [row] = await this.sql.executor.query<{ version: number; generation: number; position: string; touched_at: string }>(
      `SELECT version, generation, position, updated_at::text AS touched_at FROM ${this.s}.read_models WHERE name = $1`,
      [MODEL_NAME],
    );
    return row === undefined ? undefined : { version: row.version, generation: row.generation, position: BigInt(row.position), touchedAt: row.touched_at };
  }

  /** Marks the row as touched: a long rebuild says it is alive, so no other replica takes the tables over meanwhile. */
  private async touch(): Promise<void> {
    await this.sql.executor.query(`UPDATE ${this.s}.read_models SET updated_at = clock_timestamp() WHERE name = $1`, [MODEL_NAME]);
  }

  /** The model as the tables of `state` hold it; its changes are empty. */
  async load(state: ReadModelState): Promise<ReadModel> {
    const model = initialReadModel();
    const db = this.sql.executor;
    // In insertion order: the order the views list entries in.
    const restore = async <V>(table: KeyedTable, into: TrackedMap<V>): Promise<void> => {
      const rows = (await db.queryArrays(`SELECT key, value, ord FROM ${this.keyed(table, state.generation)} ORDER BY ord`)) as Array<[string, V, string]>;
      for (const [key, value, ord] of rows) into.restore(key, value, Number(ord));
    };
    await restore('release', model.releases);
    await restore('booked_build', model.bookedBuilds);
    await restore('schedule', model.schedule);
    await restore('version', model.versions);
    await restore('active_deployment', model.activeDeployments);
    await restore('approval', model.approvals);
    for (const approval of model.approvals.values()) if (approval.state.status === 'pending') model.pendingApprovals.add(approval);
    const changes = (await db.queryArrays(`SELECT value FROM ${this.keyed('change_request', state.generation)} ORDER BY ord`)) as Array<[StoredChangeRequest]>;
    for (const [value] of changes) model.changeRequests.restore(value);
    model.position = state.position;
    model.changes.clear();
    return model;
  }

  /**
   * Writes the model's changes and moves the checkpoint to `model.position`, in one transaction, from where
   * `state` says the checkpoint is; returns the new state. Throws CheckpointMovedError (nothing written) when
   * another writer moved it. Clears the model's changes once committed.
   */
  async write(model: ReadModel, state: ReadModelState): Promise<ReadModelState> {
    const next = { ...state, position: model.position };
    await this.sql.executor.transaction(async (tx) => {
      // The checkpoint first: its row lock orders this write after a concurrent swap, which may have dropped the tables.
      const moved = await tx.query(
        `UPDATE ${this.s}.read_models SET position = $2, updated_at = clock_timestamp() WHERE name = $1 AND generation = $3 AND position = $4 RETURNING name`,
        [MODEL_NAME, next.position.toString(), state.generation, state.position.toString()],
      );
      if (moved.length !== 1) throw new CheckpointMovedError(state);
      await this.writeChanges(tx, model, state.generation);
    });
    model.changes.clear();
    return next;
  }

  /**
   * Folds the whole log (as far as it goes) into a new generation of tables, then makes it the live one and
   * drops the one it replaces. `current` is the state as the caller knows it (undefined: no tables yet);
   * CheckpointMovedError when another writer moved it meanwhile (the new tables are dropped).
   */
  async rebuild(store: AuditableEventStore, fold: Fold, current: ReadModelState | undefined): Promise<{ model: ReadModel; state: ReadModelState; events: number }> {
    const generation = (await this.highestGeneration()) + 1;
    await this.createGeneration(generation);
    try {
      const model = initialReadModel();
      // Keyed rows are written from the model at the end: which keys folding changed need not be remembered.
      model.changes.trackKeys = false;
      const loads = new CopyLoads(this.sql.executor);
      let events = 0;
      for await (const event of store.readAll({ batchSize: REBUILD_READ_BATCH })) {
        fold(model, event);
        events += 1;
        if (model.changes.events >= WRITE_BATCH_EVENTS) {
          // The state row is touched as the rebuild goes, so no other replica takes the tables over meanwhile.
          model.changes.clear();
          await this.touch();
        }
      }
      model.changes.clear();
      await this.writeFinalRows(model, generation, loads);
      model.changes.trackKeys = true;
      const state: ReadModelState = { version: READ_MODEL_VERSION, generation, position: model.position };
      await this.sql.executor.transaction(async (tx) => {
        const swapped =
          current === undefined
            ? await tx.query(
                `INSERT INTO ${this.s}.read_models (name, version, generation, position) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING name`,
                [MODEL_NAME, state.version, generation, state.position.toString()],
              )
            : await tx.query(
                // Only another swap stops this one: a replica that went on writing the old generation meanwhile finds the
                // generation changed at its next write and leaves the tables to this one.
                `UPDATE ${this.s}.read_models SET version = $2, generation = $3, position = $4, rebuilt_at = now(), updated_at = now()
                 WHERE name = $1 AND generation = $5 RETURNING name`,
                [MODEL_NAME, state.version, generation, state.position.toString(), current.generation],
              );
        if (swapped.length !== 1) throw new CheckpointMovedError(current ?? { version: READ_MODEL_VERSION, generation: 0, position: 0n });
        if (current !== undefined) await tx.exec(this.dropGenerationSql(current.generation));
      });
      model.changes.clear();
      return { model, state, events };
    } catch (error) {
      await this.sql.executor.exec(this.dropGenerationSql(generation)).catch(() => undefined);
      throw error;
    }
  }

  private async highestGeneration(): Promise<number> {
    // Generations left behind by a rebuild that was killed count too: a new one never reuses their names.
    const rows = await this.sql.executor.query<{ generation: number }>(
      `SELECT COALESCE(MAX(substring(tablename FROM '_g([0-9]+)$')::integer), 0) AS generation FROM pg_tables WHERE schemaname = $1`,
      [this.schema],
    );
    return Number(rows[0]?.generation ?? 0);
  }

  private async createGeneration(generation: number): Promise<void> {
    await this.sql.executor.exec(
      [
        this.dropGenerationSql(generation),
        // ord: the entry's place in insertion order (change requests: their updateSeq).
        ...KEYED_TABLES.map((table) => `CREATE TABLE ${this.keyed(table, generation)} (key text PRIMARY KEY, ord bigint NOT NULL, value json NOT NULL);`),
      ].join('\n'),
    );
  }

  private dropGenerationSql(generation: number): string {
    // history_g<n>: the changes' history, kept in the tables up to READ_MODEL_VERSION 2 (now read from the log).
    return [...KEYED_TABLES.map((table) => this.keyed(table, generation)), `${this.s}.history_g${generation}`].map((table) => `DROP TABLE IF EXISTS ${table};`).join('\n');
  }

  /** Drops generations that are not the live one (left by a rebuild that was killed). */
  async dropStaleGenerations(live: number): Promise<void> {
    const highest = await this.highestGeneration();
    for (let generation = 1; generation <= highest; generation += 1) if (generation !== live) await this.sql.executor.exec(this.dropGenerationSql(generation));
  }

  /**
   * Writes every keyed row of the model into the (empty) tables of `generation`: each key once, with its final
   * value, in insertion order, by COPY loads of REBUILD_ROWS_PER_STATEMENT rows, each committed on its own, the
   * next one prepared while the last one loads.
   */
  private async writeFinalRows(model: ReadModel, generation: number, loads: CopyLoads): Promise<void> {
    for (const table of KEYED_TABLES) {
      const into = `${this.keyed(table, generation)} (key, ord, value)`;
      let rows: string[] = [];
      for (const key of keysOf(model, table)) {
        const stored = storedValue(model, table, key)!;
        rows.push(`${copyTextField(key)}\t${stored.order}\t${copyTextField(JSON.stringify(stored.value))}\n`);
        if (rows.length >= REBUILD_ROWS_PER_STATEMENT) {
          await loads.send(into, rows.join(''));
          rows = [];
          await this.touch();
        }
      }
      await loads.send(into, rows.join(''));
    }
    await loads.finish();
  }

  private async writeChanges(tx: SqlQueryable, model: ReadModel, generation: number): Promise<void> {
    for (const [table, keys] of model.changes.keys) {
      if (keys.size === 0) continue;
      const upserts: Array<{ k: string; o: number; v: unknown }> = [];
      const deletes: string[] = [];
      for (const key of keys) {
        const stored = storedValue(model, table, key);
        if (stored === undefined) deletes.push(key);
        else upserts.push({ k: key, o: stored.order, v: stored.value });
      }
      const target = this.keyed(table, generation);
      if (upserts.length > 0) {
        await tx.query(`${insertKeyedSql(target)} ON CONFLICT (key) DO UPDATE SET ord = excluded.ord, value = excluded.value`, [JSON.stringify(upserts)]);
      }
      if (deletes.length > 0) await tx.query(`DELETE FROM ${target} WHERE key = ANY($1::text[])`, [deletes]);
    }
  }
}

/**
 * COPY loads sent one after the other, each while the caller goes on (folding, preparing the next): at most
 * one is in flight. A failed load fails the next send or finish().
 */
class CopyLoads {
  private inFlight: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  constructor(private readonly db: SqlQueryable) {}

  async send(into: string, text: string): Promise<void> {
    await this.finish();
    if (text === '') return;
    this.inFlight = this.db.copyIn(into, text).catch((error: unknown) => void (this.failure ??= { error }));
  }

  async finish(): Promise<void> {
    await this.inFlight;
    if (this.failure !== undefined) throw this.failure.error;
  }
}

/*
 * Incremental writes (write()): rows travel as one JSON array per statement, taken apart by json_to_recordset. The values are stored as json
 * (the text as written), not jsonb: the tables are only ever read back whole, and jsonb would parse every value
 * on the way in and print it again on the way out, which was most of a write's cost.
 */
const insertKeyedSql = (table: string): string =>
  `INSERT INTO ${table} (key, ord, value) SELECT r.k, r.o, r.v FROM json_to_recordset($1::json) AS r(k text, o bigint, v json)`;

/** Every key the model holds in `table`. */
function keysOf(model: ReadModel, table: KeyedTable): Iterable<string> {
  switch (table) {
    case 'change_request':
      return [...model.changeRequests.values()].map((change) => change.changeRequestId);
    case 'approval':
      return model.approvals.keys();
    case 'release':
      return model.releases.keys();
    case 'booked_build':
      return model.bookedBuilds.keys();
    case 'schedule':
      return model.schedule.keys();
    case 'version':
      return model.versions.keys();
    case 'active_deployment':
      return model.activeDeployments.keys();
  }
}

/** The row of a key as the model holds it now (its place in insertion order and value); undefined when the key is gone. */
function storedValue(model: ReadModel, table: KeyedTable, key: string): { order: number; value: unknown } | undefined {
  const entry = <V>(map: TrackedMap<V>, store: (value: V) => unknown = (value) => value) => {
    const value = map.get(key);
    return value === undefined ? undefined : { order: map.orderOf(key)!, value: store(value) };
  };
  switch (table) {
    case 'change_request': {
      const change = model.changeRequests.get(key);
      if (change === undefined) return undefined;
      const { changeRequestId, state, updatedAt, service, updateSeq } = change;
      return { order: updateSeq, value: { changeRequestId, state, updatedAt, service, updateSeq } satisfies StoredChangeRequest };
    }
    case 'approval':
      return entry(model.approvals, ({ state, seq }) => ({ state, seq }));
    case 'release':
      return entry(model.releases);
    case 'booked_build':
      return entry(model.bookedBuilds);
    case 'schedule':
      return entry(model.schedule);
    case 'version':
      return entry(model.versions);
    case 'active_deployment':
      return entry(model.activeDeployments);
  }
}
