import { requireCaller } from '@gatehouse/bus';
import { PROJECTIONS_CONTEXT, ProjectionQueryPayload, type ProjectionQueryResult, ProjectionRebuildPayload, READ_MODEL_ADMIN_ROLES } from '@gatehouse/contracts';
import { parseOrThrow, ValidationError } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, type CommandRpcContext, registeredCounter, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import type { Counter } from 'prom-client';
import { RebuildForbiddenError } from './projectionsService.js';
import { answerQuery } from './query.js';
import { evolveReadModel, type ReadModel } from './readModel.js';
import { ReadModelKeeper, type RebuildReport } from './readModelKeeper.js';

/**
 * The ops read models, kept by a {@link ReadModelKeeper}: opened from the tables (or rebuilt) and caught up with
 * the log in onModuleInit, before the service listens; it then follows the log until the module is destroyed.
 */
@Injectable()
export class KeptReadModels implements OnModuleInit, OnModuleDestroy {
  readonly queries: Counter<'view' | 'outcome'>;
  readonly rebuilds: Counter;
  private readonly applied: Counter;
  private keeper: ReadModelKeeper | undefined;

  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {
    this.applied = registeredCounter(ctx.metrics, 'gatehouse_projections_events_applied_total', 'Events folded into the read models', []);
    this.queries = registeredCounter(ctx.metrics, 'gatehouse_projections_queries_total', 'Queries answered, by view and outcome', ['view', 'outcome']);
    this.rebuilds = registeredCounter(ctx.metrics, 'gatehouse_projections_rebuilds_total', 'Rebuilds of the read models from the whole log, on demand', []);
  }

  async onModuleInit(): Promise<void> {
    this.keeper = await ReadModelKeeper.start(this.ctx.store, (model, event) => this.fold(model, event), this.ctx.logger, { followIntervalMs: this.ctx.tickIntervalMs });
  }

  async onModuleDestroy(): Promise<void> {
    await this.keeper?.stop();
  }

  /** What queries read (the keeper replaces it whole on a rebuild or a reload). */
  get model(): ReadModel {
    return this.started().model;
  }

  rebuild(): Promise<RebuildReport> {
    return this.started().rebuild();
  }

  private started(): ReadModelKeeper {
    if (this.keeper === undefined) throw new Error('the read models are not open yet');
    return this.keeper;
  }

  private fold(model: ReadModel, event: StoredEvent): void {
    const before = model.position;
    try {
      evolveReadModel(model, event);
    } catch (error) {
      // One malformed event must not stop every view: skip it, visibly (evolveReadModel wrote nothing of it).
      model.position = event.globalPosition;
      this.ctx.logger.error({ eventId: event.id, type: event.type, streamId: event.streamId, error: String(error) }, 'event could not be projected; skipped');
    }
    if (model.position !== before) this.applied.inc();
  }
}

/** `projections.query`, and `projections.rebuild` for sre and release_engineer. */
@Controller()
export class ProjectionsController {
  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(KeptReadModels) private readonly readModels: KeptReadModels,
  ) {}

  @MessagePattern(busCommand(PROJECTIONS_CONTEXT, 'query'))
  async query(@Payload() raw: unknown): Promise<ProjectionQueryResult> {
    const view = typeof raw === 'object' && raw !== null && typeof (raw as { view?: unknown }).view === 'string' ? (raw as { view: string }).view : 'unknown';
    try {
      const result = await answerQuery(this.readModels.model, this.ctx.store, parseOrThrow(ProjectionQueryPayload, raw, 'projections.query'));
      this.readModels.queries.inc({ view, outcome: 'ok' });
      return result;
    } catch (error) {
      this.readModels.queries.inc({ view: error instanceof ValidationError ? 'invalid' : view, outcome: error instanceof ValidationError ? 'invalid' : 'error' });
      throw error;
    }
  }

  @MessagePattern(busCommand(PROJECTIONS_CONTEXT, 'rebuild'))
  async rebuild(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): Promise<RebuildReport & { requestedBy: string }> {
    const caller = requireCaller(rpc.getCommand());
    if (!caller.roles.some((role) => READ_MODEL_ADMIN_ROLES.includes(role))) throw new RebuildForbiddenError(caller.subject);
    parseOrThrow(ProjectionRebuildPayload, raw, 'projections.rebuild');
    this.ctx.logger.info({ requestedBy: caller.subject }, 'read-model rebuild requested');
    const report = await this.readModels.rebuild();
    this.readModels.rebuilds.inc();
    this.ctx.logger.info({ requestedBy: caller.subject, ...report }, 'read models rebuilt from the log and swapped in');
    return { ...report, requestedBy: caller.subject };
  }
}
