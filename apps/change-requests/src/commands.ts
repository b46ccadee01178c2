import {
  CancelChangePayload,
  CHANGE_REQUESTS_CONTEXT,
  type ChangeView,
  CloseChangePayload,
  type CommandReply,
  CompleteReviewPayload,
  CreateReleasePayload,
  GetChangePayload,
  gateRecordStream,
  GetReleasePayload,
  OverrideGatePayload,
  RecordGateResultPayload,
  RecordMigrationPayload,
  RecordValidationCheckPayload,
  SignOffValidationPayload,
  RejectChangePayload,
  type ReleaseView,
  ReviseReleasePayload,
  StartReviewPayload,
  SubmitChangePayload,
} from '@gatehouse/contracts';
import { type CommandContext, requireCaller } from '@gatehouse/bus';
import {
  CHANGE_LIFECYCLE_ACTOR,
  changeRequestDecider,
  type ChangeRequestCommand,
  type ChangeRequestEvent,
  type ChangeRequestState,
  changeRulesFromPolicy,
  decideSubmission,
  gateRecordDecider,
  parseOrThrow,
  releaseDecider,
  type ReleaseCommand,
  ValidationError,
} from '@gatehouse/domain';
import { evaluateDeployment, getEnvironmentPolicy } from '@gatehouse/policy';
import { type CommandDecider, type CommandMetrics, handleCommand, type ServiceContext } from '@gatehouse/service-kit';
import { changeRequestStream, changeView, loadRelease, releaseStream, releaseView, requireChange, requireRelease } from './streams.js';

type Handler = (payload: unknown, meta: CommandContext) => Promise<unknown>;
interface Envelope {
  commandId: string;
  actor: string;
  correlationId?: string | undefined;
}

