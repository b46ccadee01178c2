/**
 * The ops read models, folded from the whole event log. The model belongs to the projections service and is
 * updated in place: `evolveReadModel(model, event)` costs O(1) whatever the length of the log, and returns the
 * same model. Stored values (views, history entries, decider states) are replaced, never mutated, so an answer
 * already handed out does not change under its reader. Change requests and approvals are folded with the
 * domain's own deciders so their status means exactly what the write side means; other contexts' events are
 * read by their contract names and fields, tolerating fields added later.
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
import type { ActiveDeploymentView, ChangeRequestView, HistoryEntry, PendingApprovalView, RunningVersionView, ScheduledDeploymentView } from '@gatehouse/contracts';
import { ChangeRequestIndex, type ListedChangeRequest } from './changeRequestIndex.js';

/** The views' shapes are the projections' contract with their readers (libs/contracts). */
export type { ActiveDeploymentView, ChangeRequestView, HistoryEntry, PendingApprovalView, RunningVersionView, ScheduledDeploymentView };

/**
 * Version of the read models' shape and folding rules. Bump it with any change to what `evolveReadModel` computes
 * or to how the tables store it: a projections service that finds tables of another version rebuilds them from
 * the log at start (see readModelTables.ts).
 */
export const READ_MODEL_VERSION = 3;

/** The model's keyed collections, each kept in a table of its own (readModelTables.ts). */
export const KEYED_TABLES = ['change_request', 'approval', 'release', 'booked_build', 'schedule', 'version', 'active_deployment'] as const;
export type KeyedTable = (typeof KEYED_TABLES)[number];

/** What folding changed since the tables were last written: the keys to rewrite per table. */
export class ReadModelChanges {
  readonly keys = new Map<KeyedTable, Set<string>>(KEYED_TABLES.map((table) => [table, new Set<string>()]));
  /** Events folded since the last clear(). */
  events = 0;
  /** Off while a rebuild folds: it writes every key at the end, so which ones changed need not be kept. */
  trackKeys = true;

  touch(table: KeyedTable, key: string): void {
    if (this.trackKeys) this.keys.get(table)!.add(key);
  }

  clear(): void {
    for (const keys of this.keys.values()) keys.clear();
    this.events = 0;
  }
}

/**
 * A Map that notes each key set or deleted in the model's changes, and numbers keys in insertion order (the
 * order views list them in), so the tables can give the order back: `restore` puts an entry back at its number.
 */
export class TrackedMap<V> extends Map<string, V> {
  private readonly order = new Map<string, number>();
  private inserted = 0;

  constructor(
    private readonly table: KeyedTable,
    private readonly changes: ReadModelChanges,
  ) {
    super();
  }

  override set(key: string, value: V): this {
    this.changes.touch(this.table, key);
    if (!this.order.has(key)) this.order.set(key, ++this.inserted);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    this.changes.touch(this.table, key);
    this.order.delete(key);
    return super.delete(key);
  }

  /** Number of the key in insertion order; undefined when absent. */
  orderOf(key: string): number | undefined {
    return this.order.get(key);
  }

  /** Puts back an entry as stored, without noting a change; call in increasing `order`. */
  restore(key: string, value: V, order: number): void {
    super.set(key, value);
    this.order.set(key, order);
    this.inserted = Math.max(this.inserted, order);
  }
}

export interface ReadModel {
  /** Global position of the last event folded in; 0 before any. */
  position: bigint;
  /** Changes not yet written to the read-model tables. */
  readonly changes: ReadModelChanges;
  readonly changeRequests: ChangeRequestIndex;
  /** By approval id (the approval stream's id). */
  readonly approvals: TrackedMap<ApprovalEntry>;
  /** The approvals whose status is pending: all that `pendingApprovals` reads. */
  readonly pendingApprovals: Set<ApprovalEntry>;
  readonly releases: TrackedMap<Build>;
  /** The build each change was last booked with; kept when the booking is cancelled, as the change still ships it. */
  readonly bookedBuilds: TrackedMap<Build>;
  /** Bookings still on the schedule, by change request id. */
  readonly schedule: TrackedMap<ScheduleEntry>;
  /** By `[service, environment]` as JSON. */
  readonly versions: TrackedMap<RunningVersionView>;
  readonly activeDeployments: TrackedMap<ActiveDeploymentView>;
}

export interface Build {
  service: string;
  version: string;
}
export interface ApprovalEntry {
  state: ApprovalState;
  /** Order of first appearance: pending approvals are listed in it. */
  readonly seq: number;
}
export interface ScheduleEntry {
  readonly view: ScheduledDeploymentView;
  /** `view.scheduledFor` in epoch milliseconds, parsed once. */
  readonly startsAt: number;
}

