import {
  evaluateDeployment,
  formatInstant,
  getEnvironmentPolicy,
  interval,
  nextAllowedDeploymentTime,
  openWindows,
  type ChangeType,
  type DeploymentStrategy,
  type EvaluationContext,
  type PolicySet,
  type WindowOccurrence,
} from '@gatehouse/policy';
import { MS_PER_HOUR, toMs } from '../clock.js';
import type { Booking } from './schedule.js';

/** Window occurrences skipped because the service is already booked in them, before giving up. */
export const MAX_CONFLICTING_WINDOWS_SKIPPED = 200;
/** How far around an instant to look for the window occurrence containing it. */
const WINDOW_PROBE_MS = 24 * MS_PER_HOUR;

export interface SlotRequest {
  changeRequestId: string;
  service: string;
  environment: string;
  changeType: ChangeType;
  strategy: DeploymentStrategy;
  /** Earliest acceptable start (now, or the change's planned time if later). */
  from: Date;
  /** Every deployment already booked (any service, any environment); the change's own booking is ignored. */
  bookings: readonly Pick<Booking, 'changeRequestId' | 'service' | 'environment' | 'scheduledFor'>[];
  context?: EvaluationContext;
}

export type SlotResult =
  | { found: true; scheduledFor: Date; window?: WindowOccurrence; policyVersion: string; skippedWindows: number }
  | { found: false; reasons: string[]; policyVersion: string };

/**
 * The first allowed start at or after `from` for the whole plan of the strategy, skipping window
 * occurrences in which the service already has as many deployments as `frequency.maxDeploymentsPerServicePerWindow`.
 */
export function findDeploymentSlot(policySet: PolicySet, request: SlotRequest): SlotResult {
  const policy = getEnvironmentPolicy(policySet, request.environment);
  const { policyVersion } = policySet;
  const limit = policy.frequency.maxDeploymentsPerServicePerWindow;
  let from = request.from;
  for (let skipped = 0; skipped <= MAX_CONFLICTING_WINDOWS_SKIPPED; skipped++) {
    const start = nextAllowedDeploymentTime(policySet, request.environment, from, {
      changeType: request.changeType,
      strategy: request.strategy,
      ...(request.context ? { context: request.context } : {}),
    });
    if (start === undefined) {
      return { found: false, policyVersion, reasons: [`no allowed start in ${request.environment} for a ${request.strategy} ${request.changeType} change after ${formatInstant(from)}`] };
    }
    const window = windowContaining(policySet, request.environment, start);
    // Continuous environments have no window occurrence to share, so nothing to count.
    if (window === undefined) return { found: true, scheduledFor: start, policyVersion, skippedWindows: skipped };
    const booked = bookingsInWindow(request, window);
    if (booked < limit) return { found: true, scheduledFor: start, window, policyVersion, skippedWindows: skipped };
    from = window.end;
  }
  return {
    found: false,
    policyVersion,
    reasons: [`${request.service} is already booked in the next ${MAX_CONFLICTING_WINDOWS_SKIPPED} ${request.environment} windows (at most ${limit} per window)`],
  };
}

export type SlotCheck = { allowed: true; window?: WindowOccurrence; policyVersion: string } | { allowed: false; reasons: string[]; nextAllowedAt?: Date; policyVersion: string };

/** May this change start exactly at `at`? Policy timing and strategy (evaluateDeployment), then the per-window limit. */
export function checkDeploymentSlot(policySet: PolicySet, request: Omit<SlotRequest, 'from'> & { at: Date }): SlotCheck {
  const decision = evaluateDeployment(policySet, {
    environment: request.environment,
    at: request.at,
    changeType: request.changeType,
    strategy: request.strategy,
    ...(request.context ? { context: request.context } : {}),
  });
  const { policyVersion } = decision;
  if (!decision.allowed) {
    const reasons = decision.reasons.filter((r) => r.kind === 'deny').map((r) => `${r.ruleId}: ${r.message}`);
    return { allowed: false, reasons, ...(decision.nextAllowedAt ? { nextAllowedAt: decision.nextAllowedAt } : {}), policyVersion };
  }
  const window = windowContaining(policySet, request.environment, request.at);
  if (window === undefined) return { allowed: true, policyVersion };
  const limit = getEnvironmentPolicy(policySet, request.environment).frequency.maxDeploymentsPerServicePerWindow;
  if (bookingsInWindow(request, window) >= limit) {
    const next = findDeploymentSlot(policySet, { ...request, from: window.end });
    return {
      allowed: false,
      policyVersion,
      reasons: [
        `${request.environment}/frequency/maxDeploymentsPerServicePerWindow: ${request.service} already has ${limit} deployment${limit === 1 ? '' : 's'} booked in window '${window.name}' starting ${formatInstant(window.start)}`,
      ],
      ...(next.found ? { nextAllowedAt: next.scheduledFor } : {}),
    };
  }
  return { allowed: true, window, policyVersion };
}

/** The window occurrence containing `at` that stays open longest (undefined for continuous environments). */
export function windowContaining(policySet: PolicySet, environment: string, at: Date): WindowOccurrence | undefined {
  const policy = getEnvironmentPolicy(policySet, environment);
  if (policy.frequency.mode === 'continuous') return undefined;
  const t = at.getTime();
  return openWindows(policy, interval(t - WINDOW_PROBE_MS, t + WINDOW_PROBE_MS))
    .filter((w) => w.start.getTime() <= t && t < w.end.getTime())
    .sort((a, b) => b.end.getTime() - a.end.getTime())[0];
}

function bookingsInWindow(request: Pick<SlotRequest, 'changeRequestId' | 'service' | 'environment' | 'bookings'>, window: WindowOccurrence): number {
  return request.bookings.filter((b) => {
    if (b.changeRequestId === request.changeRequestId || b.service !== request.service || b.environment !== request.environment) return false;
    const at = toMs(b.scheduledFor);
    return at >= window.start.getTime() && at < window.end.getTime();
  }).length;
}
