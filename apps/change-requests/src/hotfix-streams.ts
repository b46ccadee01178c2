/**
 * Reading the hotfix lane: `hotfix-<id>` streams folded with the domain decider, the view `getHotfix`
 * answers, and what production runs (the tags a hotfix branch may start from), from the release streams.
 */
import { hotfixStreamId, type HotfixView } from '@gatehouse/contracts';
import { changeOwners, foldEvents, hotfixDecider, type HotfixEvent, type HotfixState, NotFoundError } from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { changeRequestStream, type ExistingChange, loadChange, releaseStream } from './streams.js';

export type ExistingHotfix = Exclude<HotfixState, { status: 'none' }>;

export async function loadHotfixEvents(store: EventStore, hotfixId: string): Promise<HotfixEvent[]> {
  const events = await store.readStream(hotfixStreamId(hotfixId));
  return events.map((e) => ({ type: e.type, data: e.data }) as HotfixEvent);
}

export async function loadHotfix(store: EventStore, hotfixId: string): Promise<HotfixState> {
  return foldEvents(hotfixDecider, await loadHotfixEvents(store, hotfixId));
}

export async function requireHotfix(store: EventStore, hotfixId: string): Promise<ExistingHotfix> {
  const hotfix = await loadHotfix(store, hotfixId);
  if (hotfix.status === 'none') throw new NotFoundError('hotfix', hotfixId);
  return hotfix;
}

/** The release whose staging validation the hotfix ran (the one its production change must ship), if it started one. */
export function validatedReleaseOf(events: readonly HotfixEvent[]): { releaseId: string; version: string } | null {
  const started = events.find((e) => e.type === 'StagingValidationStarted');
  return started === undefined ? null : { releaseId: started.data.releaseId, version: started.data.version };
}

/** The lane as its events tell it; null for a hotfix never identified. */
export function hotfixView(events: readonly HotfixEvent[]): HotfixView | null {
  const state = foldEvents(hotfixDecider, events);
  if (state.status === 'none') return null;
  const { incidentId, service, severity, identifiedAt, reportedBy, slaMinutes, slaDueAt } = state.incident;
  const view: HotfixView = {
    hotfixId: state.hotfixId,
    status: state.status,
    incident: { incidentId, service, severity, identifiedAt, reportedBy },
    sla: slaMinutes === null || slaDueAt === null ? null : { minutes: slaMinutes, dueAt: slaDueAt, outcome: null, measuredMinutes: null },
    branch: null,
    validation: null,
    approvalId: null,
    deployment: null,
    review: null,
  };
  for (const event of events) {
    switch (event.type) {
      case 'HotfixBranchCreated':
        view.branch = { name: event.data.branch, fromTag: event.data.fromTag };
        break;
      case 'StagingValidationStarted': {
        const { releaseId, version, startedAt, deadline } = event.data;
        view.validation = { releaseId, version, startedAt, deadline, outcome: null, concludedAt: null };
        break;
      }
      case 'StagingValidationCompleted':
        if (view.validation) view.validation = { ...view.validation, outcome: event.data.outcome, concludedAt: event.data.completedAt };
        break;
      case 'StagingValidationTimeCapped':
        if (view.validation) view.validation = { ...view.validation, outcome: 'time_capped', concludedAt: event.data.cappedAt };
        break;
      case 'HotfixApproved':
        view.approvalId = event.data.approvalId;
        break;
      case 'HotfixDeployedToProduction':
        view.deployment = { deploymentId: event.data.deploymentId, deployedAt: event.data.deployedAt, enhancedMonitoring: event.data.enhancedMonitoring };
        break;
      case 'HotfixSlaMet':
      case 'HotfixSlaBreached':
        // A breach found by a deadline check stays a breach when the fix ships later.
        if (view.sla && view.sla.outcome !== 'breached') view.sla = { ...view.sla, outcome: event.type === 'HotfixSlaMet' ? 'met' : 'breached', measuredMinutes: event.data.measuredMinutes };
        break;
      case 'PostIncidentReviewDue':
        view.review = { dueAt: event.data.dueAt, overdue: false, completedAt: null, reviewRef: null, late: null };
        break;
      case 'PostIncidentReviewOverdue':
        if (view.review) view.review = { ...view.review, overdue: true };
        break;
      case 'PostIncidentReviewCompleted':
        if (view.review) view.review = { ...view.review, completedAt: event.data.completedAt, reviewRef: event.data.reviewRef, late: event.data.late };
        break;
      default:
        break;
    }
  }
  return view;
}