export function initialReadModel(): ReadModel {
  const changes = new ReadModelChanges();
  return {
    position: 0n,
    changes,
    changeRequests: new ChangeRequestIndex((changeRequestId) => changes.touch('change_request', changeRequestId)),
    approvals: new TrackedMap('approval', changes),
    pendingApprovals: new Set(),
    releases: new TrackedMap('release', changes),
    bookedBuilds: new TrackedMap('booked_build', changes),
    schedule: new TrackedMap('schedule', changes),
    versions: new TrackedMap('version', changes),
    activeDeployments: new TrackedMap('active_deployment', changes),
  };
}

export function splitStreamId(streamId: string): { category: string; id: string } {
  const dash = streamId.indexOf('-');
  return dash < 0 ? { category: streamId, id: '' } : { category: streamId.slice(0, dash), id: streamId.slice(dash + 1) };
}

type Data = Record<string, unknown>;
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);

/**
 * Folds one event into the model, in place, and returns the model; `position` becomes the event's. The caller
 * feeds events in the log's order (readAll after `position`), which is commit order: it is not global-position
 * order (concurrent appends interleave their positions), so a position comparison here would drop events.
 * Each step reads and computes before it writes, so an event that throws (malformed data) leaves the model as it
 * was; the caller then skips it by moving `position` to it.
 */
export function evolveReadModel(model: ReadModel, event: StoredEvent): ReadModel {
  const { category, id } = splitStreamId(event.streamId);
  const data = (event.data ?? {}) as Data;
  switch (category) {
    case 'release':
      evolveRelease(model, id, event.type, data);
      break;
    case 'changeRequest':
      evolveChangeRequest(model, id, event, data);
      break;
    case 'approval':
      evolveApproval(model, id, event.type, data);
      break;
    case 'schedule':
      evolveSchedule(model, id, event.type, data);
      break;
    case 'deployment':
      evolveDeployment(model, id, event, data);
      break;
  }
  model.position = event.globalPosition;
  model.changes.events += 1;
  return model;
}

function evolveRelease(model: ReadModel, releaseId: string, type: string, data: Data): void {
  const service = str(data.service);
  const version = str(data.version);
  if (type !== 'ReleasePlanned' || service === null || version === null) return;
  model.releases.set(releaseId, { service, version });
  for (const change of model.changeRequests.withRelease(releaseId)) refreshService(model, change.changeRequestId);
}

function evolveChangeRequest(model: ReadModel, changeRequestId: string, event: StoredEvent, data: Data): void {
  const current = model.changeRequests.get(changeRequestId)?.state ?? changeRequestDecider.initialState();
  const state = changeRequestDecider.evolve(current, { type: event.type, data } as unknown as ChangeRequestEvent);
  const releaseId = state.status === 'not_submitted' ? undefined : state.draft.releaseId;
  model.changeRequests.record(changeRequestId, state, event.recordedAt.toISOString(), buildOf(model, changeRequestId, releaseId).service);
}

function evolveApproval(model: ReadModel, approvalId: string, type: string, data: Data): void {
  const known = model.approvals.get(approvalId);
  const state = approvalDecider.evolve(known?.state ?? approvalDecider.initialState(), { type, data } as unknown as ApprovalEvent);
  const approval = known ?? { state, seq: model.approvals.size };
  approval.state = state;
  model.approvals.set(approvalId, approval);
  if (state.status === 'pending') model.pendingApprovals.add(approval);
  else model.pendingApprovals.delete(approval);
}

function evolveSchedule(model: ReadModel, changeRequestId: string, type: string, data: Data): void {
  const booked = model.schedule.get(changeRequestId);
  switch (type) {
    case 'DeploymentScheduled':
    case 'DeploymentRescheduled': {
      const scheduledFor = str(data.scheduledFor);
      if (scheduledFor === null) return;
      const view: ScheduledDeploymentView = {
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
      };
      model.schedule.set(changeRequestId, { view, startsAt: Date.parse(scheduledFor) });
      model.bookedBuilds.set(changeRequestId, { service: view.service, version: view.version });
      refreshService(model, changeRequestId);
      return;
    }
    case 'DeploymentDue':
      if (booked !== undefined) model.schedule.set(changeRequestId, { ...booked, view: { ...booked.view, status: 'due' } });
      return;
    case 'BookingCancelled':
    case 'SchedulingRefused':
      // The booking is withdrawn (its approval was, or a new policy left no slot): it is off the schedule, as in the
      // scheduling context, where only a booked (not yet due) deployment can be cancelled or refused.
      if (booked?.view.status === 'booked') model.schedule.delete(changeRequestId);
      return;
  }
}

const DEPLOYMENT_ENDINGS = new Set(['DeploymentSucceeded', 'DeploymentFailed', 'DeploymentAborted', 'DeploymentRolledBack']);

