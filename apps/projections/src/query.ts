import type { ProjectionQueryPayload, ProjectionQueryResult } from '@gatehouse/contracts';
import { changeRequestViews, pendingApprovalViews, type ReadModel } from './readModel.js';

const byTime = <T>(key: (item: T) => string) => (a: T, b: T) => Date.parse(key(a)) - Date.parse(key(b));

/** Answers a validated query from the read model; pure. */
export function queryReadModel(model: ReadModel, query: ProjectionQueryPayload): ProjectionQueryResult {
  const asOfPosition = String(model.position);
  switch (query.view) {
    case 'changeRequests': {
      const { status, environment, service, kind, limit } = query.filter;
      const items = changeRequestViews(model)
        .filter((c) => (status === undefined || c.status === status) && (environment === undefined || c.environments.includes(environment)) && (service === undefined || c.service === service) && (kind === undefined || c.kind === kind))
        .sort(byTime((c) => c.updatedAt))
        .reverse();
      return { asOfPosition, items: limit === undefined ? items : items.slice(0, limit) };
    }
    case 'pendingApprovals': {
      const { role, environment, changeRequestId } = query.filter;
      const items = pendingApprovalViews(model).filter((p) => (role === undefined || p.role === role) && (environment === undefined || p.environment === environment) && (changeRequestId === undefined || p.changeRequestId === changeRequestId));
      return { asOfPosition, items };
    }
    case 'schedule': {
      const { environment, from, to } = query.filter;
      const items = Object.values(model.schedule)
        .filter((s) => (environment === undefined || s.environment === environment) && (from === undefined || Date.parse(s.scheduledFor) >= Date.parse(from)) && (to === undefined || Date.parse(s.scheduledFor) < Date.parse(to)))
        .sort(byTime((s) => s.scheduledFor));
      return { asOfPosition, items };
    }
    case 'versions': {
      const { service, environment } = query.filter;
      const items = Object.values(model.versions).filter((v) => (service === undefined || v.service === service) && (environment === undefined || v.environment === environment));
      return { asOfPosition, items };
    }
    case 'activeDeployments': {
      const { service, environment } = query.filter;
      const items = Object.values(model.activeDeployments).filter((d) => (service === undefined || d.service === service) && (environment === undefined || d.environment === environment));
      return { asOfPosition, items };
    }
    case 'changeHistory':
      return { asOfPosition, items: [...(model.history[query.filter.changeRequestId] ?? [])] };
  }
}
