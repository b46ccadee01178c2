import type { Role } from '@gatehouse/policy';
import { z } from 'zod';
import { iso } from '../clock.js';
import { assertNever, type Decider, type DomainCommand, type DomainEvent } from '../decider.js';
import { DomainError, NotFoundError, UnknownEnvironmentError, ValidationError } from '../errors.js';
import { parseOrThrow } from '../validation.js';
import { FlagRollout } from './featureFlags.js';

/**
 * A feature flag as a governed resource (`flag-<name>`): one definition (description, the service whose
 * feature-flag deployments ramp it) and, per environment, whether it is on and its rollout. Who may change it
 * in an environment is who may operate that environment (the policy's `access.deploy` roles); a feature-flag
 * deployment ramps it step by step and its rollback turns it off. Every change is an event.
 */

export const FLAG_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const FLAG_NAME_RULE = 'must be 1-100 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit';
export const FlagName = z.string().regex(FLAG_NAME_PATTERN, FLAG_NAME_RULE);
const Service = z.string().trim().min(1).max(200);
const Description = z.string().max(1_000);

/** PUT: the environment's whole setting (the definition's fields may come along). */
const ReplaceFlagSettings = z.strictObject({ description: Description.optional(), service: Service.nullable().optional(), enabled: z.boolean(), rollout: FlagRollout });
/** PATCH: any of the fields, onto the environment's current setting. */
const MergeFlagSettings = z
  .strictObject({ description: Description.optional(), service: Service.nullable().optional(), enabled: z.boolean().optional(), rollout: FlagRollout.optional() })
  .refine((c) => Object.keys(c).length > 0, { message: 'name at least one of description, service, enabled, rollout' });

export type FlagChangeMode = 'replace' | 'merge';

// ---------------------------------------------------------------- commands and events

/** A deployment's step that set the flag, so its rollback knows what it owns. */
export type FlagRamp = { deploymentId: string; changeRequestId: string; stepIndex: number };

export type ChangeFeatureFlag = DomainCommand<
  'ChangeFeatureFlag',
  {
    name: string;
    environment: string;
    mode: FlagChangeMode;
    /** Unvalidated request body; see ReplaceFlagSettings / MergeFlagSettings. */
    change: unknown;
    changedBy: string;
    changerRoles: readonly string[];
    /** The environment's `access.deploy` roles, from the policy in force. */
    allowedRoles: readonly Role[];
    knownEnvironments: readonly string[];
    now: Date;
  }
>;
/** One step of a feature-flag deployment: the flag on for `percentage` % of users (0: shipped dark). */
export type RampFeatureFlag = DomainCommand<'RampFeatureFlag', { name: string; environment: string; percentage: number; ramp: FlagRamp; now: Date }>;
/** A feature-flag deployment rolled back: the flag it ramped goes off. */
export type TurnOffFeatureFlag = DomainCommand<'TurnOffFeatureFlag', { name: string; environment: string; deploymentId: string; changeRequestId: string; reason: string; now: Date }>;
export type FeatureFlagCommand = ChangeFeatureFlag | RampFeatureFlag | TurnOffFeatureFlag;

export type FlagSetting = { enabled: boolean; rollout: FlagRollout };
type Changed = { name: string; environment: string; description: string; service: string | null; enabled: boolean; rollout: FlagRollout; previous: FlagSetting | null };
export type FeatureFlagChanged = DomainEvent<'FeatureFlagChanged', Changed & { changedBy: string; changedAt: string }>;
export type FeatureFlagRamped = DomainEvent<'FeatureFlagRamped', Changed & FlagRamp & { percentage: number; rampedAt: string }>;
export type FeatureFlagTurnedOff = DomainEvent<'FeatureFlagTurnedOff', Changed & { deploymentId: string; changeRequestId: string; reason: string; turnedOffAt: string }>;
export type FeatureFlagEvent = FeatureFlagChanged | FeatureFlagRamped | FeatureFlagTurnedOff;
export const FEATURE_FLAG_EVENT_TYPES = ['FeatureFlagChanged', 'FeatureFlagRamped', 'FeatureFlagTurnedOff'] as const;

