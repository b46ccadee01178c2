import { PROJECTIONS_CONTEXT, ProjectionQueryPayload, type ProjectionQueryResult } from '@gatehouse/contracts';
import { parseOrThrow, ValidationError } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { registeredCounter, type ServiceDefinition } from '@gatehouse/service-kit';
import type { Registry } from 'prom-client';
import { queryReadModel } from './query.js';
import { evolveReadModel, initialReadModel, type ReadModel } from './readModel.js';

/**
 * Projections: ops read models over the whole log, served by `projections.query`. The models live in
 * memory and are rebuilt from position 0 at every start (readAll), then followed live by a replay
 * consumer over every category (no durable state: nothing is left behind on the bus or in the store);
 * events at or below the model's position are skipped, so the overlap between rebuild and subscription
 * is harmless.
 */
export const projectionsService: ServiceDefinition = {
  name: PROJECTIONS_CONTEXT,
  async start(ctx) {
    const metrics = projectionMetrics(ctx.metrics);
    // Owned here and updated in place; commands and events run on this one thread, so a query sees whole events.
    const model: ReadModel = initialReadModel();
    const apply = (event: StoredEvent): void => {
      const before = model.position;
      try {
        evolveReadModel(model, event);
      } catch (error) {
        // One malformed event must not stop every view: skip it, visibly (evolveReadModel wrote nothing of it).
        model.position = event.globalPosition;
        ctx.logger.error({ eventId: event.id, type: event.type, streamId: event.streamId, error: String(error) }, 'event could not be projected; skipped');
      }
      if (model.position !== before) metrics.applied.inc();
    };
    for await (const event of ctx.store.readAll()) apply(event);
    const consumer = await ctx.events.consume({ name: 'projections', replay: true, handler: ({ event }) => apply(event) });
    const unregister = await ctx.commands.register<unknown, ProjectionQueryResult>(PROJECTIONS_CONTEXT, 'query', (raw) => {
      const view = typeof raw === 'object' && raw !== null && typeof (raw as { view?: unknown }).view === 'string' ? (raw as { view: string }).view : 'unknown';
      try {
        const result = queryReadModel(model, parseOrThrow(ProjectionQueryPayload, raw, 'projections.query'));
        metrics.queries.inc({ view, outcome: 'ok' });
        return result;
      } catch (error) {
        metrics.queries.inc({ view: error instanceof ValidationError ? 'invalid' : view, outcome: error instanceof ValidationError ? 'invalid' : 'error' });
        throw error;
      }
    });
    return {
      async stop() {
        await unregister();
        await consumer.stop();
      },
    };
  },
};

function projectionMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    applied: counter('gatehouse_projections_events_applied_total', 'Events folded into the read models', []),
    queries: counter('gatehouse_projections_queries_total', 'Queries answered, by view and outcome', ['view', 'outcome']),
  };
}
