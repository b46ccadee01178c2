import type { AuditableEventStore, StopWatchingAppends } from '@gatehouse/eventstore';
import type { ServiceLogger } from '@gatehouse/service-kit';
import { initialReadModel, READ_MODEL_VERSION, type ReadModel } from './readModel.js';
import { CheckpointMovedError, ReadModelTables, WRITE_BATCH_EVENTS, type Fold, type ReadModelState } from './readModelTables.js';

/** Pause between looks at the log once caught up (a store that signals appends wakes the keeper sooner). */
export const DEFAULT_FOLLOW_INTERVAL_MS = 100;
/**
 * A replica that does not write the tables takes them over when their checkpoint row has not moved for this long
 * while the log has (the writing replica died or hangs). A live writer moves it within a write interval
 * (DEFAULT_WRITE_INTERVAL_MS, well below this) of an append, and a rebuild in progress touches it after every batch.
 */
export const DEFAULT_TAKEOVER_AFTER_MS = 15_000;
/**
 * While following the log, what was folded is written to the tables (with the checkpoint) at most this often,
 * or once WRITE_BATCH_EVENTS events wait. Queries read the model in memory, so this delays no answer: it only
 * bounds what a restart folds again. Writing after every wake-up cost a transaction of four or five statements
 * per few commands (a quarter of PostgreSQL's statements under load).
 */
export const DEFAULT_WRITE_INTERVAL_MS = 1_000;

export interface ReadModelKeeperOptions {
  /** @defaultValue DEFAULT_FOLLOW_INTERVAL_MS */
  followIntervalMs?: number;
  /** @defaultValue DEFAULT_TAKEOVER_AFTER_MS */
  takeoverAfterMs?: number;
  /** @defaultValue DEFAULT_WRITE_INTERVAL_MS */
  writeIntervalMs?: number;
}

export interface RebuildReport {
  /** Events read from the log to rebuild. */
  events: number;
  /** Global position the rebuilt models are at (decimal string). */
  position: string;
  /** Generation of the tables now live; null for a store without SQL (the models are only in memory). */
  generation: number | null;
  durationMs: number;
}

/**
 * Keeps the read models in step with the log: at start it warms the model from the tables and folds only the
 * events after their checkpoint (or rebuilds them, when there are none or they are of another version), then
 * follows the log, writing each batch with its checkpoint. One thing at a time: catching up, writing and
 * rebuilding run one after the other, so the checkpoint only ever describes what the tables hold.
 * Replicas share the tables; the checkpoint moves only from where a replica last saw it, so one of them writes
 * and the others, finding it moved, serve their own (complete) model and leave the tables to that one. When the
 * writer dies, the row stops moving while the log goes on: after `takeoverAfterMs` another replica loads the
 * tables as they are and writes from their checkpoint on (the compare-and-set keeps two that try at once from
 * both writing). Tables of a newer READ_MODEL_VERSION (a rolling upgrade) are left to the replicas of that
 * version: an older replica folds the log in memory and never writes or rebuilds them back.
 *
 * Over the in-memory store (tests) there are no tables: the model is folded from the log at start and only
 * kept in memory, as the log itself is.
 */
export class ReadModelKeeper {
  /** What queries read; replaced whole by a rebuild or a reload, so a reader never sees a half-swapped model. */
  model: ReadModel = initialReadModel();
  private state: ReadModelState | undefined;
  private work: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> = Promise.resolve();
  private unwatch: StopWatchingAppends | undefined;
  private readonly tables: ReadModelTables | undefined;
  /** False once another replica was found keeping the tables. */
  private writing = true;
  /** While not writing: the state row as last seen, and since when (performance.now()) it has not changed. */
  private watched: { key: string; since: number } | undefined;
  private readonly followIntervalMs: number;
  private readonly takeoverAfterMs: number;
  private readonly writeIntervalMs: number;
  /** When the tables last held what the model holds (performance.now()). */
  private writtenAt = performance.now();

