/**
 * `hotfixes.*` commands: the emergency hotfix lane on `hotfix-<hotfixId>` streams. The rules that need
 * the policy or other streams (the production emergency path, what production runs, the release under
 * validation) are read here and handed to the pure decider.
 */
import {
  type CommandReply,
  CompletePostIncidentReviewPayload,
  CompleteStagingValidationPayload,
  CreateHotfixBranchPayload,
  GetHotfixPayload,
  HOTFIX_ENVIRONMENT,
  HOTFIXES_CONTEXT,
  hotfixStreamId,
  type HotfixView,
  IdentifyIncidentPayload,
  StartStagingValidationPayload,
} from '@gatehouse/contracts';
import {
  changeRequestDecider,
  type ChangeRequestCommand,
  type ChangeRequestStatus,
  DomainError,
  hotfixDecider,
  type HotfixCommand,
  type HotfixPolicy,
  type HotfixState,
  iso,
  NotFoundError,
  parseOrThrow,
  type ReleaseType,
  UnknownEnvironmentError,
} from '@gatehouse/domain';
import type { EnvironmentPolicy, PolicySet } from '@gatehouse/policy';
import { type CommandDecider, type CommandMetrics, handleCommand, type ServiceContext } from '@gatehouse/service-kit';
import { changesOfHotfix, type ExistingHotfix, hotfixView, loadHotfix, loadHotfixEvents, loadRunningVersions, ownersOfChanges, productionTagsOf } from './hotfix-streams.js';
import { changeRequestStream, type ExistingChange, type ExistingRelease, requireRelease } from './streams.js';

type Handler = (payload: unknown) => Promise<unknown>;
interface Envelope {
  commandId: string;
  actor: string;
  correlationId?: string | undefined;
  hotfixId: string;
}

// ---------------------------------------------------------------- errors

/** Staging validation is of a hotfix release of the incident's service, nothing else. */
export class HotfixReleaseMismatchError extends DomainError {
  override readonly name = 'HotfixReleaseMismatchError';
  readonly code = 'HOTFIX_RELEASE_MISMATCH' as const;
  constructor(
    readonly hotfixId: string,
    readonly releaseId: string,
    readonly expected: { service: string; releaseType: 'hotfix' },
    readonly found: { service: string; releaseType: ReleaseType },
  ) {
    super(
      `hotfix ${hotfixId} validates a hotfix release of ${expected.service}; release ${releaseId} is a ${found.releaseType} release of ${found.service}` +
        '; plan a release of type "hotfix" for the affected service',
    );
  }
}

/** Staging validation watches what staging runs: the release must have deployed there first. */
export class HotfixNotInStagingError extends DomainError {
  override readonly name = 'HotfixNotInStagingError';
  readonly code = 'HOTFIX_NOT_IN_STAGING' as const;
  constructor(
    readonly releaseId: string,
    readonly version: string,
    readonly environment: string,
    readonly found: string,
  ) {
    super(`release ${releaseId} (${version}) has not deployed to ${environment} (found: ${found}); deploy it there through an emergency change, then start validation`);
  }
}

// ---------------------------------------------------------------- handlers

/** Changes the post-incident review does not touch: already closed, or never deployed. */
const LEFT_ALONE_BY_REVIEW: readonly ChangeRequestStatus[] = ['closed', 'rejected', 'cancelled', 'submitted', 'in_review', 'awaiting_approval', 'approved', 'scheduled'];

/** The lane's policy: the emergency path of the environment hotfixes ship to. */
export function hotfixPolicyOf(policySet: PolicySet): { environment: EnvironmentPolicy; policy: HotfixPolicy } {
  const environment = policySet.environments[HOTFIX_ENVIRONMENT];
  if (environment === undefined) throw new UnknownEnvironmentError(HOTFIX_ENVIRONMENT, Object.keys(policySet.environments).sort());
  return { environment, policy: environment.emergency };
}

/** Checks a new validation's release before the decider runs; a redelivered command stays a no-op. */
export function checkValidatedRelease(hotfix: ExistingHotfix, release: ExistingRelease, stagingEnvironment: string): void {
  const { service } = hotfix.incident;
  if (release.releaseType !== 'hotfix' || release.service !== service) {
    throw new HotfixReleaseMismatchError(hotfix.hotfixId, release.releaseId, { service, releaseType: 'hotfix' }, { service: release.service, releaseType: release.releaseType });
  }
  const staging = release.deployments[stagingEnvironment];
  if (staging?.status !== 'succeeded') throw new HotfixNotInStagingError(release.releaseId, release.version, stagingEnvironment, staging?.status ?? 'none');
}

