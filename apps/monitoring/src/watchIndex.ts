import type { WatchRule } from '@gatehouse/domain';
import { quoteSchema, START, type AuditableEventStore, type SqlAccess, type StoredEvent } from '@gatehouse/eventstore';
import { CHANGE_KIND_EVENTS, ChangeKindData } from './inbound.js';

const WATCH_EVENT_TYPES = ['PostDeploymentWatchStarted', 'PostDeploymentWatchCompleted', 'PostDeploymentWatchEnded', 'RollbackTriggerFired'];

/** An open watch as the Prometheus source reads it. */
export interface OpenWatch {
  changeRequestId: string;
  service: string;
  environment: string;
  rules: WatchRule[];
}
const INDEXED_TYPES: readonly string[] = [...WATCH_EVENT_TYPES, ...CHANGE_KIND_EVENTS];

/** Version of what the index keeps and how it folds: tables of another version are rebuilt from the log at start. (2: the watches' timers moved to workflow timers.) */
export const WATCH_INDEX_VERSION = 2;
/** Events folded between two writes of the index's tables while catching up. */
const WRITE_BATCH_EVENTS = 5_000;
/** Page size of the log reads of a rebuild (as the projections' rebuild: larger pages can tip the page query's plan to a sort). */
const REBUILD_READ_BATCH = 5_000;
/** Entries per INSERT when a rebuild replaces the tables' contents. */
const REBUILD_ROWS_PER_STATEMENT = 10_000;

/** What a rebuild of the index did. */
export interface WatchIndexRebuildReport {
  /** Indexed events read from the log. */
  events: number;
  /** Entries the index holds now (and its tables, when the store has SQL). */
  entries: number;
  /** Global position the index is at (decimal string). */
  position: string;
  /** False over a store without SQL (the index is only in memory). */
  tables: boolean;
  durationMs: number;
}
const KINDS = ['active', 'changeKind', 'watch', 'automaticRollbacks'] as const;
type Kind = (typeof KINDS)[number];

/**
 * The monitoring service's small read model: which change each service+environment is being watched
 * for (samples arrive by service and environment), each open watch's rules, and each change's kind (the watches'
 * timers are workflow timers: libs/domain `watchDeadlinesWorkflow`).
 * Read from the store, not kept from what this process did: `catchUp()` reads every indexed event
 * appended since the last look (gap-safe), by this replica or any other, so any replica serves any watch.
 *
 * Over an SQL store the index is also kept in tables of the service's schema (`<log schema>_monitoring`): each
 * catch-up writes the entries it changed and its checkpoint in one transaction, and a start loads them and reads
 * only the events after the checkpoint. Replicas share the tables: the checkpoint moves only from where a replica
 * last saw it, and a replica that finds it moved by another leaves the writing to that one (its own index stays
 * complete in memory; the tables only spare a start the replay).
 */
export class WatchIndex {
  private active = new Map<string, string>();
  private changeKinds = new Map<string, string>();
  /** Every watch started: its service, environment and rules. */
  private watches = new Map<string, Omit<OpenWatch, 'changeRequestId'>>();
  /** Per service+environment: the changes rolled back automatically since its last completed watch. */
  private automaticRollbacks = new Map<string, Set<string>>();
  private position = START;
  /** Catch-ups run one after another, so the position only moves forward. */
  private reading: Promise<void> = Promise.resolve();
  private readonly tables: WatchIndexTables | undefined;
  /** Checkpoint of the tables as this replica last wrote or read it; undefined until opened. */
  private saved: bigint | undefined;
  /** Keys changed since the last write, per kind. */
  private readonly dirty = new Map<Kind, Set<string>>(KINDS.map((kind) => [kind, new Set<string>()]));
  private unsavedEvents = 0;
  private writing = true;

  /** @param keepTables keep the index in the store's tables, when it has SQL. @defaultValue true */
  constructor(
    private readonly store: AuditableEventStore,
    { keepTables = true }: { keepTables?: boolean } = {},
  ) {
    this.tables = store.sql === undefined || !keepTables ? undefined : new WatchIndexTables(store.sql);
  }

