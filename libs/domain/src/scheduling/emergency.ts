/**
 * Emergency changes go now: an approved emergency change is booked for its planned time or now, whichever
 * is later, when the policy evaluation with the approvals it was granted allows it. Windows, blackouts and
 * freezes yield only to the environment's window-bypass role (production: VP Engineering), which the
 * approvals context already required of such a change; the bypassed rules are recorded on the booking.
 */
import { type Approval, type DeploymentStrategy, evaluateDeployment, type EvaluationContext, getEnvironmentPolicy, type PolicySet, type Role } from '@gatehouse/policy';
import type { Booking, EmergencyBypass } from './schedule.js';
import { windowContaining } from './slots.js';

/** What the evaluation needs to know about the change beyond where and when. */
export interface EmergencyChangeFacts {
  environment: string;
  author: string;
  includesMigration: boolean;
  hasRunbook: boolean;
  /** Who approved in which role (`ChangeFullyApproved.fills`). */
  approvals: readonly Approval[];
}

export type EmergencyStart = { allowed: true; window?: { windowId: string }; bypass?: EmergencyBypass; policyVersion: string } | { allowed: false; reasons: string[]; policyVersion: string };

/** Rule kinds a window bypass lifts (`<environment>/<kind>/<rule id>`). */
const BYPASSABLE_RULE = /^[^/]+\/(windows|blackouts|freezes)\//;

/** The approvals of a fully approved change, one per approver and role filled. */
export function approvalsOfFills(fills: ReadonlyArray<{ role: Role; approvers: readonly string[] }>): Approval[] {
  return fills.flatMap(({ role, approvers }) => approvers.map((approver) => ({ role, approver })));
}

/** May this emergency change start at `at` with the approvals it has? If so, what it bypasses and on whose approval. */
export function emergencyStart(policySet: PolicySet, change: EmergencyChangeFacts, at: Date, strategy: DeploymentStrategy, context?: EvaluationContext): EmergencyStart {
  const { environment, author, includesMigration, hasRunbook, approvals } = change;
  const decision = evaluateDeployment(policySet, { environment, at, changeType: 'emergency', strategy, approvals, author, includesMigration, hasRunbook, ...(context ? { context } : {}) });
  const { policyVersion } = decision;
  if (!decision.allowed) return { allowed: false, policyVersion, reasons: decision.reasons.filter((r) => r.kind === 'deny').map((r) => `${r.ruleId}: ${r.message}`) };
  const window = windowContaining(policySet, environment, at);
  const base = { allowed: true as const, policyVersion, ...(window ? { window: { windowId: window.windowId } } : {}) };
  const role = getEnvironmentPolicy(policySet, environment).emergency.windowBypassRole;
  const allowance = decision.reasons.find((r) => r.ruleId === `${environment}/emergency/window-bypass` && r.kind === 'allow');
  if (role === undefined || allowance === undefined) return base;
  const bypassed = decision.reasons.filter((r) => r.kind === 'info' && BYPASSABLE_RULE.test(r.ruleId));
  return {
    ...base,
    bypass: {
      role,
      approvers: approvals.filter((a) => a.role === role).map((a) => a.approver),
      reasons: [...bypassed, allowance].map((r) => `${r.ruleId}: ${r.message}`),
    },
  };
}

/** The booking of an emergency change that may start at `at` (see `emergencyStart`). */
export function emergencyBooking(base: Omit<Booking, 'scheduledFor' | 'windowId' | 'policyVersion' | 'emergencyBypass'>, at: Date, start: Extract<EmergencyStart, { allowed: true }>): Booking {
  return {
    ...base,
    scheduledFor: at.toISOString(),
    ...(start.window ? { windowId: start.window.windowId } : {}),
    policyVersion: start.policyVersion,
    ...(start.bypass ? { emergencyBypass: start.bypass } : {}),
  };
}
