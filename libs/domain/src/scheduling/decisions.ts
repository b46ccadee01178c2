/**
 * Scheduling's decision points — book, move (request a slot / reschedule), re-plan, start — each one pure
 * function of the policy, the governance read model (governance.ts) and the clock, returning the decision
 * with every reason. The scheduling service only turns a decision into commands on its streams.
 */
import { evaluateDeployment, formatInstant, getEnvironmentPolicy, MS_PER_MINUTE, type EvaluationContext, type PolicySet } from '@gatehouse/policy';
import { toMs } from '../clock.js';
import { evaluateTestingGates } from '../testing-gates/testingGates.js';
import { checkReleasePlan } from '../release/releasePlan.js';
import { emergencyBooking, type EmergencyChangeFacts, emergencyStart } from './emergency.js';
import { type ChangeFacts, changeCarriesMigration, gateRecordKey, majorReleasesOf, type SchedulingFacts } from './governance.js';
import type { Booking } from './schedule.js';
import { checkDeploymentSlot, findDeploymentSlot, type SlotCheck, type SlotResult, windowContaining } from './slots.js';

/** Rule kinds judged at the moment a deployment starts (`<environment>/<kind>/<id>`): where and when it may go now. */
const START_TIMING_RULE = /^[^/]+\/(windows|blackouts|freezes|emergency)\//;

/** What the rules need beyond the policy: the major releases booked or planned, and (for one environment) the releases that went there. */
export function evaluationContextOf(facts: SchedulingFacts, environment?: string): EvaluationContext {
  return {
    majorReleases: majorReleasesOf(facts),
    ...(environment === undefined ? {} : { releaseHistory: facts.deployed.filter((d) => d.environment === environment).map(({ service, releaseType, deployedAt }) => ({ service, releaseType, deployedAt })) }),
  };
}

function emergencyFactsOf(facts: SchedulingFacts, changeRequestId: string, change: ChangeFacts): EmergencyChangeFacts {
  return {
    environment: change.environments[0] ?? '',
    author: change.author,
    includesMigration: changeCarriesMigration(facts, change),
    hasRunbook: change.hasRunbook,
    approvals: facts.approvals.get(changeRequestId) ?? [],
  };
}

/** A booking never moves before the time its author planned. */
function earliestStart(change: ChangeFacts | undefined, now: Date): Date {
  return new Date(Math.max(now.getTime(), change === undefined ? 0 : Date.parse(change.planned)));
}

// ---------------------------------------------------------------- book

export type BookingDecision =
  | { decision: 'ignore'; why: string }
  | { decision: 'refuse'; environment: string; reasons: string[]; nextAllowedAt?: Date; policyVersion: string }
  | { decision: 'book'; booking: Booking; policyVersion: string; note?: string };

