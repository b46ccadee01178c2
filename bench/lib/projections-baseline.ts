/**
 * BASELINE — not used by the service. The projections read model and query exactly as they were before
 * the read model became mutable and indexed (apps/projections/src/readModel.ts and query.ts at f197cee),
 * copied verbatim (the two files concatenated; query.ts's import of './readModel.js' dropped) so that
 * bench/projections.bench.ts compares the new implementation with the old one in the same run.
 * Do not fix or optimise it: that would make the comparison dishonest.
 */
// ---------------------------------------------------------------- apps/projections/src/readModel.ts
/**
 * The ops read models, folded from the whole event log. Pure: `evolveReadModel(model, event)` returns the
 * next model and never touches the input. Change requests and approvals are folded with the domain's own
 * deciders so their status means exactly what the write side means; other contexts' events are read by
 * their contract names and fields, tolerating fields added later.
 */
import {
  approvalDecider,
  changeRequestDecider,
  outstandingApprovals,
  type ApprovalEvent,
  type ApprovalState,
  type ChangeRequestEvent,
  type ChangeRequestState,
} from '@gatehouse/domain';
import type { StoredEvent } from '@gatehouse/eventstore';

export interface ChangeRequestView {
  changeRequestId: string;
  status: string;
  kind: string;
  title: string;
  environments: string[];
  releaseId: string | null;
  service: string | null;
  version: string | null;
  risk: { level: string; score: number };
  updatedAt: string;
}
export interface PendingApprovalView {
  changeRequestId: string;
  approvalId: string;
  environment: string;
  role: string;
  missing: number;
  onCall: boolean;
}
export interface ScheduledDeploymentView {
  changeRequestId: string;
  releaseId: string | null;
  service: string;
  version: string;
  environment: string;
  changeType: string | null;
  strategy: string | null;
  scheduledFor: string;
  windowId: string | null;
  status: 'booked' | 'due' | 'started';
}
export interface RunningVersionView {
  service: string;
  environment: string;
  version: string;
  changeRequestId: string;
  since: string;
  /** Versions that ran before, newest first; a rollback returns to the head of this list. */
  previous: string[];
}
export interface ActiveDeploymentView {
  deploymentId: string;
  changeRequestId: string;
  service: string;
  version: string;
  environment: string;
  strategy: string | null;
  totalSteps: number;
  /** 1-based number of the step in progress or last completed; 0 before the first step. */
  currentStep: number;
  currentStepName: string | null;
  trafficPercent: number;
  startedAt: string;
}
export interface HistoryEntry {
  position: string;
  streamId: string;
  type: string;
  recordedAt: string;
  actor: string | null;
  reason: string | null;
  data: unknown;
}

export interface ReadModel {
  /** Global position of the last event folded in; "0" before any. */
  position: bigint;
  changeRequests: Readonly<Record<string, { state: ChangeRequestState; updatedAt: string }>>;
  approvals: Readonly<Record<string, ApprovalState>>;
  releases: Readonly<Record<string, { service: string; version: string }>>;
  schedule: Readonly<Record<string, ScheduledDeploymentView>>;
  versions: Readonly<Record<string, RunningVersionView>>;
  activeDeployments: Readonly<Record<string, ActiveDeploymentView>>;
  history: Readonly<Record<string, readonly HistoryEntry[]>>;
}

export const initialReadModel = (): ReadModel => ({
  position: 0n,
  changeRequests: {},
  approvals: {},
  releases: {},
  schedule: {},
  versions: {},
  activeDeployments: {},
  history: {},
});

/** Streams whose id is `<category>-<changeRequestId>`: together they are one change's history. */
export const CHANGE_STREAM_CATEGORIES = ['changeRequest', 'approval', 'schedule', 'deployment', 'watch'] as const;
/** Events kept in a change's history without their data (they can be large and are in the log). */
const SUMMARISED_IN_HISTORY = new Set(['MetricSamplesRecorded']);

export function splitStreamId(streamId: string): { category: string; id: string } {
  const dash = streamId.indexOf('-');
  return dash < 0 ? { category: streamId, id: '' } : { category: streamId.slice(0, dash), id: streamId.slice(dash + 1) };
}