// ---------------------------------------------------------------- what production runs

/** Release events that move what an environment runs. */
export const RUNNING_VERSION_EVENT_TYPES = ['ReleasePlanned', 'ReleaseDeploymentSucceeded', 'ReleaseRolledBack'] as const;

interface ReleaseFact {
  streamId: string;
  type: string;
  data: unknown;
}

/**
 * The version of `service` running in `environment`, from release events in log order: the last one whose
 * deployment there succeeded; a rollback of that release puts back the one it replaced. Empty when none did.
 */
export function runningVersions(facts: Iterable<ReleaseFact>, service: string, environment: string): string[] {
  const releases = new Map<string, { service: string; version: string }>();
  const deployed: Array<{ releaseId: string; version: string }> = [];
  for (const fact of facts) {
    if (!fact.streamId.startsWith(releaseStream(''))) continue;
    const data = fact.data as { releaseId: string; service?: string; version?: string; environment?: string };
    if (fact.type === 'ReleasePlanned' && data.service !== undefined && data.version !== undefined) {
      releases.set(data.releaseId, { service: data.service, version: data.version });
      continue;
    }
    if (data.environment !== environment || releases.get(data.releaseId)?.service !== service) continue;
    if (fact.type === 'ReleaseDeploymentSucceeded') deployed.push({ releaseId: data.releaseId, version: releases.get(data.releaseId)!.version });
    if (fact.type === 'ReleaseRolledBack') {
      const last = deployed.findLastIndex((d) => d.releaseId === data.releaseId);
      if (last >= 0) deployed.splice(last, 1);
    }
  }
  const current = deployed.at(-1);
  return current === undefined ? [] : [current.version];
}

/** Git tags name versions with or without a leading "v": both spellings of each running version count. */
export function productionTagsOf(versions: readonly string[]): string[] {
  return versions.flatMap((version) => [version, `v${version}`]);
}

/** Scans the release streams (this service's own) for what `service` runs in `environment` now. */
export async function loadRunningVersions(store: EventStore, service: string, environment: string): Promise<string[]> {
  const facts: ReleaseFact[] = [];
  for await (const event of store.readAll({ eventTypes: RUNNING_VERSION_EVENT_TYPES })) facts.push(event);
  return runningVersions(facts, service, environment);
}

// ---------------------------------------------------------------- the hotfix's changes

/** The change requests that name the hotfix (`draft.hotfixId`), from this service's own change streams. */
export async function changesOfHotfix(store: EventStore, hotfixId: string): Promise<ExistingChange[]> {
  const changes: ExistingChange[] = [];
  for await (const submitted of store.readAll({ eventTypes: ['ChangeRequestSubmitted'] })) {
    if (!submitted.streamId.startsWith(changeRequestStream(''))) continue;
    const { changeRequestId, draft } = submitted.data as { changeRequestId: string; draft: { hotfixId?: string } };
    if (draft.hotfixId !== hotfixId) continue;
    const change = await loadChange(store, changeRequestId);
    if (change.status !== 'not_submitted') changes.push(change);
  }
  return changes;
}

/** Everyone who wrote or (through CI) initiated one of the hotfix's changes: none of them may vouch for the fix. */
export function ownersOfChanges(changes: readonly ExistingChange[]): string[] {
  return [...new Set(changes.flatMap((change) => changeOwners(change.draft)))];
}
