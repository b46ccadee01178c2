import { PROJECTIONS_CONTEXT, ProjectionQueryPayload, type ProjectionQueryResult } from '@gatehouse/contracts';
import { parseOrThrow, ValidationError } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { busCommand, busConsumer, busEvents, registeredCounter, SERVICE_CONTEXT, type ServiceContext } from '@gatehouse/service-kit';
import { Controller, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import type { Counter } from 'prom-client';
import { queryReadModel } from './query.js';
import { evolveReadModel, initialReadModel, type ReadModel } from './readModel.js';

/**
 * The ops read models, in memory: rebuilt from position 0 at every start (readAll, before the service
 * listens), then followed live. Events at or below the model's position are skipped, so the overlap
 * between rebuild and subscription is harmless.
 */
@Injectable()
export class LiveReadModel implements OnModuleInit {
  // Owned here and updated in place; commands and events run on this one thread, so a query sees whole events.
  readonly model: ReadModel = initialReadModel();
  readonly queries: Counter<'view' | 'outcome'>;
  private readonly applied: Counter;

  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {
    this.applied = registeredCounter(ctx.metrics, 'gatehouse_projections_events_applied_total', 'Events folded into the read models', []);
    this.queries = registeredCounter(ctx.metrics, 'gatehouse_projections_queries_total', 'Queries answered, by view and outcome', ['view', 'outcome']);
  }

  async onModuleInit(): Promise<void> {
    for await (const event of this.ctx.store.readAll()) this.apply(event);
  }

  apply(event: StoredEvent): void {
    const before = this.model.position;
    try {
      evolveReadModel(this.model, event);
    } catch (error) {
      // One malformed event must not stop every view: skip it, visibly (evolveReadModel wrote nothing of it).
      this.model.position = event.globalPosition;
      this.ctx.logger.error({ eventId: event.id, type: event.type, streamId: event.streamId, error: String(error) }, 'event could not be projected; skipped');
    }
    if (this.model.position !== before) this.applied.inc();
  }
}

/** `projections.query`, and the replay subscription over every category that keeps the models live (no durable state). */
@Controller()
export class ProjectionsController {
  constructor(@Inject(LiveReadModel) private readonly readModel: LiveReadModel) {}

  @EventPattern(busConsumer('projections'), busEvents({ replay: true }))
  follow(@Payload() event: StoredEvent): void {
    this.readModel.apply(event);
  }

  @MessagePattern(busCommand(PROJECTIONS_CONTEXT, 'query'))
  query(@Payload() raw: unknown): ProjectionQueryResult {
    const view = typeof raw === 'object' && raw !== null && typeof (raw as { view?: unknown }).view === 'string' ? (raw as { view: string }).view : 'unknown';
    try {
      const result = queryReadModel(this.readModel.model, parseOrThrow(ProjectionQueryPayload, raw, 'projections.query'));
      this.readModel.queries.inc({ view, outcome: 'ok' });
      return result;
    } catch (error) {
      this.readModel.queries.inc({ view: error instanceof ValidationError ? 'invalid' : view, outcome: error instanceof ValidationError ? 'invalid' : 'error' });
      throw error;
    }
  }
}