  /**
   * Rebuilds the index from the whole log: folds it into a fresh index in memory, replaces the tables' entries
   * and checkpoint with it in one transaction (this replica becomes their writer again; another one finds the
   * checkpoint moved and leaves the writing to it), then swaps it in. Answers come from the current index
   * meanwhile; catch-ups wait for the rebuild.
   */
  rebuild(): Promise<WatchIndexRebuildReport> {
    const run = this.reading.catch(() => undefined).then(async (): Promise<WatchIndexRebuildReport> => {
      const startedAt = performance.now();
      const fresh = new WatchIndex(this.store, { keepTables: false });
      let events = 0;
      for await (const event of this.store.readAll({ eventTypes: INDEXED_TYPES, batchSize: REBUILD_READ_BATCH })) {
        fresh.apply(event);
        fresh.position = event.globalPosition;
        events += 1;
      }
      const entries = fresh.entries();
      if (this.tables !== undefined) this.saved = await this.tables.replace(entries, fresh.position);
      ({ active: this.active, changeKinds: this.changeKinds, watches: this.watches, automaticRollbacks: this.automaticRollbacks } = fresh);
      this.position = fresh.position;
      this.writing = true;
      for (const keys of this.dirty.values()) keys.clear();
      this.unsavedEvents = 0;
      return { events, entries: entries.length, position: String(this.position), tables: this.tables !== undefined, durationMs: Math.round(performance.now() - startedAt) };
    });
    this.reading = run.then(() => undefined);
    return run;
  }

  /** Every entry as the tables keep it. */
  private entries(): Array<[Kind, string, unknown]> {
    const keys: Record<Kind, Iterable<string>> = {
      active: this.active.keys(),
      changeKind: this.changeKinds.keys(),
      watch: this.watches.keys(),
      automaticRollbacks: this.automaticRollbacks.keys(),
    };
    return KINDS.flatMap((kind) => [...keys[kind]].map((key): [Kind, string, unknown] => [kind, key, this.stored(kind, key)]));
  }

  catchUp(): Promise<void> {
    // A failed read (store briefly away) is reported to its caller and does not block the next one.
    this.reading = this.reading.catch(() => undefined).then(async () => {
      if (this.tables !== undefined && this.saved === undefined) await this.open(this.tables);
      for await (const event of this.store.readAll({ after: this.position, eventTypes: INDEXED_TYPES })) {
        this.apply(event);
        this.position = event.globalPosition;
        if (++this.unsavedEvents >= WRITE_BATCH_EVENTS) await this.save();
      }
      await this.save();
    });
    return this.reading;
  }

  /** Loads the tables (or, of another version or missing, starts them afresh from the log's start). */
  private async open(tables: WatchIndexTables): Promise<void> {
    const loaded = await tables.load();
    if (loaded === undefined) {
      this.saved = await tables.reset();
      return;
    }
    for (const [kind, key, value] of loaded.entries) this.restore(kind, key, value);
    this.position = loaded.position;
    this.saved = loaded.position;
  }

  private async save(): Promise<void> {
    if (this.tables === undefined || this.saved === undefined || !this.writing || this.position === this.saved) return;
    const changes = KINDS.flatMap((kind) => [...this.dirty.get(kind)!].map((key): [Kind, string, unknown] => [kind, key, this.stored(kind, key)]));
    if (await this.tables.write(changes, this.saved, this.position)) {
      this.saved = this.position;
      for (const keys of this.dirty.values()) keys.clear();
      this.unsavedEvents = 0;
    } else {
      // Another replica keeps the tables: this one stops writing them (and tracking for them).
      this.writing = false;
      for (const keys of this.dirty.values()) keys.clear();
    }
  }

  private touch(kind: Kind, key: string): void {
    if (this.writing && this.tables !== undefined) this.dirty.get(kind)!.add(key);
  }

  /** The entry as stored; undefined when it is gone. */
  private stored(kind: Kind, key: string): unknown {
    switch (kind) {
      case 'active':
        return this.active.get(key);
      case 'changeKind':
        return this.changeKinds.get(key);
      case 'watch':
        return this.watches.get(key);
      case 'automaticRollbacks': {
        const changes = this.automaticRollbacks.get(key);
        return changes === undefined ? undefined : [...changes];
      }
    }
  }

