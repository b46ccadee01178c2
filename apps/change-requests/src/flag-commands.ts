/**
 * `flags.*` commands: feature flags as governed resources on `flag-<name>` streams. Who may change a flag in
 * an environment is read from the policy in force (that environment's `access.deploy` roles) and handed to the
 * pure decider with the verified caller; a feature-flag deployment (the deployments service, signing for
 * itself) ramps the flags bound to its service and turns them off when it rolls back.
 */
import { type CommandContext, ForbiddenCommandError, requireCaller } from '@gatehouse/bus';
import {
  ChangeFlagPayload,
  EvaluateFlagPayload,
  FLAG_RAMP_CALLER,
  FLAGS_CONTEXT,
  type FlagChangeReply,
  type FlagEvaluationReply,
  type FlagRampReply,
  FlagsOfServicePayload,
  flagStreamId,
  type FlagView,
  GetFlagPayload,
  ListFlagsPayload,
  RampFlagsPayload,
  TurnOffFlagsPayload,
} from '@gatehouse/contracts';
import {
  evaluateFeatureFlag,
  FEATURE_FLAG_EVENT_TYPES,
  featureFlagDecider,
  type FeatureFlagCommand,
  type FeatureFlagEvent,
  type FeatureFlagState,
  foldEvents,
  iso,
  NoFlagBoundError,
  NotFoundError,
  parseOrThrow,
  UnknownEnvironmentError,
} from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { type CommandMetrics, handleCommand, type ServiceContext } from '@gatehouse/service-kit';

const FLAG_STREAM_PREFIX = flagStreamId('');

export async function loadFlag(store: EventStore, name: string): Promise<FeatureFlagState> {
  const events = await store.readStream(flagStreamId(name));
  return foldEvents(featureFlagDecider, events.map((e) => ({ type: e.type, data: e.data }) as FeatureFlagEvent));
}