  private constructor(
    private readonly store: AuditableEventStore,
    private readonly fold: Fold,
    private readonly logger: ServiceLogger,
    options: ReadModelKeeperOptions,
  ) {
    this.tables = store.sql === undefined ? undefined : new ReadModelTables(store.sql);
    this.followIntervalMs = options.followIntervalMs ?? DEFAULT_FOLLOW_INTERVAL_MS;
    this.takeoverAfterMs = options.takeoverAfterMs ?? DEFAULT_TAKEOVER_AFTER_MS;
    this.writeIntervalMs = options.writeIntervalMs ?? DEFAULT_WRITE_INTERVAL_MS;
  }

  /** Whether this replica writes the tables (false: another one does, or they are of a newer version, or there are none). */
  get isWriter(): boolean {
    return this.tables !== undefined && this.writing;
  }

  /** Opens the models (warm from the tables, or rebuilt), catches up with the log, then follows it. */
  static async start(store: AuditableEventStore, fold: Fold, logger: ServiceLogger, options: ReadModelKeeperOptions = {}): Promise<ReadModelKeeper> {
    const keeper = new ReadModelKeeper(store, fold, logger, options);
    await keeper.serially(() => keeper.open());
    await keeper.serially(() => keeper.catchUp({ writeAll: true }));
    keeper.unwatch = await store.watchAppends?.(() => keeper.wake?.(), { onError: (error) => logger.warn({ error: String(error) }, 'append wake-ups lost; following the log by polling until they are back') });
    keeper.running = keeper.follow();
    return keeper;
  }

  /** Rebuilds the models from the whole log into fresh tables and swaps them in; queries read the current ones meanwhile. */
  rebuild(): Promise<RebuildReport> {
    return this.serially(async () => {
      const startedAt = performance.now();
      const events = await this.rebuildNow();
      return { events, position: String(this.model.position), generation: this.state?.generation ?? null, durationMs: Math.round(performance.now() - startedAt) };
    });
  }

  /** Stops following the log and writes what was folded since the last write. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    await this.unwatch?.();
    await this.serially(() => this.writePending(this.model)).catch((error: unknown) => {
      // Not written now: the next start folds these events again from the checkpoint.
      this.logger.warn({ error: String(error), position: String(this.model.position) }, 'read-model changes not written at stop');
    });
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.work.catch(() => undefined).then(task);
    this.work = result;
    return result;
  }

  private async open(): Promise<void> {
    if (this.tables === undefined) return;
    const state = await this.tables.state();
    if (state !== undefined && state.version > READ_MODEL_VERSION) {
      // A newer version keeps the tables (a rolling upgrade in progress): rebuilding them back to this version would
      // make the two versions rebuild them in turn. Fold the log in memory and leave them alone.
      this.logger.warn({ storedVersion: state.version, version: READ_MODEL_VERSION, schema: this.tables.schema }, 'read-model tables of a newer version: this replica serves from memory and leaves the tables to that version');
      this.state = state;
      this.writing = false;
      this.model = (await this.foldInMemory()).model;
      return;
    }
    if (state !== undefined && state.version === READ_MODEL_VERSION) {
      await this.tables.dropStaleGenerations(state.generation);
      this.model = await this.tables.load(state);
      this.state = state;
      this.logger.info({ position: String(state.position), generation: state.generation, schema: this.tables.schema }, 'read models loaded from their tables; resuming after their checkpoint');
      return;
    }
    this.logger.info(
      { storedVersion: state?.version ?? null, version: READ_MODEL_VERSION, schema: this.tables.schema },
      state === undefined ? 'no read-model tables yet: building them from the log' : 'read-model tables of another version: rebuilding them from the log',
    );
    this.state = state;
    try {
      await this.rebuildNow();
    } catch (error) {
      if (!(error instanceof CheckpointMovedError)) throw error;
      // Another replica built them first: use its tables.
      await this.open();
    }
  }

  /** Folds from the whole log; with tables, into a new generation swapped in at the end. Returns the events read. */
  private async rebuildNow(): Promise<number> {
    if (this.tables === undefined) {
      const { model, events } = await this.foldInMemory();
      this.model = model;
      return events;
    }
    const rebuilt = await this.tables.rebuild(this.store, this.fold, this.state);
    this.model = rebuilt.model;
    this.state = rebuilt.state;
    this.writing = true;
    return rebuilt.events;
  }