export type FlagEnvironmentState = FlagSetting & { changedBy: string; changedAt: string; ramp: FlagRamp | null };
export type FeatureFlagState = { name: string | null; description: string; service: string | null; environments: Record<string, FlagEnvironmentState> };

// ---------------------------------------------------------------- errors

/** Changing a flag in an environment is operating that environment: the policy's deploy roles only. */
/** A feature-flag deployment ramps the flags bound to its service; there must be one. */
export class NoFlagBoundError extends DomainError {
  override readonly name = 'NoFlagBoundError';
  readonly code = 'NO_FLAG_BOUND' as const;
  constructor(
    readonly service: string,
    readonly environment: string,
  ) {
    super(`no feature flag is bound to service ${service}, so a feature-flag deployment in ${environment} has nothing to ramp; bind one with PUT /api/flags/{name} {"service": "${service}", ...}`);
  }
}

export class FlagChangeForbiddenError extends DomainError {
  override readonly name = 'FlagChangeForbiddenError';
  readonly code = 'FLAG_CHANGE_FORBIDDEN' as const;
  constructor(
    readonly person: string,
    readonly flag: string,
    readonly environment: string,
    readonly allowedRoles: readonly Role[],
  ) {
    super(`changing flag ${flag} in ${environment} needs one of the roles ${allowedRoles.join(', ')} (the environment's access.deploy in the policy); ${person} holds none`);
  }
}

// ---------------------------------------------------------------- decide / evolve

export function decideFeatureFlag(command: FeatureFlagCommand, state: FeatureFlagState): FeatureFlagEvent[] {
  switch (command.type) {
    case 'ChangeFeatureFlag':
      return changeFlag(command.data, state);
    case 'RampFeatureFlag': {
      const { name, environment, percentage, ramp, now } = command.data;
      if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) throw new ValidationError('flag ramp', [{ field: 'percentage', reason: 'must be between 0 and 100' }]);
      if (state.name === null) throw new NotFoundError('feature flag', name);
      // A flag bound to the service may have no setting in this environment yet: the deployment's first step makes one.
      const current = state.environments[environment];
      if (current?.ramp?.deploymentId === ramp.deploymentId && current.ramp.stepIndex === ramp.stepIndex) return [];
      // Keep the bucketing group of a percentage rollout: users let in at 10 % stay in at 50 %.
      const groupId = current?.rollout.strategy === 'percentage' ? current.rollout.groupId : undefined;
      const rollout: FlagRollout = { strategy: 'percentage', percentage, ...(groupId === undefined ? {} : { groupId }) };
      return [{ type: 'FeatureFlagRamped', data: { ...changed(state, name, environment, { enabled: true, rollout }), ...ramp, percentage, rampedAt: iso(now) } }];
    }
    case 'TurnOffFeatureFlag': {
      const { name, environment, deploymentId, changeRequestId, reason, now } = command.data;
      const current = requireSetting(state, name, environment);
      if (!current.enabled) return [];
      return [{ type: 'FeatureFlagTurnedOff', data: { ...changed(state, name, environment, { enabled: false, rollout: current.rollout }), deploymentId, changeRequestId, reason, turnedOffAt: iso(now) } }];
    }
    default:
      return assertNever(command);
  }
}