/** Every flag, folded from the flag events in the log (flags are few; each stream is small). */
export async function loadAllFlags(store: EventStore): Promise<FeatureFlagState[]> {
  const flags = new Map<string, FeatureFlagState>();
  for await (const event of store.readAll({ eventTypes: FEATURE_FLAG_EVENT_TYPES })) {
    if (!event.streamId.startsWith(FLAG_STREAM_PREFIX)) continue;
    const state = flags.get(event.streamId) ?? featureFlagDecider.initialState();
    flags.set(event.streamId, featureFlagDecider.evolve(state, { type: event.type, data: event.data } as FeatureFlagEvent));
  }
  return [...flags.values()].filter((f) => f.name !== null).sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

export function flagView(state: FeatureFlagState, environment?: string): FlagView {
  const name = state.name ?? '';
  const environments = Object.fromEntries(Object.entries(state.environments).filter(([env]) => environment === undefined || env === environment));
  return { name, streamId: flagStreamId(name), description: state.description, service: state.service, environments };
}

/** The flags.* command handlers (the `@MessagePattern` methods of commands.controller.ts call them). */
export function flagCommands(ctx: ServiceContext, metrics: CommandMetrics) {
  const { store, clock } = ctx;

  async function decide(name: string, command: FeatureFlagCommand, commandId: string, metadata: { actor: string; correlationId: string; policyVersion?: string }) {
    const result = await handleCommand({ store, decider: featureFlagDecider, streamId: flagStreamId(name), command, commandId, metadata });
    metrics.eventsAppended(result.events.map((e) => e.type));
    return result;
  }

  /** Ramping and turning off belong to the deployments service: a person goes through changeFlag and its roles. */
  const requireDeployments = (meta: CommandContext): void => {
    const caller = requireCaller(meta);
    if (caller.subject !== FLAG_RAMP_CALLER || caller.signer !== FLAG_RAMP_CALLER) {
      throw new ForbiddenCommandError('wrong_command', `${meta.context}.${meta.command}`, `only the ${FLAG_RAMP_CALLER} service ramps flags; ${caller.subject} changes a flag with PUT/PATCH /api/flags/{name}`);
    }
  };

  /** The flags a deployment of `service` ramps; a ramp with none bound is refused, a turn-off has nothing to do. */
  const boundFlags = async (service: string, environment: string, { required }: { required: boolean }): Promise<FeatureFlagState[]> => {
    if (ctx.policies.current.environments[environment] === undefined) throw new UnknownEnvironmentError(environment, Object.keys(ctx.policies.current.environments).sort());
    const bound = (await loadAllFlags(store)).filter((f) => f.service === service);
    if (bound.length === 0 && required) throw new NoFlagBoundError(service, environment);
    return bound;
  };

  return {
    changeFlag: async (raw, meta): Promise<FlagChangeReply> => {
      const p = parseOrThrow(ChangeFlagPayload, raw, `${FLAGS_CONTEXT}.changeFlag payload`);
      // Who changes the flag, and in which roles, is the verified caller's (the gateway signed it from the JWT).
      const caller = requireCaller(meta);
      const policySet = ctx.policies.current;
      const policy = policySet.environments[p.environment];
      const result = await decide(
        p.name,
        {
          type: 'ChangeFeatureFlag',
          data: {
            name: p.name,
            environment: p.environment,
            mode: p.mode,
            change: p.change,
            changedBy: caller.subject,
            changerRoles: caller.roles,
            allowedRoles: policy?.access.deploy ?? [],
            knownEnvironments: Object.keys(policySet.environments),
            now: clock.now(),
          },
        },
        p.commandId,
        { actor: caller.subject, correlationId: p.correlationId ?? p.commandId, policyVersion: policySet.policyVersion },
      );
      return { flag: flagView(result.state), events: result.decided.map((e) => e.type), duplicate: result.duplicate };
    },
    getFlag: async (raw): Promise<FlagView> => {
      const p = parseOrThrow(GetFlagPayload, raw, `${FLAGS_CONTEXT}.getFlag payload`);
      const state = await loadFlag(store, p.name);
      if (state.name === null) throw new NotFoundError('feature flag', p.name);
      return flagView(state);
    },
    listFlags: async (raw): Promise<{ flags: FlagView[] }> => {
      const p = parseOrThrow(ListFlagsPayload, raw, `${FLAGS_CONTEXT}.listFlags payload`);
      return { flags: (await loadAllFlags(store)).map((f) => flagView(f, p.environment)) };
    },
    evaluateFlag: async (raw): Promise<FlagEvaluationReply> => {
      const p = parseOrThrow(EvaluateFlagPayload, raw, `${FLAGS_CONTEXT}.evaluateFlag payload`);
      if (ctx.policies.current.environments[p.environment] === undefined) throw new UnknownEnvironmentError(p.environment, Object.keys(ctx.policies.current.environments).sort());
      const state = await loadFlag(store, p.name);
      if (state.name === null) throw new NotFoundError('feature flag', p.name);
      const now = clock.now();
      const base = { name: p.name, environment: p.environment, userId: p.userId ?? null, evaluatedAt: iso(now) };
      const setting = state.environments[p.environment];
      if (setting === undefined) return { ...base, enabled: false, reason: `flag has no setting in ${p.environment}`, bucket: null };
      const decision = evaluateFeatureFlag(
        { name: p.name, description: state.description, enabled: setting.enabled, rollout: setting.rollout },
        { ...(p.userId === undefined ? {} : { userId: p.userId }), segments: p.segments },
        clock,
      );
      return { ...base, enabled: decision.enabled, reason: decision.reason, bucket: decision.bucket ?? null };
    },
    flagsOfService: async (raw): Promise<{ flags: FlagView[] }> => {
      const p = parseOrThrow(FlagsOfServicePayload, raw, `${FLAGS_CONTEXT}.flagsOfService payload`);
      return { flags: (await loadAllFlags(store)).filter((f) => f.service === p.service).map((f) => flagView(f, p.environment)) };
    },
    rampFlags: async (raw, meta): Promise<FlagRampReply> => {
      requireDeployments(meta);
      const p = parseOrThrow(RampFlagsPayload, raw, `${FLAGS_CONTEXT}.rampFlags payload`);
      const now = clock.now();
      const flags: FlagRampReply['flags'] = [];
      for (const flag of await boundFlags(p.service, p.environment, { required: true })) {
        const name = flag.name ?? '';
        const ramp = { deploymentId: p.deploymentId, changeRequestId: p.changeRequestId, stepIndex: p.stepIndex };
        const result = await decide(name, { type: 'RampFeatureFlag', data: { name, environment: p.environment, percentage: p.percentage, ramp, now } }, `${p.commandId}:${name}`, {
          actor: FLAG_RAMP_CALLER,
          correlationId: p.correlationId ?? p.commandId,
        });
        flags.push({ name, events: result.decided.map((e) => e.type) });
      }
      return { flags };
    },
    turnOffFlags: async (raw, meta): Promise<FlagRampReply> => {
      requireDeployments(meta);
      const p = parseOrThrow(TurnOffFlagsPayload, raw, `${FLAGS_CONTEXT}.turnOffFlags payload`);
      const now = clock.now();
      const flags: FlagRampReply['flags'] = [];
      // A rollback is never held up by flags: with none bound (any more), there is nothing to turn off.
      for (const flag of await boundFlags(p.service, p.environment, { required: false })) {
        const name = flag.name ?? '';
        // Only what this deployment turned on: a flag no step of it ramped is left as people set it.
        if (flag.environments[p.environment]?.ramp?.deploymentId !== p.deploymentId) continue;
        const command: FeatureFlagCommand = { type: 'TurnOffFeatureFlag', data: { name, environment: p.environment, deploymentId: p.deploymentId, changeRequestId: p.changeRequestId, reason: p.reason, now } };
        const result = await decide(name, command, `${p.commandId}:${name}`, { actor: FLAG_RAMP_CALLER, correlationId: p.correlationId ?? p.commandId });
        flags.push({ name, events: result.decided.map((e) => e.type) });
      }
      return { flags };
    },
  } satisfies Record<string, (payload: unknown, meta: CommandContext) => Promise<unknown>>;
}
