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
import { type CommandDecider, type CommandMetrics, handleCommand, registerCountedCommands, type ServiceContext } from '@gatehouse/service-kit';
import { type ExistingHotfix, hotfixView, loadHotfix, loadHotfixEvents, loadRunningVersions, productionTagsOf } from './hotfix-streams.js';
import { type ExistingRelease, requireRelease } from './streams.js';

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

/** Registers every hotfixes.* command; returns the unregister functions. */
export async function registerHotfixCommands(ctx: ServiceContext, metrics: CommandMetrics): Promise<Array<() => Promise<void>>> {
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

  const handlers: Record<string, Handler> = {
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
      return onHotfix(p, { type: 'CompleteStagingValidation', data: { hotfixId: p.hotfixId, outcome: p.outcome, notes: p.notes, now: clock.now() } });
    },
    completePostIncidentReview: async (raw) => {
      const p = parseOrThrow(CompletePostIncidentReviewPayload, raw, `${HOTFIXES_CONTEXT}.completePostIncidentReview payload`);
      return onHotfix(p, { type: 'CompletePostIncidentReview', data: { hotfixId: p.hotfixId, reviewRef: p.reviewRef, completedBy: p.actor, now: clock.now() } });
    },
    getHotfix: async (raw): Promise<HotfixView> => {
      const p = parseOrThrow(GetHotfixPayload, raw, `${HOTFIXES_CONTEXT}.getHotfix payload`);
      const view = hotfixView(await loadHotfixEvents(store, p.hotfixId));
      if (view === null) throw new NotFoundError('hotfix', p.hotfixId);
      return view;
    },
  };

  return registerCountedCommands(ctx.commands, HOTFIXES_CONTEXT, handlers, metrics);
}