/** An approved change: the slot it gets (the next allowed one, or now for an emergency allowed now), or why none. */
export function decideBooking(policySet: PolicySet, facts: SchedulingFacts, changeRequestId: string, now: Date): BookingDecision {
  const { policyVersion } = policySet;
  const change = facts.changes.get(changeRequestId);
  if (change === undefined) return { decision: 'ignore', why: 'approval of a change never submitted: nothing to book' };
  const environment = change.environments[0] ?? '';
  const refuse = (reasons: string[], nextAllowedAt?: Date): BookingDecision => ({ decision: 'refuse', environment, reasons, policyVersion, ...(nextAllowedAt ? { nextAllowedAt } : {}) });
  if (change.environments.length !== 1) {
    return refuse([`one deployment per change request: the change names ${change.environments.length} environments (${change.environments.join(', ')}); submit one change per environment`]);
  }
  const release = change.releaseId === undefined ? undefined : facts.releases.get(change.releaseId);
  if (change.releaseId === undefined || release === undefined) {
    return refuse([change.releaseId === undefined ? 'the change names no release, so there is no service and version to deploy' : `release ${change.releaseId} is unknown`]);
  }
  if (!(environment in policySet.environments)) return refuse([`no policy for environment ${environment}`]);
  const strategy = getEnvironmentPolicy(policySet, environment).strategy.default;
  const from = earliestStart(change, now);
  const context = evaluationContextOf(facts);
  const base = { changeRequestId, releaseId: change.releaseId, service: release.service, version: release.version, environment, changeType: change.kind, strategy };
  let note: string | undefined;
  if (change.kind === 'emergency') {
    const start = emergencyStart(policySet, emergencyFactsOf(facts, changeRequestId, change), from, strategy, context);
    if (start.allowed) return { decision: 'book', booking: emergencyBooking(base, from, start), policyVersion: start.policyVersion };
    // Not allowed now with these approvals (e.g. approved before a blackout began): the next regular slot, as for any change.
    note = `emergency change may not start now (${start.reasons.join('; ')}): booked into the next regular slot`;
  }
  const slot = findDeploymentSlot(policySet, { ...base, from, bookings: [...facts.bookings.values()], context });
  if (!slot.found) return refuse(slot.reasons);
  // The release cadence at the slot: a policy that refuses a broken cadence refuses the booking; one that warns lets it be.
  const cadence = evaluateDeployment(policySet, {
    environment,
    at: slot.scheduledFor,
    changeType: change.kind,
    release: { service: release.service, releaseType: release.releaseType },
    context: evaluationContextOf(facts, environment),
  }).reasons.filter((r) => r.ruleId.startsWith(`${environment}/cadence/`));
  const brokenCadence = cadence.filter((r) => r.kind === 'deny').map((r) => `${r.ruleId}: ${r.message}`);
  if (brokenCadence.length > 0) return refuse(brokenCadence);
  const warnings = cadence.filter((r) => r.kind === 'info').map((r) => `${r.ruleId}: ${r.message}`);
  const booking: Booking = {
    ...base,
    scheduledFor: slot.scheduledFor.toISOString(),
    ...(slot.window ? { windowId: slot.window.windowId } : {}),
    policyVersion: slot.policyVersion,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  return { decision: 'book', booking, policyVersion: slot.policyVersion, ...(note ? { note } : {}) };
}

// ---------------------------------------------------------------- move (request a slot, reschedule)

/**
 * May this booking move to exactly `at`? Not into the past; then windows, blackouts, freezes (with every major release
 * known), plan fit and the per-window limit.
 */
export function decideMove(policySet: PolicySet, facts: SchedulingFacts, booking: Booking, at: Date, now: Date): SlotCheck {
  if (at.getTime() < now.getTime()) {
    return { allowed: false, policyVersion: policySet.policyVersion, reasons: [`${booking.environment}/schedule/not-in-the-past: ${formatInstant(at)} has passed (now ${formatInstant(now)}); ask for a later slot`] };
  }
  return checkDeploymentSlot(policySet, { ...booking, at, bookings: [...facts.bookings.values()], context: evaluationContextOf(facts) });
}

/** The first allowed slot for this booking at or after `from`, seeing every major release and booking. */
export function decideNextSlot(policySet: PolicySet, facts: SchedulingFacts, booking: Booking, from: Date): SlotResult {
  return findDeploymentSlot(policySet, { ...booking, from, bookings: [...facts.bookings.values()], context: evaluationContextOf(facts) });
}

export type RescheduleDecision =
  | { allowed: true; scheduledFor: Date; windowId?: string; policyVersion: string }
  | { allowed: false; requestedAt: Date; reasons: string[]; nextAllowedAt?: Date; policyVersion: string };

/**
 * A person moves a booking (or re-books one whose start was refused): to exactly `at` when given, otherwise to the
 * next allowed slot after the window of its current one (and not before now).
 */
export function decideReschedule(policySet: PolicySet, facts: SchedulingFacts, booking: Booking, at: Date | undefined, now: Date): RescheduleDecision {
  let target = at;
  if (target === undefined) {
    const current = new Date(booking.scheduledFor);
    const after = windowContaining(policySet, booking.environment, current)?.end ?? new Date(current.getTime() + MS_PER_MINUTE);
    const from = new Date(Math.max(after.getTime(), now.getTime()));
    const slot = decideNextSlot(policySet, facts, booking, from);
    if (!slot.found) return { allowed: false, requestedAt: from, reasons: slot.reasons, policyVersion: slot.policyVersion };
    target = slot.scheduledFor;
  }
  const check = decideMove(policySet, facts, booking, target, now);
  if (!check.allowed) return { allowed: false, requestedAt: target, reasons: check.reasons, ...(check.nextAllowedAt ? { nextAllowedAt: check.nextAllowedAt } : {}), policyVersion: check.policyVersion };
  return { allowed: true, scheduledFor: target, ...(check.window ? { windowId: check.window.windowId } : {}), policyVersion: check.policyVersion };
}

// ---------------------------------------------------------------- re-plan

export type ReplanStep =
  | { changeRequestId: string; environment: string; decision: 'move'; scheduledFor: Date; windowId?: string; policyVersion: string; reason: string }
  | { changeRequestId: string; environment: string; decision: 'refuse'; reasons: string[]; policyVersion: string };

/**
 * Every future booking the policy or the facts no longer allow (a new policy version, a major release booked
 * after work was booked inside its freeze) moves to the next allowed slot, or is refused when none is left.
 * `cause` says what changed; each step's reason names the rules that moved it.
 */
export function decideReplan(policySet: PolicySet, facts: SchedulingFacts, now: Date, cause: string): ReplanStep[] {
  const context = evaluationContextOf(facts);
  const { policyVersion } = policySet;
  // Moves are decided one after another, each seeing the bookings as the earlier ones left them.
  const bookings = new Map(facts.bookings);
  const steps: ReplanStep[] = [];
  for (const booking of [...facts.bookings.values()]) {
    if (toMs(booking.scheduledFor) <= now.getTime()) continue;
    if (!(booking.environment in policySet.environments)) continue;
    const change = facts.changes.get(booking.changeRequestId);
    // An emergency that went through the bypass stays while the policy still lets it go with its approvals.
    if (booking.emergencyBypass !== undefined && change !== undefined && emergencyStart(policySet, emergencyFactsOf(facts, booking.changeRequestId, change), new Date(booking.scheduledFor), booking.strategy, context).allowed) continue;
    const others = [...bookings.values()];
    const check = checkDeploymentSlot(policySet, { ...booking, at: new Date(booking.scheduledFor), bookings: others, context });
    if (check.allowed) continue;
    const slot = findDeploymentSlot(policySet, { ...booking, from: earliestStart(change, now), bookings: others, context });
    const { changeRequestId, environment } = booking;
    if (!slot.found) {
      steps.push({ changeRequestId, environment, decision: 'refuse', reasons: [...check.reasons, ...slot.reasons], policyVersion });
      bookings.delete(changeRequestId);
      continue;
    }
    const scheduledFor = slot.scheduledFor;
    steps.push({
      changeRequestId,
      environment,
      decision: 'move',
      scheduledFor,
      ...(slot.window ? { windowId: slot.window.windowId } : {}),
      policyVersion,
      reason: `${cause}: ${booking.scheduledFor} is no longer allowed (${check.reasons.join('; ')}); moved to the next allowed slot ${formatInstant(scheduledFor)}`,
    });
    bookings.set(changeRequestId, { ...booking, scheduledFor: scheduledFor.toISOString() });
  }
  return steps;
}

// ---------------------------------------------------------------- start

export type StartDecision =
  | { decision: 'stale' }
  | { decision: 'start'; reasons: string[] }
  | { decision: 'rebook'; scheduledFor: Date; windowId?: string; policyVersion: string; reason: string }
  | { decision: 'refuse-slot'; reasons: string[]; policyVersion: string }
  | { decision: 'block'; reasons: string[] };

/**
 * The booking's timer fired at `now` (perhaps late: scheduling may have been down across the window). The start
 * is judged at this moment: window, blackouts and freezes (an emergency's bypass with its approvals), then the
 * environment's testing gates for the release. Missed timing re-books the next allowed slot and says why; a gate
 * that stops it blocks the booking until someone decides again (a late gate result alone does not start it).
 */
export function decideStart(policySet: PolicySet, facts: SchedulingFacts, booking: Booking, dueAt: string, now: Date): StartDecision {
  if (toMs(dueAt) !== toMs(booking.scheduledFor)) return { decision: 'stale' };
  if (!(booking.environment in policySet.environments)) return { decision: 'refuse-slot', reasons: [`no policy for environment ${booking.environment}`], policyVersion: policySet.policyVersion };
  const context = evaluationContextOf(facts);
  const change = facts.changes.get(booking.changeRequestId);
  const emergency = booking.changeType === 'emergency' && change !== undefined ? emergencyFactsOf(facts, booking.changeRequestId, change) : undefined;
  const evaluation = evaluateDeployment(policySet, {
    environment: booking.environment,
    at: now,
    changeType: booking.changeType,
    context,
    ...(emergency ? { approvals: emergency.approvals, author: emergency.author } : {}),
  });
  const timing = evaluation.reasons.filter((r) => START_TIMING_RULE.test(r.ruleId));
  const denied = timing.filter((r) => r.kind === 'deny').map((r) => `${r.ruleId}: ${r.message}`);
  if (denied.length > 0) {
    const slot = findDeploymentSlot(policySet, { ...booking, from: earliestStart(change, now), bookings: [...facts.bookings.values()], context });
    if (!slot.found) return { decision: 'refuse-slot', reasons: [...denied, ...slot.reasons], policyVersion: slot.policyVersion };
    return {
      decision: 'rebook',
      scheduledFor: slot.scheduledFor,
      ...(slot.window ? { windowId: slot.window.windowId } : {}),
      policyVersion: slot.policyVersion,
      reason: `missed slot ${booking.scheduledFor}: the start came at ${formatInstant(now)}, when ${denied.join('; ')}; re-booked into the next allowed slot ${formatInstant(slot.scheduledFor)}`,
    };
  }
  // The release plan: a pending or failed prerequisite stops the start until its owner completes it and someone reschedules.
  const plan = checkReleasePlan(booking.releaseId, facts.prerequisites.get(booking.releaseId) ?? [], `the start of change ${booking.changeRequestId} in ${booking.environment}`);
  if (plan !== null) return { decision: 'block', reasons: [`${booking.environment}/releasePlan/prerequisites: ${plan.message}; reschedule the deployment once they are completed`] };
  const gates = getEnvironmentPolicy(policySet, booking.environment).testingGates;
  const record = facts.gates.get(gateRecordKey(booking.releaseId, booking.environment)) ?? { results: [], overrides: [] };
  const verdict = evaluateTestingGates({ gates, results: record.results, overrides: record.overrides, now });
  const gateReasons = verdict.reasons.map((r) => `${booking.environment}/testingGates/${r.gateId}: ${r.message}`);
  if (!verdict.allowed) {
    const stopping = verdict.reasons.filter((r) => r.effect === 'blocks' || r.effect === 'needs_override' || r.effect === 'pending');
    return {
      decision: 'block',
      reasons: stopping.map((r) => `${booking.environment}/testingGates/${r.gateId}: ${r.message}; reschedule the deployment once it is resolved`),
    };
  }
  return { decision: 'start', reasons: [...timing.map((r) => `${r.ruleId}: ${r.message}`), ...gateReasons] };
}
