import type { ChangeView, ReleaseView } from '@gatehouse/contracts';
import {
  changeRequestDecider,
  type ChangeRequestEvent,
  type ChangeRequestState,
  foldEvents,
  NotFoundError,
  releaseDecider,
  type ReleaseEvent,
  type ReleaseState,
} from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';

export const changeRequestStream = (changeRequestId: string): string => `changeRequest-${changeRequestId}`;
export const releaseStream = (releaseId: string): string => `release-${releaseId}`;

export type ExistingChange = Exclude<ChangeRequestState, { status: 'not_submitted' }>;
export type ExistingRelease = Exclude<ReleaseState, { status: 'not_planned' }>;

export async function loadChange(store: EventStore, changeRequestId: string): Promise<ChangeRequestState> {
  const events = await store.readStream(changeRequestStream(changeRequestId));
  return foldEvents(changeRequestDecider, events.map((e) => ({ type: e.type, data: e.data }) as ChangeRequestEvent));
}

export async function loadRelease(store: EventStore, releaseId: string): Promise<ReleaseState> {
  const events = await store.readStream(releaseStream(releaseId));
  return foldEvents(releaseDecider, events.map((e) => ({ type: e.type, data: e.data }) as ReleaseEvent));
}

export async function requireChange(store: EventStore, changeRequestId: string): Promise<ExistingChange> {
  const change = await loadChange(store, changeRequestId);
  if (change.status === 'not_submitted') throw new NotFoundError('change request', changeRequestId);
  return change;
}

export async function requireRelease(store: EventStore, releaseId: string): Promise<ExistingRelease> {
  const release = await loadRelease(store, releaseId);
  if (release.status === 'not_planned') throw new NotFoundError('release', releaseId);
  return release;
}

export function releaseView(release: ExistingRelease): ReleaseView {
  return {
    releaseId: release.releaseId,
    service: release.service,
    version: release.version,
    releaseType: release.releaseType,
    title: release.title,
    description: release.description,
    status: release.status,
    revision: release.revision,
    approvalId: release.approvalId,
    deployments: Object.fromEntries(Object.values(release.deployments).map((d) => [d.environment, { deploymentId: d.deploymentId, status: d.status, startedAt: d.startedAt, completedAt: d.completedAt }])),
    migrations: release.migrations.map((m) => ({ ...m })),
    changes: release.changes.map((c) => ({ ...c })),
  };
}

export function changeView(change: ExistingChange, release: ExistingRelease | null): ChangeView {
  return {
    changeRequestId: change.changeRequestId,
    status: change.status,
    kind: change.kind,
    draft: change.draft,
    riskLevel: change.riskAssessment.level,
    approvalId: change.approvalId,
    window: change.window,
    release: release === null ? null : releaseView(release),
  };
}