/** The hotfixes.* command handlers (the `@MessagePattern` methods of commands.controller.ts call them). */
export function hotfixCommands(ctx: ServiceContext, metrics: CommandMetrics) {
  const { store, clock } = ctx;

  async function onHotfix(
    p: Envelope,
    command: HotfixCommand,
    policyVersion?: string,
    decider: CommandDecider<HotfixCommand, ReturnType<typeof hotfixDecider.decide>[number], HotfixState> = hotfixDecider,
  ): Promise<CommandReply> {
    const streamId = hotfixStreamId(p.hotfixId);
    const metadata = { actor: p.actor, correlationId: p.correlationId ?? p.commandId, ...(policyVersion === undefined ? {} : { policyVersion }) };
    const result = await handleCommand({ store, decider, streamId, command, commandId: p.commandId, metadata });
    metrics.eventsAppended(result.events.map((e) => e.type));
    return { streamId, events: result.decided.map((e) => e.type), status: result.state.status, duplicate: result.duplicate };
  }

  /**
   * The review closes the lane and the emergency changes that shipped the fix (item 9 of issue 8). Every change's
   * close is decided first, so a refusal (separation of duties, a change in a state that cannot take the review)
   * reaches the caller and nothing is written; then the hotfix, then each change. The command ids derive from the
   * caller's, so a retry after a failure part-way completes what is missing and repeats nothing.
   */
  async function completePostIncidentReview(p: Envelope & { reviewRef: string }): Promise<CommandReply & { closedChanges: string[] }> {
    const now = clock.now();
    const allChanges = await changesOfHotfix(store, p.hotfixId);
    const changes = allChanges.filter((c) => c.kind === 'emergency' && !LEFT_ALONE_BY_REVIEW.includes(c.status));
    const changeOwners = ownersOfChanges(allChanges);
    const recordOn = (change: ExistingChange): ChangeRequestCommand => ({
      type: 'RecordPostImplementationReview',
      data: { changeRequestId: change.changeRequestId, reviewRef: p.reviewRef, recordedBy: p.actor, now },
    });
    const hotfix = await loadHotfix(store, p.hotfixId);
    const hotfixReviewed = hotfix.status === 'closed';
    if (!hotfixReviewed) {
      hotfixDecider.decide({ type: 'CompletePostIncidentReview', data: { hotfixId: p.hotfixId, reviewRef: p.reviewRef, completedBy: p.actor, changeOwners, now } }, hotfix);
      for (const change of changes) changeRequestDecider.decide(recordOn(change), change);
    }
    const reply = await onHotfix(p, { type: 'CompletePostIncidentReview', data: { hotfixId: p.hotfixId, reviewRef: p.reviewRef, completedBy: p.actor, changeOwners, now } });
    const closed: string[] = [];
    for (const change of changes) {
      const metadata = { actor: p.actor, correlationId: p.correlationId ?? p.commandId };
      const result = await handleCommand({ store, decider: changeRequestDecider, streamId: changeRequestStream(change.changeRequestId), command: recordOn(change), commandId: `${p.commandId}:${change.changeRequestId}`, metadata });
      metrics.eventsAppended(result.events.map((e) => e.type));
      if (result.state.status === 'closed') closed.push(change.changeRequestId);
    }
    return { ...reply, closedChanges: closed };
  }

  return {
    identifyIncident: async (raw) => {
      const p = parseOrThrow(IdentifyIncidentPayload, raw, `${HOTFIXES_CONTEXT}.identifyIncident payload`);
      const policySet = ctx.policies.current;
      const { policy } = hotfixPolicyOf(policySet);
      const now = clock.now();
      const { hotfixId, incidentId, service, severity } = p;
      return onHotfix(
        p,
        { type: 'IdentifyIncident', data: { hotfixId, incidentId, service, severity, identifiedAt: p.identifiedAt ?? iso(now), reportedBy: p.actor, policy, now } },
        policySet.policyVersion,
      );
    },
    createHotfixBranch: async (raw) => {
      const p = parseOrThrow(CreateHotfixBranchPayload, raw, `${HOTFIXES_CONTEXT}.createHotfixBranch payload`);
      const hotfix = await loadHotfix(store, p.hotfixId);
      // What production runs is read from the release streams at the time of the request, not taken from the caller.
      const productionTags = hotfix.status === 'none' ? [] : productionTagsOf(await loadRunningVersions(store, hotfix.incident.service, HOTFIX_ENVIRONMENT));
      return onHotfix(p, { type: 'CreateHotfixBranch', data: { hotfixId: p.hotfixId, branch: p.branch, fromTag: p.fromTag, productionTags, now: clock.now() } });
    },
    startStagingValidation: async (raw) => {
      const p = parseOrThrow(StartStagingValidationPayload, raw, `${HOTFIXES_CONTEXT}.startStagingValidation payload`);
      const release = await requireRelease(store, p.releaseId);
      const stagingEnvironment = hotfixPolicyOf(ctx.policies.current).environment.promotesFrom ?? 'staging';
      const decider = {
        ...hotfixDecider,
        decide: (command: HotfixCommand, state: HotfixState) => {
          if (state.status === 'branched') checkValidatedRelease(state, release, stagingEnvironment);
          return hotfixDecider.decide(command, state);
        },
      };
      return onHotfix(p, { type: 'StartStagingValidation', data: { hotfixId: p.hotfixId, releaseId: release.releaseId, version: release.version, now: clock.now() } }, undefined, decider);
    },
    completeStagingValidation: async (raw) => {
      const p = parseOrThrow(CompleteStagingValidationPayload, raw, `${HOTFIXES_CONTEXT}.completeStagingValidation payload`);
      const changeOwners = ownersOfChanges(await changesOfHotfix(store, p.hotfixId));
      return onHotfix(p, { type: 'CompleteStagingValidation', data: { hotfixId: p.hotfixId, outcome: p.outcome, notes: p.notes, completedBy: p.actor, changeOwners, now: clock.now() } });
    },
    completePostIncidentReview: async (raw) => completePostIncidentReview(parseOrThrow(CompletePostIncidentReviewPayload, raw, `${HOTFIXES_CONTEXT}.completePostIncidentReview payload`)),
    getHotfix: async (raw): Promise<HotfixView> => {
      const p = parseOrThrow(GetHotfixPayload, raw, `${HOTFIXES_CONTEXT}.getHotfix payload`);
      const view = hotfixView(await loadHotfixEvents(store, p.hotfixId));
      if (view === null) throw new NotFoundError('hotfix', p.hotfixId);
      return view;
    },
  } satisfies Record<string, Handler>;
}