  private restore(kind: Kind, key: string, value: unknown): void {
    switch (kind) {
      case 'active':
        return void this.active.set(key, value as string);
      case 'changeKind':
        return void this.changeKinds.set(key, value as string);
      case 'watch':
        return void this.watches.set(key, value as Omit<OpenWatch, 'changeRequestId'>);
      case 'automaticRollbacks':
        return void this.automaticRollbacks.set(key, new Set(value as string[]));
    }
  }

  activeWatch(service: string, environment: string): string | undefined {
    return this.active.get(keyOf(service, environment));
  }

  /** Open watches (a deployment started and its watch not yet ended), with their rules. */
  openWatches(): OpenWatch[] {
    return [...this.active.values()].flatMap((changeRequestId) => {
      const watch = this.watches.get(changeRequestId);
      return watch === undefined ? [] : [{ changeRequestId, ...watch }];
    });
  }

  /** Automatic rollbacks of the service in the environment in a row: counted since its last watch that completed. */
  consecutiveAutomaticRollbacks(service: string, environment: string): number {
    return this.automaticRollbacks.get(keyOf(service, environment))?.size ?? 0;
  }

  changeKind(changeRequestId: string): string | undefined {
    return this.changeKinds.get(changeRequestId);
  }

  /** Folds one event (idempotent: the same event read again changes nothing). */
  apply(event: StoredEvent): void {
    if ((CHANGE_KIND_EVENTS as readonly string[]).includes(event.type)) {
      const parsed = ChangeKindData.safeParse(event.data);
      const kind = parsed.success ? (parsed.data.kind ?? parsed.data.changeType) : undefined;
      if (parsed.success && kind !== undefined) {
        this.changeKinds.set(parsed.data.changeRequestId, kind);
        this.touch('changeKind', parsed.data.changeRequestId);
      }
      return;
    }
    const data = event.data as { changeRequestId: string; service?: string; environment?: string; rules?: WatchRule[]; action?: string };
    switch (event.type) {
      case 'PostDeploymentWatchStarted':
        this.active.set(keyOf(data.service!, data.environment!), data.changeRequestId);
        this.watches.set(data.changeRequestId, { service: data.service!, environment: data.environment!, rules: data.rules ?? [] });
        this.touch('active', keyOf(data.service!, data.environment!));
        this.touch('watch', data.changeRequestId);
        break;
      case 'RollbackTriggerFired': {
        const watch = this.watches.get(data.changeRequestId);
        if (watch === undefined || data.action !== 'rollback') break;
        const key = keyOf(watch.service, watch.environment);
        this.automaticRollbacks.set(key, new Set([...(this.automaticRollbacks.get(key) ?? []), data.changeRequestId]));
        this.touch('automaticRollbacks', key);
        break;
      }
      case 'PostDeploymentWatchCompleted':
      case 'PostDeploymentWatchEnded':
        if (event.type === 'PostDeploymentWatchCompleted') {
          const watch = this.watches.get(data.changeRequestId);
          if (watch !== undefined) {
            this.automaticRollbacks.delete(keyOf(watch.service, watch.environment));
            this.touch('automaticRollbacks', keyOf(watch.service, watch.environment));
          }
        }
        for (const [key, changeRequestId] of this.active) {
          if (changeRequestId !== data.changeRequestId) continue;
          this.active.delete(key);
          this.touch('active', key);
        }
        break;
      default:
        break;
    }
  }
}

function keyOf(service: string, environment: string): string {
  return JSON.stringify([service, environment]);
}

const insertEntriesSql = (s: string): string =>
  `INSERT INTO ${s}.watch_index (kind, key, value) SELECT r.kind, r.key, r.value FROM jsonb_to_recordset($1::jsonb) AS r(kind text, key text, value jsonb)`;

class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
}

/** The index's tables: `watch_index` (kind, key) -> value, and its checkpoint and version in `watch_index_state`. */
class WatchIndexTables {
  private readonly s: string;

  constructor(private readonly sql: SqlAccess) {
    this.s = quoteSchema(`${sql.schema}_monitoring`.slice(0, 63));
  }