type Data = Record<string, unknown>;
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

export function evolveReadModel(model: ReadModel, event: StoredEvent): ReadModel {
  if (event.globalPosition <= model.position) return model;
  const { category, id } = splitStreamId(event.streamId);
  const data = (event.data ?? {}) as Data;
  const next: ReadModel = { ...model, position: event.globalPosition };
  if ((CHANGE_STREAM_CATEGORIES as readonly string[]).includes(category) && id !== '') next.history = appendHistory(model.history, id, event, data);
  switch (category) {
    case 'release':
      if (event.type === 'ReleasePlanned' && str(data.service) !== null && str(data.version) !== null) {
        next.releases = { ...model.releases, [id]: { service: data.service as string, version: data.version as string } };
      }
      return next;
    case 'changeRequest': {
      const current = model.changeRequests[id]?.state ?? changeRequestDecider.initialState();
      const state = changeRequestDecider.evolve(current, { type: event.type, data } as unknown as ChangeRequestEvent);
      next.changeRequests = { ...model.changeRequests, [id]: { state, updatedAt: event.recordedAt.toISOString() } };
      return next;
    }
    case 'approval': {
      const current = model.approvals[id] ?? approvalDecider.initialState();
      next.approvals = { ...model.approvals, [id]: approvalDecider.evolve(current, { type: event.type, data } as unknown as ApprovalEvent) };
      return next;
    }
    case 'schedule':
      next.schedule = evolveSchedule(model.schedule, id, event.type, data);
      return next;
    case 'deployment':
      next.activeDeployments = evolveActiveDeployments(model.activeDeployments, id, event, data);
      next.versions = evolveVersions(model.versions, model.activeDeployments[id], event, data);
      next.schedule = event.type === 'DeploymentStarted' && model.schedule[id] !== undefined ? { ...model.schedule, [id]: { ...model.schedule[id]!, status: 'started' } } : next.schedule;
      return next;
    default:
      return next;
  }
}

function appendHistory(history: ReadModel['history'], changeRequestId: string, event: StoredEvent, data: Data): ReadModel['history'] {
  const entry: HistoryEntry = {
    position: String(event.globalPosition),
    streamId: event.streamId,
    type: event.type,
    recordedAt: event.recordedAt.toISOString(),
    actor: str(event.metadata.actor),
    reason: str(data.reason),
    data: SUMMARISED_IN_HISTORY.has(event.type) ? { samples: Array.isArray(data.samples) ? data.samples.length : 0 } : data,
  };
  return { ...history, [changeRequestId]: [...(history[changeRequestId] ?? []), entry] };
}

function evolveSchedule(schedule: ReadModel['schedule'], changeRequestId: string, type: string, data: Data): ReadModel['schedule'] {
  switch (type) {
    case 'DeploymentScheduled':
    case 'DeploymentRescheduled': {
      const scheduledFor = str(data.scheduledFor);
      if (scheduledFor === null) return schedule;
      return {
        ...schedule,
        [changeRequestId]: {
          changeRequestId,
          releaseId: str(data.releaseId),
          service: str(data.service) ?? '',
          version: str(data.version) ?? '',
          environment: str(data.environment) ?? '',
          changeType: str(data.changeType),
          strategy: str(data.strategy),
          scheduledFor,
          windowId: str(data.windowId),
          status: 'booked',
        },
      };
    }
    case 'DeploymentDue':
      return schedule[changeRequestId] === undefined ? schedule : { ...schedule, [changeRequestId]: { ...schedule[changeRequestId]!, status: 'due' } };
    default:
      return schedule;
  }
}

const DEPLOYMENT_ENDINGS = new Set(['DeploymentSucceeded', 'DeploymentFailed', 'DeploymentAborted', 'DeploymentRolledBack']);

