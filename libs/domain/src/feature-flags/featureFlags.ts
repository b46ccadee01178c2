import murmur from 'murmurhash';
import { z } from 'zod';
import { toMs, type Clock } from '../clock.js';
import { assertNever } from '../decider.js';
import { parseOrThrow } from '../validation.js';

/**
 * Feature flags (seeds: immediate, gradual, user_segment, percentage). Percentage bucketing follows
 * Unleash's `normalizedValue`: murmur3(`${groupId}:${userId}`, seed) % 100 + 1, a stable 1..100 bucket,
 * so the same user always gets the same answer for the same flag, and different flags (group ids)
 * bucket users independently.
 */
export const BUCKET_NORMALIZER = 100;
export const BUCKET_SEED = 0;
/** Bucketing id used when no user id is known (all anonymous callers share one bucket). */
export const ANONYMOUS_USER = 'anonymous';

const Percentage = z.number().min(0).max(100);
const Instant = z.iso.datetime({ offset: true });

export const FlagRollout = z.discriminatedUnion('strategy', [
  z.strictObject({ strategy: z.literal('immediate') }),
  z.strictObject({ strategy: z.literal('percentage'), percentage: Percentage, /** Defaults to the flag name. */ groupId: z.string().min(1).optional() }),
  z.strictObject({ strategy: z.literal('user_segment'), userSegments: z.array(z.string().min(1)).min(1) }),
  z
    .strictObject({
      strategy: z.literal('gradual'),
      /** On from this instant (or ramping up from it when `rampEndAt` is set). */
      startAt: Instant,
      /** Linear ramp 0 % → 100 % between startAt and rampEndAt, by stable bucket. */
      rampEndAt: Instant.optional(),
      groupId: z.string().min(1).optional(),
    })
    .refine((g) => g.rampEndAt === undefined || Date.parse(g.rampEndAt) > Date.parse(g.startAt), { message: 'rampEndAt must be after startAt', path: ['rampEndAt'] }),
]);
export type FlagRollout = z.infer<typeof FlagRollout>;

export const FeatureFlag = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  enabled: z.boolean(),
  rollout: FlagRollout,
});
export type FeatureFlag = z.infer<typeof FeatureFlag>;

export interface FlagContext {
  userId?: string;
  /** Segments the user belongs to (e.g. "beta-testers", "enterprise"). */
  segments?: readonly string[];
}

export interface FlagDecision {
  enabled: boolean;
  reason: string;
  bucket?: number;
}

/** Validates a flag definition (names each bad field). */
export function parseFeatureFlag(input: unknown): FeatureFlag {
  return parseOrThrow(FeatureFlag, input, 'feature flag');
}

/** Stable bucket 1..100 for a user within a group (Unleash normalizedValue). */
export function normalizedBucket(groupId: string, userId: string, seed = BUCKET_SEED): number {
  // murmurhash's JS implementation hashes ASCII; UTF-8 bytes keep non-ASCII ids stable too.
  const key = new TextEncoder().encode(`${groupId}:${userId}`);
  return (murmur.v3(key, seed) % BUCKET_NORMALIZER) + 1;
}

export function evaluateFeatureFlag(flag: FeatureFlag, context: FlagContext, clock: Clock): FlagDecision {
  if (!flag.enabled) return { enabled: false, reason: 'flag is disabled' };
  const rollout = flag.rollout;
  const userId = context.userId ?? ANONYMOUS_USER;
  switch (rollout.strategy) {
    case 'immediate':
      return { enabled: true, reason: 'immediate rollout' };
    case 'percentage': {
      const bucket = normalizedBucket(rollout.groupId ?? flag.name, userId);
      return { enabled: rollout.percentage > 0 && bucket <= rollout.percentage, bucket, reason: `bucket ${bucket} vs ${rollout.percentage} %` };
    }
    case 'user_segment': {
      const match = rollout.userSegments.find((s) => context.segments?.includes(s));
      return match === undefined ? { enabled: false, reason: `user is in none of ${rollout.userSegments.join(', ')}` } : { enabled: true, reason: `user is in segment ${match}` };
    }
    case 'gradual': {
      const now = toMs(clock.now());
      const start = toMs(rollout.startAt);
      if (now < start) return { enabled: false, reason: `rollout starts ${rollout.startAt}` };
      if (rollout.rampEndAt === undefined) return { enabled: true, reason: `rollout started ${rollout.startAt}` };
      const end = toMs(rollout.rampEndAt);
      if (now >= end) return { enabled: true, reason: `ramp completed ${rollout.rampEndAt}` };
      const percentage = ((now - start) / (end - start)) * 100;
      const bucket = normalizedBucket(rollout.groupId ?? flag.name, userId);
      return { enabled: bucket <= percentage, bucket, reason: `ramp at ${percentage.toFixed(1)} %, bucket ${bucket}` };
    }
    default:
      return assertNever(rollout);
  }
}

export function isFeatureEnabled(flag: FeatureFlag, context: FlagContext, clock: Clock): boolean {
  return evaluateFeatureFlag(flag, context, clock).enabled;
}