  /** The entries and checkpoint, or undefined when there are none of this version. */
  async load(): Promise<{ position: bigint; entries: Array<[Kind, string, unknown]> } | undefined> {
    await this.sql.executor.exec(
      `CREATE SCHEMA IF NOT EXISTS ${this.s};
       CREATE TABLE IF NOT EXISTS ${this.s}.watch_index_state (name text PRIMARY KEY, version integer NOT NULL, position bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
       CREATE TABLE IF NOT EXISTS ${this.s}.watch_index (kind text NOT NULL, key text NOT NULL, value jsonb NOT NULL, PRIMARY KEY (kind, key));`,
    );
    const [state] = await this.sql.executor.query<{ version: number; position: string }>(`SELECT version, position FROM ${this.s}.watch_index_state WHERE name = 'watch_index'`);
    if (state === undefined || state.version !== WATCH_INDEX_VERSION) return undefined;
    const rows = (await this.sql.executor.queryArrays(`SELECT kind, key, value FROM ${this.s}.watch_index`)) as Array<[Kind, string, unknown]>;
    return { position: BigInt(state.position), entries: rows };
  }

  /** Empties the tables for a fold from the log's start (none yet, or of another version). */
  async reset(): Promise<bigint> {
    await this.sql.executor.transaction(async (tx) => {
      await tx.query(`DELETE FROM ${this.s}.watch_index`);
      await tx.query(
        `INSERT INTO ${this.s}.watch_index_state (name, version, position) VALUES ('watch_index', $1, 0)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = 0, updated_at = now()`,
        [WATCH_INDEX_VERSION],
      );
    });
    return START;
  }

  /**
   * Replaces every entry and sets the checkpoint (and version), whoever moved it last, in one transaction: a
   * concurrent catch-up of another replica finds the checkpoint moved and stops writing. Returns the checkpoint.
   */
  async replace(entries: ReadonlyArray<[Kind, string, unknown]>, position: bigint): Promise<bigint> {
    await this.load(); // creates the tables if this is their first use
    await this.sql.executor.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO ${this.s}.watch_index_state (name, version, position) VALUES ('watch_index', $1, $2)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position, updated_at = now()`,
        [WATCH_INDEX_VERSION, position.toString()],
      );
      await tx.query(`DELETE FROM ${this.s}.watch_index`);
      for (let i = 0; i < entries.length; i += REBUILD_ROWS_PER_STATEMENT) {
        const rows = entries.slice(i, i + REBUILD_ROWS_PER_STATEMENT).map(([kind, key, value]) => ({ kind, key, value }));
        await tx.query(insertEntriesSql(this.s), [JSON.stringify(rows)]);
      }
    });
    return position;
  }

  /** Writes the changed entries (undefined: deleted) and moves the checkpoint from `from` to `to`, atomically; false when another writer moved it. */
  async write(changes: ReadonlyArray<[Kind, string, unknown]>, from: bigint, to: bigint): Promise<boolean> {
    try {
      await this.sql.executor.transaction(async (tx) => {
        const updated = await tx.query(
          `UPDATE ${this.s}.watch_index_state SET position = $2, updated_at = now() WHERE name = 'watch_index' AND version = $3 AND position = $1 RETURNING name`,
          [from.toString(), to.toString(), WATCH_INDEX_VERSION],
        );
        if (updated.length !== 1) throw new CheckpointMoved();
        const upserts = changes.filter(([, , value]) => value !== undefined).map(([kind, key, value]) => ({ kind, key, value }));
        const deletes = changes.filter(([, , value]) => value === undefined);
        if (upserts.length > 0) {
          await tx.query(`${insertEntriesSql(this.s)} ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value`, [JSON.stringify(upserts)]);
        }
        if (deletes.length > 0) {
          await tx.query(`DELETE FROM ${this.s}.watch_index WHERE (kind, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, [deletes.map(([kind]) => kind), deletes.map(([, key]) => key)]);
        }
      });
      return true;
    } catch (error) {
      if (error instanceof CheckpointMoved) return false;
      throw error;
    }
  }
}
