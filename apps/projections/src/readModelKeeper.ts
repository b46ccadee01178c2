import type { AuditableEventStore, StopWatchingAppends } from '@gatehouse/eventstore';
import type { ServiceLogger } from '@gatehouse/service-kit';
import { initialReadModel, READ_MODEL_VERSION, type ReadModel } from './readModel.js';
import { CheckpointMovedError, ReadModelTables, WRITE_BATCH_EVENTS, type Fold, type ReadModelState } from './readModelTables.js';

/** Pause between looks at the log once caught up (a store that signals appends wakes the keeper sooner). */
export const DEFAULT_FOLLOW_INTERVAL_MS = 100;

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
 * and the others, finding it moved, serve their own (complete) model and leave the tables to that one.
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

  private constructor(
    private readonly store: AuditableEventStore,
    private readonly fold: Fold,
    private readonly logger: ServiceLogger,
    private readonly followIntervalMs: number,
  ) {
    this.tables = store.sql === undefined ? undefined : new ReadModelTables(store.sql);
  }

  /** Opens the models (warm from the tables, or rebuilt), catches up with the log, then follows it. */
  static async start(store: AuditableEventStore, fold: Fold, logger: ServiceLogger, followIntervalMs = DEFAULT_FOLLOW_INTERVAL_MS): Promise<ReadModelKeeper> {
    const keeper = new ReadModelKeeper(store, fold, logger, followIntervalMs);
    await keeper.serially(() => keeper.open());
    await keeper.serially(() => keeper.catchUp());
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

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    await this.unwatch?.();
    await this.work.catch(() => undefined);
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.work.catch(() => undefined).then(task);
    this.work = result;
    return result;
  }

  private async open(): Promise<void> {
    if (this.tables === undefined) return;
    const state = await this.tables.state();
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
      const model = initialReadModel();
      let events = 0;
      for await (const event of this.store.readAll({ batchSize: WRITE_BATCH_EVENTS })) {
        this.fold(model, event);
        events += 1;
      }
      model.changes.clear();
      this.model = model;
      return events;
    }
    const rebuilt = await this.tables.rebuild(this.store, this.fold, this.state);
    this.model = rebuilt.model;
    this.state = rebuilt.state;
    this.writing = true;
    return rebuilt.events;
  }

  /** Folds the events after the model's position, writing every WRITE_BATCH_EVENTS events and at the end. */
  private async catchUp(): Promise<void> {
    const model = this.model;
    try {
      for await (const event of this.store.readAll({ after: model.position, batchSize: WRITE_BATCH_EVENTS })) {
        if (this.stopping) break;
        this.fold(model, event);
        if (model.changes.events >= WRITE_BATCH_EVENTS) await this.write(model);
      }
      await this.write(model);
    } catch (error) {
      if (!(error instanceof CheckpointMovedError)) throw error;
      // Another replica keeps the tables (it wrote or rebuilt them since): this one leaves the writing to it and
      // goes on serving its own model, complete in memory. A rebuild here makes it the writer again.
      this.logger.info({ error: error.message }, 'another replica keeps the read-model tables; this one stops writing them');
      this.writing = false;
      model.changes.clear();
    }
  }

  private async write(model: ReadModel): Promise<void> {
    if (this.tables === undefined || this.state === undefined || !this.writing) return void model.changes.clear();
    if (model.position === this.state.position) return;
    this.state = await this.tables.write(model, this.state);
  }

  private async follow(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.serially(() => this.catchUp());
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