function evolveDeployment(model: ReadModel, changeRequestId: string, event: StoredEvent, data: Data): void {
  const deployment = model.activeDeployments.get(changeRequestId);
  const active = nextActiveDeployment(deployment, changeRequestId, event, data);
  const running = nextRunningVersion(model.versions, deployment, event, data);
  const booked = event.type === 'DeploymentStarted' ? model.schedule.get(changeRequestId) : undefined;
  if (active === ENDED) model.activeDeployments.delete(changeRequestId);
  else if (active !== undefined) model.activeDeployments.set(changeRequestId, active);
  if (running === NOTHING_RUNS) model.versions.delete(versionKey(str(data.service) ?? '', str(data.environment) ?? ''));
  else if (running !== undefined) model.versions.set(versionKey(running.service, running.environment), running);
  if (booked !== undefined) model.schedule.set(changeRequestId, { ...booked, view: { ...booked.view, status: 'started' } });
}

const ENDED = Symbol('ended');

/** The deployment's next view, ENDED when it is over, undefined when the event does not change it. */
function nextActiveDeployment(deployment: ActiveDeploymentView | undefined, changeRequestId: string, event: StoredEvent, data: Data): ActiveDeploymentView | typeof ENDED | undefined {
  if (event.type === 'DeploymentStarted') {
    const steps = Array.isArray(data.steps) ? data.steps : [];
    return {
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
    };
  }
  if (deployment === undefined) return undefined;
  if (event.type === 'DeploymentStepStarted' || event.type === 'DeploymentStepCompleted') {
    const index = num(data.index) ?? deployment.currentStep - 1;
    return { ...deployment, currentStep: index + 1, currentStepName: str(data.name) ?? deployment.currentStepName, trafficPercent: num(data.trafficPercent) ?? deployment.trafficPercent };
  }
  return DEPLOYMENT_ENDINGS.has(event.type) ? ENDED : undefined;
}

const versionKey = (service: string, environment: string): string => JSON.stringify([service, environment]);

/** A rollback of the first version an environment ran: nothing of that service runs there any more. */
const NOTHING_RUNS = Symbol('nothing runs');

/** What runs after the event where the deployment went, undefined when the event does not change it. */
function nextRunningVersion(
  versions: ReadModel['versions'],
  deployment: ActiveDeploymentView | undefined,
  event: StoredEvent,
  data: Data,
): RunningVersionView | typeof NOTHING_RUNS | undefined {
  const service = str(data.service) ?? deployment?.service ?? null;
  const environment = str(data.environment) ?? deployment?.environment ?? null;
  if (service === null || environment === null) return undefined;
  const running = versions.get(versionKey(service, environment));
  const changeRequestId = str(data.changeRequestId) ?? deployment?.changeRequestId ?? '';
  if (event.type === 'DeploymentSucceeded') {
    const version = str(data.version) ?? deployment?.version ?? null;
    if (version === null) return undefined;
    const previous = running === undefined ? [] : [running.version, ...running.previous];
    return { service, environment, version, changeRequestId, since: str(data.completedAt) ?? event.recordedAt.toISOString(), previous };
  }
  if (event.type === 'DeploymentRolledBack' && running !== undefined && running.changeRequestId === changeRequestId) {
    // The rolled-back change had completed: production returns to the version before it.
    const version = str(data.previousVersion) ?? running.previous[0];
    if (version === undefined) return NOTHING_RUNS;
    return { service, environment, version, changeRequestId, since: str(data.at) ?? event.recordedAt.toISOString(), previous: running.previous.slice(1) };
  }
  return undefined;
}

/** The change's service and version: its release's, else those it was booked with. */
function buildOf(model: ReadModel, changeRequestId: string, releaseId: string | undefined): { service: string | null; version: string | null } {
  const release = releaseId === undefined ? undefined : model.releases.get(releaseId);
  const booked = model.bookedBuilds.get(changeRequestId);
  return { service: release?.service ?? (booked?.service || null), version: release?.version ?? (booked?.version || null) };
}

/** Keeps the change's indexed service in step with its release and booking. */
function refreshService(model: ReadModel, changeRequestId: string): void {
  const change = model.changeRequests.get(changeRequestId);
  if (change === undefined) return;
  const releaseId = change.state.status === 'not_submitted' ? undefined : change.state.draft.releaseId;
  model.changeRequests.setService(change, buildOf(model, changeRequestId, releaseId).service);
}

// ---------------------------------------------------------------- views

export function changeRequestView(model: ReadModel, { changeRequestId, state, updatedAt }: ListedChangeRequest): ChangeRequestView {
  const { service, version } = buildOf(model, changeRequestId, state.draft.releaseId);
  return {
    changeRequestId: state.changeRequestId,
    status: state.status,
    kind: state.kind,
    title: state.draft.title,
    environments: [...state.draft.environments],
    releaseId: state.draft.releaseId ?? null,
    service,
    version,
    risk: { level: state.riskAssessment.level, score: state.riskAssessment.score },
    updatedAt,
  };
}

/** Pending approvals' missing roles, in the order the approvals first appeared. */
export function pendingApprovalViews(model: ReadModel): PendingApprovalView[] {
  return [...model.pendingApprovals]
    .sort((a, b) => a.seq - b.seq)
    .flatMap(({ state }) =>
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