  /** The models folded from the whole log, in memory only, and the number of events read. */
  private async foldInMemory(): Promise<{ model: ReadModel; events: number }> {
    const model = initialReadModel();
    let events = 0;
    for await (const event of this.store.readAll({ batchSize: WRITE_BATCH_EVENTS })) {
      this.fold(model, event);
      events += 1;
    }
    model.changes.clear();
    return { model, events };
  }

  /**
   * While another replica writes: takes the tables over when their state row stood still for `takeoverAfterMs`
   * while this replica's model moved past it. Loads them as they are, so the catch-up that follows writes
   * everything after their checkpoint; if the other writer was alive after all, its next write or this one's
   * fails the compare-and-set and one of them goes back to serving from memory.
   */
  private async considerTakeover(): Promise<void> {
    if (this.tables === undefined || this.writing) return;
    const row = await this.tables.peek();
    // Tables of another version are that version's; none at all: a rebuild (on demand) makes them.
    if (row === undefined || row.version !== READ_MODEL_VERSION) return void (this.watched = undefined);
    const key = `${row.generation}:${row.position}:${row.touchedAt ?? ''}`;
    const now = performance.now();
    if (this.watched?.key !== key) return void (this.watched = { key, since: now });
    if (row.position === this.model.position || now - this.watched.since < this.takeoverAfterMs) return;
    this.logger.warn(
      { position: String(row.position), generation: row.generation, stillForMs: Math.round(now - this.watched.since), modelPosition: String(this.model.position) },
      'the replica writing the read-model tables stopped while the log moved on: this one takes them over',
    );
    this.model = await this.tables.load(row);
    this.state = row;
    this.writing = true;
    this.watched = undefined;
  }

  /**
   * Folds the events after the model's position, writing every WRITE_BATCH_EVENTS events; at the end, writes
   * what is left when `writeAll` or when the last write is writeIntervalMs old.
   */
  private async catchUp({ writeAll = false }: { writeAll?: boolean } = {}): Promise<void> {
    const model = this.model;
    try {
      for await (const event of this.store.readAll({ after: model.position, batchSize: WRITE_BATCH_EVENTS })) {
        if (this.stopping) break;
        this.fold(model, event);
        if (model.changes.events >= WRITE_BATCH_EVENTS) await this.write(model);
      }
      if (writeAll || performance.now() - this.writtenAt >= this.writeIntervalMs) await this.write(model);
    } catch (error) {
      this.leaveTablesIfMoved(error, model);
    }
  }

  /**
   * Another replica keeps the tables (it wrote or rebuilt them since): this one leaves the writing to it and goes
   * on serving its own model, complete in memory. A rebuild here makes it the writer again. Rethrows any other error.
   */
  private leaveTablesIfMoved(error: unknown, model: ReadModel): void {
    if (!(error instanceof CheckpointMovedError)) throw error;
    this.logger.info({ error: error.message }, 'another replica keeps the read-model tables; this one stops writing them');
    this.writing = false;
    model.changes.clear();
  }

  private async write(model: ReadModel): Promise<void> {
    if (this.tables === undefined || this.state === undefined || !this.writing) return void model.changes.clear();
    if (model.position !== this.state.position) this.state = await this.tables.write(model, this.state);
    // The tables hold what the model holds (written now, or already): the interval runs from here.
    this.writtenAt = performance.now();
  }

  /** Writes what was folded since the last write, if this replica writes; a checkpoint another writer moved leaves it to that one. */
  private async writePending(model: ReadModel): Promise<void> {
    try {
      await this.write(model);
    } catch (error) {
      this.leaveTablesIfMoved(error, model);
    }
  }

  private async follow(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.serially(async () => {
          await this.considerTakeover();
          await this.catchUp();
        });
      } catch (error) {
        // The store briefly away, or a write refused: the model is as of its last write; the next round retries from there.
        // The store briefly away: the model holds what it folded, and its changes stay pending until a write commits.
        this.logger.error({ error: String(error), position: String(this.model.position) }, 'following the log for the read models failed; retrying');
      }
      if (!this.stopping) await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.followIntervalMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