function evolveActiveDeployments(active: ReadModel['activeDeployments'], changeRequestId: string, event: StoredEvent, data: Data): ReadModel['activeDeployments'] {
  if (event.type === 'DeploymentStarted') {
    const steps = Array.isArray(data.steps) ? data.steps : [];
    return {
      ...active,
      [changeRequestId]: {
        deploymentId: str(data.deploymentId) ?? changeRequestId,
        changeRequestId,
        service: str(data.service) ?? '',
        version: str(data.version) ?? '',
        environment: str(data.environment) ?? '',
        strategy: str(data.strategy),
        totalSteps: steps.length,
        currentStep: 0,
        currentStepName: null,
        trafficPercent: 0,
        startedAt: str(data.startedAt) ?? event.recordedAt.toISOString(),
      },
    };
  }
  const deployment = active[changeRequestId];
  if (deployment === undefined) return active;
  if (event.type === 'DeploymentStepStarted' || event.type === 'DeploymentStepCompleted') {
    const index = num(data.index) ?? deployment.currentStep - 1;
    return {
      ...active,
      [changeRequestId]: { ...deployment, currentStep: index + 1, currentStepName: str(data.name) ?? deployment.currentStepName, trafficPercent: num(data.trafficPercent) ?? deployment.trafficPercent },
    };
  }
  if (DEPLOYMENT_ENDINGS.has(event.type)) {
    const { [changeRequestId]: _ended, ...rest } = active;
    return rest;
  }
  return active;
}

function evolveVersions(versions: ReadModel['versions'], deployment: ActiveDeploymentView | undefined, event: StoredEvent, data: Data): ReadModel['versions'] {
  const service = str(data.service) ?? deployment?.service ?? null;
  const environment = str(data.environment) ?? deployment?.environment ?? null;
  if (service === null || environment === null) return versions;
  const key = JSON.stringify([service, environment]);
  const running = versions[key];
  const changeRequestId = str(data.changeRequestId) ?? deployment?.changeRequestId ?? '';
  if (event.type === 'DeploymentSucceeded') {
    const version = str(data.version) ?? deployment?.version ?? null;
    if (version === null) return versions;
    const previous = running === undefined ? [] : [running.version, ...running.previous];
    return { ...versions, [key]: { service, environment, version, changeRequestId, since: str(data.completedAt) ?? event.recordedAt.toISOString(), previous } };
  }
  if (event.type === 'DeploymentRolledBack' && running !== undefined && running.changeRequestId === changeRequestId) {
    // The rolled-back change had completed: production returns to the version before it.
    const version = str(data.previousVersion) ?? running.previous[0];
    if (version === undefined) return versions;
    return { ...versions, [key]: { service, environment, version, changeRequestId, since: str(data.at) ?? event.recordedAt.toISOString(), previous: running.previous.slice(1) } };
  }
  return versions;
}

// ---------------------------------------------------------------- views

export function changeRequestViews(model: ReadModel): ChangeRequestView[] {
  return Object.values(model.changeRequests).flatMap(({ state, updatedAt }): ChangeRequestView[] => {
    if (state.status === 'not_submitted') return [];
    const release = state.draft.releaseId === undefined ? undefined : model.releases[state.draft.releaseId];
    const booked = model.schedule[state.changeRequestId];
    return [
      {
        changeRequestId: state.changeRequestId,
        status: state.status,
        kind: state.kind,
        title: state.draft.title,
        environments: [...state.draft.environments],
        releaseId: state.draft.releaseId ?? null,
        service: release?.service ?? (booked?.service || null),
        version: release?.version ?? (booked?.version || null),
        risk: { level: state.riskAssessment.level, score: state.riskAssessment.score },
        updatedAt,
      },
    ];
  });
}

export function pendingApprovalViews(model: ReadModel): PendingApprovalView[] {
  return Object.values(model.approvals).flatMap((state) =>
    state.status !== 'pending'
      ? []
      : outstandingApprovals(state).map((missing) => ({
          changeRequestId: state.subject.changeRequestId,
          approvalId: state.approvalId,
          environment: state.subject.environment,
          role: missing.role,
          missing: missing.missing,
          onCall: missing.onCall,
        })),
  );
}

// ---------------------------------------------------------------- apps/projections/src/query.ts
import type { ProjectionQueryPayload, ProjectionQueryResult } from '@gatehouse/contracts';

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