function changeFlag(data: ChangeFeatureFlag['data'], state: FeatureFlagState): FeatureFlagEvent[] {
  const { name, environment, mode, changedBy, changerRoles, allowedRoles, knownEnvironments, now } = data;
  const issues = [
    ...(FLAG_NAME_PATTERN.test(name) ? [] : [{ field: 'name', reason: FLAG_NAME_RULE }]),
    ...(typeof environment === 'string' && environment !== '' ? [] : [{ field: 'environment', reason: 'name the environment the setting is for' }]),
  ];
  if (issues.length > 0) throw new ValidationError('feature flag', issues);
  if (!knownEnvironments.includes(environment)) throw new UnknownEnvironmentError(environment, [...knownEnvironments].sort());
  if (!changerRoles.some((r) => (allowedRoles as readonly string[]).includes(r))) throw new FlagChangeForbiddenError(changedBy, name, environment, allowedRoles);
  const current = state.environments[environment];
  let next: { description: string; service: string | null; enabled: boolean; rollout: FlagRollout };
  if (mode === 'replace') {
    const c = parseOrThrow(ReplaceFlagSettings, data.change, 'feature flag');
    next = { description: c.description ?? state.description, service: c.service === undefined ? state.service : c.service, enabled: c.enabled, rollout: c.rollout };
  } else {
    const c = parseOrThrow(MergeFlagSettings, data.change, 'feature flag');
    // A partial change needs a setting to apply to; the first setting of an environment is a whole one (PUT).
    if (current === undefined) throw new NotFoundError('setting of feature flag', `${name} in ${environment} (give it a whole setting with PUT first)`);
    const base = current;
    next = {
      description: c.description ?? state.description,
      service: c.service === undefined ? state.service : c.service,
      enabled: c.enabled ?? base.enabled,
      rollout: c.rollout ?? base.rollout,
    };
  }
  const unchanged =
    current !== undefined &&
    next.description === state.description &&
    next.service === state.service &&
    next.enabled === current.enabled &&
    JSON.stringify(next.rollout) === JSON.stringify(current.rollout);
  if (unchanged) return [];
  const previous = current === undefined ? null : { enabled: current.enabled, rollout: current.rollout };
  return [{ type: 'FeatureFlagChanged', data: { name, environment, ...next, previous, changedBy, changedAt: iso(now) } }];
}

function requireSetting(state: FeatureFlagState, name: string, environment: string): FlagEnvironmentState {
  const current = state.environments[environment];
  if (state.name === null) throw new NotFoundError('feature flag', name);
  if (current === undefined) throw new NotFoundError('setting of feature flag', `${name} in ${environment} (set it with PUT /api/flags/${name} first)`);
  return current;
}

function changed(state: FeatureFlagState, name: string, environment: string, setting: FlagSetting): Changed {
  const current = state.environments[environment];
  return { name, environment, description: state.description, service: state.service, ...setting, previous: current === undefined ? null : { enabled: current.enabled, rollout: current.rollout } };
}

export function evolveFeatureFlag(state: FeatureFlagState, event: FeatureFlagEvent): FeatureFlagState {
  const { name, environment, description, service, enabled, rollout } = event.data;
  const base = { name, description, service };
  switch (event.type) {
    case 'FeatureFlagChanged':
      return { ...base, environments: { ...state.environments, [environment]: { enabled, rollout, changedBy: event.data.changedBy, changedAt: event.data.changedAt, ramp: null } } };
    case 'FeatureFlagRamped': {
      const { deploymentId, changeRequestId, stepIndex } = event.data;
      const setting = { enabled, rollout, changedBy: `deployment:${deploymentId}`, changedAt: event.data.rampedAt, ramp: { deploymentId, changeRequestId, stepIndex } };
      return { ...base, environments: { ...state.environments, [environment]: setting } };
    }
    case 'FeatureFlagTurnedOff': {
      const setting = { enabled, rollout, changedBy: `deployment:${event.data.deploymentId}`, changedAt: event.data.turnedOffAt, ramp: state.environments[environment]?.ramp ?? null };
      return { ...base, environments: { ...state.environments, [environment]: setting } };
    }
    default:
      return assertNever(event);
  }
}

export const initialFeatureFlagState = (): FeatureFlagState => ({ name: null, description: '', service: null, environments: {} });

export const featureFlagDecider: Decider<FeatureFlagCommand, FeatureFlagEvent, FeatureFlagState> = {
  decide: decideFeatureFlag,
  evolve: evolveFeatureFlag,
  initialState: initialFeatureFlagState,
};
