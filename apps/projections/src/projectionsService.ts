import { requireCaller } from '@gatehouse/bus';
import { PROJECTIONS_CONTEXT, ProjectionQueryPayload, ProjectionRebuildPayload, READ_MODEL_ADMIN_ROLES, type ProjectionQueryResult } from '@gatehouse/contracts';
import { DomainError, parseOrThrow, ValidationError } from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';
import { registeredCounter, type ServiceDefinition } from '@gatehouse/service-kit';
import type { Registry } from 'prom-client';
import { queryReadModel } from './query.js';
import { evolveReadModel, type ReadModel } from './readModel.js';
import { ReadModelKeeper, type RebuildReport } from './readModelKeeper.js';

/**
 * Projections: ops read models over the whole log, served by `projections.query`. The models are kept in
 * tables of the service's own schema in the store's database with a checkpoint (readModelTables.ts), and
 * cached in memory: a start loads the tables and folds only the events after the checkpoint, then follows
 * the log. `projections.rebuild` (sre, release_engineer) rebuilds them from the whole log into fresh tables.
 */
export const projectionsService: ServiceDefinition = {
  name: PROJECTIONS_CONTEXT,
  async start(ctx) {
    const metrics = projectionMetrics(ctx.metrics);
    const fold = (model: ReadModel, event: StoredEvent): void => {
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
    const keeper = await ReadModelKeeper.start(ctx.store, fold, ctx.logger, ctx.tickIntervalMs);
    const unregisterQuery = await ctx.commands.register<unknown, ProjectionQueryResult>(PROJECTIONS_CONTEXT, 'query', (raw) => {
      const view = typeof raw === 'object' && raw !== null && typeof (raw as { view?: unknown }).view === 'string' ? (raw as { view: string }).view : 'unknown';
      try {
        const result = queryReadModel(keeper.model, parseOrThrow(ProjectionQueryPayload, raw, 'projections.query'));
        metrics.queries.inc({ view, outcome: 'ok' });
        return result;
      } catch (error) {
        metrics.queries.inc({ view: error instanceof ValidationError ? 'invalid' : view, outcome: error instanceof ValidationError ? 'invalid' : 'error' });
        throw error;
      }
    });
    const unregisterRebuild = await ctx.commands.register<unknown, RebuildReport & { requestedBy: string }>(PROJECTIONS_CONTEXT, 'rebuild', async (raw, meta) => {
      const caller = requireCaller(meta);
      if (!caller.roles.some((role) => READ_MODEL_ADMIN_ROLES.includes(role))) {
        throw new RebuildForbiddenError(caller.subject);
      }
      parseOrThrow(ProjectionRebuildPayload, raw, 'projections.rebuild');
      ctx.logger.info({ requestedBy: caller.subject }, 'read-model rebuild requested');
      const report = await keeper.rebuild();
      metrics.rebuilds.inc();
      ctx.logger.info({ requestedBy: caller.subject, ...report }, 'read models rebuilt from the log and swapped in');
      return { ...report, requestedBy: caller.subject };
    });
    return {
      async stop() {
        await unregisterRebuild();
        await unregisterQuery();
        await keeper.stop();
      },
    };
  },
};

/** The caller holds none of READ_MODEL_ADMIN_ROLES; nothing was rebuilt. */
export class RebuildForbiddenError extends DomainError {
  override readonly name = 'RebuildForbiddenError';
  readonly code = 'REBUILD_FORBIDDEN' as const;
  constructor(readonly subject: string) {
    super(`${subject} may not rebuild the read models: it takes one of the roles ${READ_MODEL_ADMIN_ROLES.join(', ')}`);
  }
}

function projectionMetrics(registry: Registry) {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => registeredCounter(registry, name, help, labelNames);
  return {
    applied: counter('gatehouse_projections_events_applied_total', 'Events folded into the read models', []),
    queries: counter('gatehouse_projections_queries_total', 'Queries answered, by view and outcome', ['view', 'outcome']),
    rebuilds: counter('gatehouse_projections_rebuilds_total', 'Rebuilds of the read models from the whole log, on demand', []),
  };
}
