import type { ProjectionQueryPayload, ProjectionQueryResult } from '@gatehouse/contracts';
import type { EventStore } from '@gatehouse/eventstore';
import { readChangeHistory } from './changeHistory.js';
import { changeRequestView, pendingApprovalViews, type ReadModel } from './readModel.js';

/** The views the read model answers; a change's history is read from the log (changeHistory.ts). */
export type ReadModelQuery = Exclude<ProjectionQueryPayload, { view: 'changeHistory' }>;

/**
 * Answers a validated query: the views from the read model, a change's history from the log. The history is
 * read when asked, so it holds at least every event up to the model's `asOfPosition` that it answers with.
 */
export async function answerQuery(model: ReadModel, store: Pick<EventStore, 'readStream'>, query: ProjectionQueryPayload): Promise<ProjectionQueryResult> {
  if (query.view !== 'changeHistory') return queryReadModel(model, query);
  const asOfPosition = String(model.position);
  return { asOfPosition, items: await readChangeHistory(store, query.filter.changeRequestId) };
}

/** Answers a validated query from the read model; reads it, never changes it. */
export function queryReadModel(model: ReadModel, query: ReadModelQuery): ProjectionQueryResult {
  const asOfPosition = String(model.position);
  switch (query.view) {
    case 'changeRequests': {
      const { limit, ...filter } = query.filter;
      // Selected on the indexed fields first: views are built only for the changes answered with.
      const items = model.changeRequests.select(filter, limit).map((change) => changeRequestView(model, change));
      return { asOfPosition, items };
    }
    case 'pendingApprovals': {
      const { role, environment, changeRequestId } = query.filter;
      const items = pendingApprovalViews(model).filter((p) => (role === undefined || p.role === role) && (environment === undefined || p.environment === environment) && (changeRequestId === undefined || p.changeRequestId === changeRequestId));
      return { asOfPosition, items };
    }
    case 'schedule': {
      const { environment } = query.filter;
      const from = query.filter.from === undefined ? undefined : Date.parse(query.filter.from);
      const to = query.filter.to === undefined ? undefined : Date.parse(query.filter.to);
      const items = [...model.schedule.values()]
        .filter((s) => (environment === undefined || s.view.environment === environment) && (from === undefined || s.startsAt >= from) && (to === undefined || s.startsAt < to))
        .sort((a, b) => a.startsAt - b.startsAt)
        .map((s) => s.view);
      return { asOfPosition, items };
    }
    case 'versions': {
      const { service, environment } = query.filter;
      const items = [...model.versions.values()].filter((v) => (service === undefined || v.service === service) && (environment === undefined || v.environment === environment));
      return { asOfPosition, items };
    }
    case 'activeDeployments': {
      const { service, environment } = query.filter;
      const items = [...model.activeDeployments.values()].filter((d) => (service === undefined || d.service === service) && (environment === undefined || d.environment === environment));
      return { asOfPosition, items };
    }
  }
}
