/**
 * flags context (served by change-requests): feature flags as governed resources, one stream per flag
 * (`flag-<name>`). People change a flag through `changeFlag` (who and in which roles: the verified caller);
 * a feature-flag deployment ramps the flags bound to its service (`rampFlags`) and its rollback turns them
 * off (`turnOffFlags`): those two are taken from the deployments service only.
 */
import { z } from 'zod';

export const FLAGS_CONTEXT = 'flags';
export const FLAGS_COMMANDS = ['changeFlag', 'getFlag', 'listFlags', 'evaluateFlag', 'rampFlags', 'turnOffFlags', 'flagsOfService'] as const;
export type FlagsCommandName = (typeof FLAGS_COMMANDS)[number];
/** The only caller `rampFlags` / `turnOffFlags` accept: the deployments service, signing for itself. */
export const FLAG_RAMP_CALLER = 'deployments';

export const flagStreamId = (name: string): string => `flag-${name}`;

const Name = z.string().min(1).max(100);
const Environment = z.string().min(1).max(100);
const Envelope = { commandId: z.string().trim().min(1).max(200), correlationId: z.string().min(1).max(200).optional() };

// ---------------------------------------------------------------- commands

export const ChangeFlagPayload = z.strictObject({
  ...Envelope,
  name: Name,
  environment: Environment,
  /** replace: PUT, the environment's whole setting; merge: PATCH, some fields of it. */
  mode: z.enum(['replace', 'merge']),
  /** Validated by the domain (`featureFlagDecider`), so a bad field is named as the request body names it. */
  change: z.record(z.string(), z.unknown()),
});
export type ChangeFlagPayload = z.input<typeof ChangeFlagPayload>;

export const GetFlagPayload = z.strictObject({ name: Name });
export type GetFlagPayload = z.input<typeof GetFlagPayload>;

export const ListFlagsPayload = z.strictObject({ environment: Environment.optional() });
export type ListFlagsPayload = z.input<typeof ListFlagsPayload>;

export const EvaluateFlagPayload = z.strictObject({
  name: Name,
  environment: Environment,
  userId: z.string().min(1).max(200).optional(),
  segments: z.array(z.string().min(1).max(100)).max(50).default([]),
});
export type EvaluateFlagPayload = z.input<typeof EvaluateFlagPayload>;

const DeploymentRef = { deploymentId: z.string().min(1), changeRequestId: z.string().min(1), service: z.string().min(1), environment: Environment };
/** Step `stepIndex` of a feature-flag deployment: every flag bound to the service on for `percentage` % of users. */
export const RampFlagsPayload = z.strictObject({ ...Envelope, ...DeploymentRef, stepIndex: z.number().int().min(0), percentage: z.number().min(0).max(100) });
export type RampFlagsPayload = z.input<typeof RampFlagsPayload>;
/** The deployment rolled back: the flags it ramped go off. */
export const TurnOffFlagsPayload = z.strictObject({ ...Envelope, ...DeploymentRef, reason: z.string().min(1).max(2_000) });
export type TurnOffFlagsPayload = z.input<typeof TurnOffFlagsPayload>;
/** The flags bound to a service, with their setting in one environment (what a deployment's effect checks first). */
export const FlagsOfServicePayload = z.strictObject({ service: z.string().min(1), environment: Environment });
export type FlagsOfServicePayload = z.input<typeof FlagsOfServicePayload>;

// ---------------------------------------------------------------- replies

export interface FlagSettingView {
  enabled: boolean;
  rollout: Record<string, unknown> & { strategy: string };
  changedBy: string;
  changedAt: string;
  /** The deployment step that set it last, when a deployment did. */
  ramp: { deploymentId: string; changeRequestId: string; stepIndex: number } | null;
}

export interface FlagView {
  name: string;
  streamId: string;
  description: string;
  /** The service whose feature-flag deployments ramp this flag (null: changed by people only). */
  service: string | null;
  environments: Record<string, FlagSettingView>;
}

export interface FlagChangeReply {
  flag: FlagView;
  events: string[];
  duplicate: boolean;
}

export interface FlagEvaluationReply {
  name: string;
  environment: string;
  userId: string | null;
  enabled: boolean;
  reason: string;
  /** The user's stable bucket (1..100), for percentage and gradual rollouts. */
  bucket: number | null;
  evaluatedAt: string;
}

export interface FlagRampReply {
  /** Flags bound to the service, and what this command recorded on each. */
  flags: Array<{ name: string; events: string[] }>;
}

// ---------------------------------------------------------------- published events

const Rollout = z.object({ strategy: z.enum(['immediate', 'percentage', 'user_segment', 'gradual']) }).passthrough();
const Setting = z.object({ enabled: z.boolean(), rollout: Rollout });
const Changed = { name: z.string(), environment: z.string(), description: z.string(), service: z.string().nullable(), enabled: z.boolean(), rollout: Rollout, previous: Setting.nullable() };
const Instant = z.iso.datetime({ offset: true });

export const FlagEventSchemas = {
  FeatureFlagChanged: z.object({ ...Changed, changedBy: z.string(), changedAt: Instant }),
  FeatureFlagRamped: z.object({ ...Changed, deploymentId: z.string(), changeRequestId: z.string(), stepIndex: z.number().int(), percentage: z.number(), rampedAt: Instant }),
  FeatureFlagTurnedOff: z.object({ ...Changed, deploymentId: z.string(), changeRequestId: z.string(), reason: z.string(), turnedOffAt: Instant }),
} as const;