/** The changeRequests.* command handlers (the `@MessagePattern` methods of commands.controller.ts call them). */
export function changeRequestCommands(ctx: ServiceContext, metrics: CommandMetrics) {
  const { store, clock } = ctx;

  const metadataOf = (p: Envelope, policyVersion?: string) => ({
    actor: p.actor,
    correlationId: p.correlationId ?? p.commandId,
    ...(policyVersion === undefined ? {} : { policyVersion }),
  });

  async function onChange(p: Envelope & { changeRequestId: string }, command: ChangeRequestCommand, decider: CommandDecider<ChangeRequestCommand, ChangeRequestEvent, ChangeRequestState> = changeRequestDecider, policyVersion?: string): Promise<CommandReply> {
    const streamId = changeRequestStream(p.changeRequestId);
    const result = await handleCommand({ store, decider, streamId, command, commandId: p.commandId, metadata: metadataOf(p, policyVersion) });
    metrics.eventsAppended(result.events.map((e) => e.type));
    return { streamId, events: result.decided.map((e) => e.type), status: result.state.status, duplicate: result.duplicate };
  }

  async function onRelease(p: Envelope & { releaseId: string }, command: ReleaseCommand): Promise<CommandReply> {
    const streamId = releaseStream(p.releaseId);
    const result = await handleCommand({ store, decider: releaseDecider, streamId, command, commandId: p.commandId, metadata: metadataOf(p) });
    metrics.eventsAppended(result.events.map((e) => e.type));
    return { streamId, events: result.decided.map((e) => e.type), status: result.state.status, duplicate: result.duplicate };
  }

  /** The post-deployment validation the change's environment asks for, in the policy in force. */
  async function validationPolicyOf(changeRequestId: string) {
    const change = await requireChange(store, changeRequestId);
    const environment = change.draft.environments[0] ?? '';
    const policySet = ctx.policies.current;
    return { environment, validation: policySet.environments[environment]?.postDeploymentValidation, policyVersion: policySet.policyVersion };
  }

  return {
    createRelease: async (raw) => {
      const p = parseOrThrow(CreateReleasePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.createRelease payload`);
      return onRelease(p, {
        type: 'PlanRelease',
        data: { releaseId: p.releaseId, content: p.release, ...(p.previousVersion === undefined ? {} : { previousVersion: p.previousVersion }), plannedBy: p.actor, now: clock.now() },
      });
    },
    reviseRelease: async (raw) => {
      const p = parseOrThrow(ReviseReleasePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.reviseRelease payload`);
      return onRelease(p, { type: 'ReviseRelease', data: { releaseId: p.releaseId, revision: p.revision, revisedBy: p.actor, now: clock.now() } });
    },
    recordMigration: async (raw) => {
      const p = parseOrThrow(RecordMigrationPayload, raw, `${CHANGE_REQUESTS_CONTEXT}.recordMigration payload`);
      const { releaseId, migrationId, description, reversible, database } = p;
      return onRelease(p, {
        type: 'RecordReleaseMigration',
        data: { releaseId, migration: { migrationId, description, reversible, ...(database === undefined ? {} : { database }) }, recordedBy: p.actor, now: clock.now() },
      });
    },
    submitChange: async (raw) => {
      const p = parseOrThrow(SubmitChangePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.submitChange payload`);
      const environment = singleEnvironment(p.draft.environments);
      const policySet = ctx.policies.current;
      const release = p.draft.releaseId === undefined ? null : await requireRelease(store, p.draft.releaseId);
      const now = clock.now();
      const known = policySet.environments[environment] !== undefined;
      // The risk score counts a planned start outside the windows (or in a blackout) as off-window.
      const outsideWindows = known && evaluateDeployment(policySet, { environment, at: new Date(p.draft.schedule.planned), changeType: p.kind }).nextAllowedAt !== undefined;
      const environmentRules = Object.fromEntries(Object.values(policySet.environments).map((policy) => [policy.environment, changeRulesFromPolicy(policy)]));
      // Submission rules that need the policy or the release; checked only for a new change, so a redelivered command stays a no-op.
      const decider = {
        ...changeRequestDecider,
        decide: (command: ChangeRequestCommand, state: ChangeRequestState) => {
          // The draft's own rules first (a missing field is named before a cross-stream rule), then the submission decision.
          const events = changeRequestDecider.decide(command, state);
          if (state.status === 'not_submitted') {
            const decision = decideSubmission({ environment, policy: policySet.environments[environment], kind: p.kind, release });
            if (decision.refusal !== undefined) throw decision.refusal;
          }
          return events;
        },
      };
      return onChange(
        p,
        { type: 'SubmitChangeRequest', data: { changeRequestId: p.changeRequestId, kind: p.kind, draft: p.draft, environmentRules, outsideWindows, now } },
        decider,
        policySet.policyVersion,
      );
    },
    startReview: async (raw) => {
      const p = parseOrThrow(StartReviewPayload, raw, `${CHANGE_REQUESTS_CONTEXT}.startReview payload`);
      return onChange(p, { type: 'StartChangeReview', data: { changeRequestId: p.changeRequestId, reviewer: p.actor, now: clock.now() } });
    },
    completeReview: async (raw) => {
      const p = parseOrThrow(CompleteReviewPayload, raw, `${CHANGE_REQUESTS_CONTEXT}.completeReview payload`);
      return onChange(p, { type: 'CompleteChangeReview', data: { changeRequestId: p.changeRequestId, reviewer: p.actor, notes: p.notes, now: clock.now() } });
    },
    rejectChange: async (raw) => {
      const p = parseOrThrow(RejectChangePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.rejectChange payload`);
      return onChange(p, { type: 'RejectChangeRequest', data: { changeRequestId: p.changeRequestId, rejectedBy: p.actor, reason: p.reason, now: clock.now() } });
    },
    cancelChange: async (raw) => {
      const p = parseOrThrow(CancelChangePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.cancelChange payload`);
      return onChange(p, { type: 'CancelChange', data: { changeRequestId: p.changeRequestId, cancelledBy: p.actor, reason: p.reason, now: clock.now() } });
    },
    closeChange: async (raw) => {
      const p = parseOrThrow(CloseChangePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.closeChange payload`);
      return onChange(p, {
        type: 'CloseChange',
        data: {
          changeRequestId: p.changeRequestId,
          closedBy: p.actor,
          ...(p.postImplementationReviewRef === undefined ? {} : { postImplementationReviewRef: p.postImplementationReviewRef }),
          now: clock.now(),
        },
      });
    },
    recordValidationCheck: async (raw) => {
      const p = parseOrThrow(RecordValidationCheckPayload, raw, `${CHANGE_REQUESTS_CONTEXT}.recordValidationCheck payload`);
      const { environment, validation, policyVersion } = await validationPolicyOf(p.changeRequestId);
      const command: ChangeRequestCommand = {
        type: 'RecordPostDeploymentCheck',
        data: { changeRequestId: p.changeRequestId, environment, validation, check: p.check, status: p.status, reportedBy: p.actor, closedBy: CHANGE_LIFECYCLE_ACTOR, now: clock.now() },
      };
      // The domain's result has no room for the report: it travels in the event's metadata, as a gate result's does.
      const report = { ...(p.summary === undefined ? {} : { summary: p.summary }), ...(p.reportUrl === undefined ? {} : { reportUrl: p.reportUrl }) };
      const streamId = changeRequestStream(p.changeRequestId);
      const result = await handleCommand({ store, decider: changeRequestDecider, streamId, command, commandId: p.commandId, metadata: { ...metadataOf(p, policyVersion), ...report } });
      metrics.eventsAppended(result.events.map((e) => e.type));
      return { streamId, events: result.decided.map((e) => e.type), status: result.state.status, duplicate: result.duplicate } satisfies CommandReply;
    },
    signOffValidation: async (raw, meta) => {
      const p = parseOrThrow(SignOffValidationPayload, raw, `${CHANGE_REQUESTS_CONTEXT}.signOffValidation payload`);
      // Who signs off is the command's verified caller with the roles their token proved, never a payload field.
      const caller = requireCaller(meta);
      const { environment, validation, policyVersion } = await validationPolicyOf(p.changeRequestId);
      return onChange(
        p,
        { type: 'SignOffPostDeploymentValidation', data: { changeRequestId: p.changeRequestId, environment, validation, signer: caller.subject, signerRoles: caller.roles, closedBy: CHANGE_LIFECYCLE_ACTOR, now: clock.now() } },
        changeRequestDecider,
        policyVersion,
      );
    },
    recordGateResult: async (raw) => {
      const p = parseOrThrow(RecordGateResultPayload, raw, `${CHANGE_REQUESTS_CONTEXT}.recordGateResult payload`);
      const policySet = ctx.policies.current;
      const gates = getEnvironmentPolicy(policySet, p.environment).testingGates;
      await requireRelease(store, p.releaseId);
      const streamId = gateRecordStream(p.releaseId, p.environment);
      const result = await handleCommand({
        store,
        decider: gateRecordDecider,
        streamId,
        command: {
          type: 'RecordGateResult',
          data: {
            releaseId: p.releaseId,
            environment: p.environment,
            gates,
            result: { gateId: p.gateId, status: p.status, startedAt: p.startedAt, ...(p.finishedAt === undefined ? {} : { finishedAt: p.finishedAt }) },
          },
        },
        commandId: p.commandId,
        // The domain's result has no room for the report: it travels in the event's metadata.
        metadata: { ...metadataOf(p, policySet.policyVersion), ...(p.summary === undefined ? {} : { summary: p.summary }), ...(p.reportUrl === undefined ? {} : { reportUrl: p.reportUrl }) },
      });
      metrics.eventsAppended(result.events.map((e) => e.type));
      return { streamId, events: result.decided.map((e) => e.type), status: 'recorded', duplicate: result.duplicate } satisfies CommandReply;
    },
    overrideGate: async (raw) => {
      const p = parseOrThrow(OverrideGatePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.overrideGate payload`);
      const policySet = ctx.policies.current;
      const gates = getEnvironmentPolicy(policySet, p.environment).testingGates;
      await requireRelease(store, p.releaseId);
      const streamId = gateRecordStream(p.releaseId, p.environment);
      const result = await handleCommand({
        store,
        decider: gateRecordDecider,
        streamId,
        command: { type: 'OverrideWarnGate', data: { releaseId: p.releaseId, environment: p.environment, gates, gateId: p.gateId, actor: p.actor, reason: p.reason, now: clock.now() } },
        commandId: p.commandId,
        metadata: metadataOf(p, policySet.policyVersion),
      });
      metrics.eventsAppended(result.events.map((e) => e.type));
      return { streamId, events: result.decided.map((e) => e.type), status: 'overridden', duplicate: result.duplicate } satisfies CommandReply;
    },
    getChange: async (raw): Promise<ChangeView> => {
      const p = parseOrThrow(GetChangePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.getChange payload`);
      const change = await requireChange(store, p.changeRequestId);
      const releaseId = change.draft.releaseId;
      const release = releaseId === undefined ? null : await loadRelease(store, releaseId);
      return changeView(change, release === null || release.status === 'not_planned' ? null : release);
    },
    getRelease: async (raw): Promise<ReleaseView> => {
      const p = parseOrThrow(GetReleasePayload, raw, `${CHANGE_REQUESTS_CONTEXT}.getRelease payload`);
      return releaseView(await requireRelease(store, p.releaseId));
    },
  } satisfies Record<string, Handler>;
}

/** One change request deploys once (`deployment-<changeRequestId>`), so it names exactly one environment. */
function singleEnvironment(environments: readonly string[]): string {
  const [environment, ...rest] = environments;
  if (environment === undefined || rest.length > 0) {
    throw new ValidationError('change request', [
      { field: 'draft.environments', reason: `name exactly one environment (got ${environments.length}); submit one change request per environment` },
    ]);
  }
  return environment;
}
