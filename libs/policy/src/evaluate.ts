/**
 * May this change go to this environment at this instant? Every rule consulted leaves a reason
 * (allow / deny / info) carrying the policy version, and a refusal for timing says when it would be allowed.
 */
import { blockedPeriods, environmentCalendar, openWindows, type BlockedPeriod, type EvaluationContext, type WindowOccurrence } from './calendar/index.js';
import { InvalidEvaluationInputError } from './errors.js';
import { getEnvironmentPolicy, type PolicySet } from './load.js';
import { planDeployment, type DeploymentPlan } from './plan.js';
import { ROLE_TITLES } from './roles.js';
import {
  CHANGE_TYPES,
  DEPLOYMENT_STRATEGIES,
  ROLES,
  type ChangeType,
  type DeploymentStrategy,
  type DeploymentWindow,
  type EnvironmentPolicy,
  type Role,
  type RoleRequirement,
} from './schema.js';
import { assertValidInstant, contains, formatInstant, interval, MS_PER_DAY, MS_PER_MINUTE, overlaps, type Interval } from './time.js';

/** How far ahead nextAllowedDeploymentTime looks before giving up (a bit more than a year of blackouts). */
export const MAX_SEARCH_HORIZON_DAYS = 400;
/** The search computes calendars chunk by chunk: most answers lie within two weeks. */
const SEARCH_CHUNK_DAYS = 14;

export interface Approval {
  readonly role: Role;
  /** Who approved (a user id); used for separation of duties. */
  readonly approver: string;
}

export interface DeploymentRequest {
  readonly environment: string;
  /** Instant the deployment would start. */
  readonly at: Date;
  readonly changeType: ChangeType;
  /** When given, the strategy must be allowed and its whole plan must fit the window. */
  readonly strategy?: DeploymentStrategy;
  /** When given, checked against the approval matrix; when omitted, approvals are listed but not checked. */
  readonly approvals?: readonly Approval[];
  /** Author of the change: cannot approve it when separation of duties says so. */
  readonly author?: string;
  /** The change includes a database migration (needs its own approval where required). */
  readonly includesMigration?: boolean;
  /** The change has runbook documentation; omitted means not checked. */
  readonly hasRunbook?: boolean;
  /** The release being deployed: the release cadence is checked for it (against `context.releaseHistory`); omitted means not checked. */
  readonly release?: { readonly service: string; readonly releaseType: string };
  readonly context?: EvaluationContext;
}

export type ReasonKind = 'allow' | 'deny' | 'info';

export interface DecisionReason {
  /** "<environment>/<rule kind>/<rule id>", e.g. "production/blackouts/black-friday-week". */
  readonly ruleId: string;
  readonly kind: ReasonKind;
  readonly message: string;
  readonly policyVersion: string;
}

export interface Decision {
  readonly environment: string;
  readonly at: Date;
  readonly changeType: ChangeType;
  readonly allowed: boolean;
  readonly reasons: readonly DecisionReason[];
  /** When refused for timing: the first later instant a change of this type (and strategy) may start, without any bypass. */
  readonly nextAllowedAt?: Date;
  /** Approvals this change needs in this environment. */
  readonly requiredApprovals: readonly RoleRequirement[];
  readonly policyVersion: string;
  /** The timed plan when a strategy was given. */
  readonly plan?: DeploymentPlan;
}

export interface NextAllowedOptions {
  /** @defaultValue 'normal' */
  readonly changeType?: ChangeType;
  /** When given, the whole plan of this strategy must fit in one window opening, clear of blocked periods. */
  readonly strategy?: DeploymentStrategy;
  readonly context?: EvaluationContext;
  /** @defaultValue MAX_SEARCH_HORIZON_DAYS */
  readonly horizonDays?: number;
}

type Reason = Omit<DecisionReason, 'policyVersion'>;

interface Timing {
  readonly reasons: Reason[];
  readonly denied: boolean;
  /** An emergency change passed windows/blackouts through the bypass role. */
  readonly bypassed: boolean;
  /** The bypass role had to approve (the change was outside a window or blocked). */
  readonly bypassNeeded: boolean;
  readonly window?: WindowOccurrence;
}

export function evaluateDeployment(policySet: PolicySet, request: DeploymentRequest): Decision {
  validateRequest(request);
  const policy = getEnvironmentPolicy(policySet, request.environment);
  const timing = evaluateTiming(policy, request);
  const strategy = evaluateStrategy(policy, request, timing);
  const required = requiredApprovals(policy, request, timing.bypassNeeded);
  const reasons: Reason[] = [
    ...timing.reasons,
    ...strategy.reasons,
    ...approvalReasons(policy, request, required),
    ...runbookReasons(policy, request),
    ...cadenceReasons(policy, request),
    ...gateReasons(policy),
  ];
  const timingRefused = timing.denied || strategy.planDenied;
  const nextAllowedAt = timingRefused
    ? nextAllowedDeploymentTime(policySet, request.environment, request.at, {
        changeType: request.changeType,
        ...(strategy.plan ? { strategy: strategy.plan.strategy } : {}),
        ...(request.context ? { context: request.context } : {}),
      })
    : undefined;
  if (timingRefused) reasons.push(nextAllowedReason(policy, nextAllowedAt));
  const policyVersion = policySet.policyVersion;
  return {
    environment: policy.environment,
    at: request.at,
    changeType: request.changeType,
    allowed: !reasons.some((r) => r.kind === 'deny'),
    reasons: reasons.map((r) => ({ ...r, policyVersion })),
    ...(nextAllowedAt ? { nextAllowedAt } : {}),
    requiredApprovals: required,
    policyVersion,
    ...(strategy.plan ? { plan: strategy.plan } : {}),
  };
}

/**
 * The first instant at or after `from` at which a change of this type may start without any bypass:
 * inside a window opening (any time when continuous), outside blackouts and freezes, and — with a
 * strategy — with room for the whole plan. Undefined when nothing opens within the horizon.
 */
export function nextAllowedDeploymentTime(policySet: PolicySet, environment: string, from: Date, options: NextAllowedOptions = {}): Date | undefined {
  assertValidInstant('from', from);
  const policy = getEnvironmentPolicy(policySet, environment);
  const planMs = options.strategy ? planDeployment(policy.strategy, options.strategy, { start: from }).totalMinutes * MS_PER_MINUTE : 0;
  const horizonEnd = from.getTime() + (options.horizonDays ?? MAX_SEARCH_HORIZON_DAYS) * MS_PER_DAY;
  const calendarOptions = { changeType: options.changeType ?? 'normal', ...(options.context ? { context: options.context } : {}) };
  for (let chunkStart = from.getTime(); chunkStart < horizonEnd; chunkStart += SEARCH_CHUNK_DAYS * MS_PER_DAY) {
    const chunkEnd = Math.min(chunkStart + SEARCH_CHUNK_DAYS * MS_PER_DAY, horizonEnd);
    // Look past the chunk by the plan length and a day, so a window opening near the chunk end is seen whole.
    const calendar = environmentCalendar(policy, interval(chunkStart, chunkEnd + planMs + MS_PER_DAY), calendarOptions);
    for (const segment of calendar.allowed) {
      if (segment.start.getTime() >= chunkEnd) break;
      if (segment.end.getTime() - segment.start.getTime() >= Math.max(planMs, 1)) return segment.start;
    }
  }
  return undefined;
}

function validateRequest(request: DeploymentRequest): void {
  assertValidInstant('at', request.at);
  if (!CHANGE_TYPES.includes(request.changeType)) {
    throw new InvalidEvaluationInputError('changeType', `must be one of ${CHANGE_TYPES.join(', ')}; got '${String(request.changeType)}'`);
  }
  if (request.strategy !== undefined && !DEPLOYMENT_STRATEGIES.includes(request.strategy)) {
    throw new InvalidEvaluationInputError('strategy', `must be one of ${DEPLOYMENT_STRATEGIES.join(', ')}; got '${String(request.strategy)}'`);
  }
  request.approvals?.forEach((approval, i) => {
    if (!ROLES.includes(approval.role)) throw new InvalidEvaluationInputError(`approvals[${i}].role`, `must be one of ${ROLES.join(', ')}; got '${String(approval.role)}'`);
    if (approval.approver.trim() === '') throw new InvalidEvaluationInputError(`approvals[${i}].approver`, 'must name the approver');
  });
}

// ---------------------------------------------------------------------------------------------
// Timing: windows, blackouts, freezes, emergency bypass

function evaluateTiming(policy: EnvironmentPolicy, request: DeploymentRequest): Timing {
  const env = policy.environment;
  const probe = interval(request.at.getTime() - MS_PER_DAY, request.at.getTime() + MS_PER_DAY);
  const window = containingWindow(openWindows(policy, probe), request.at);
  const blockers = blockedPeriods(policy, probe, calendarOptionsOf(request)).filter((p) => contains(p, request.at));
  const windowed = policy.frequency.mode === 'windowed';
  const closed = windowed && !window;

  if (!closed && blockers.length === 0) {
    return { reasons: [openReason(policy, request.at, window)], denied: false, bypassed: false, bypassNeeded: false, ...(window ? { window } : {}) };
  }
  const obstacles: Reason[] = [...(closed ? [closedWindowReason(policy, request.at)] : []), ...blockers.map((b) => blockedReason(env, b))];
  if (request.changeType === 'emergency') return emergencyTiming(policy, request, obstacles, window);
  const bypassHint = bypassHintOf(policy);
  return { reasons: obstacles.map((o) => ({ ...o, message: `${o.message}${bypassHint}` })), denied: true, bypassed: false, bypassNeeded: false, ...(window ? { window } : {}) };
}

/** Outside a window or inside a blackout, an emergency change goes only with the bypass role's approval. */
function emergencyTiming(policy: EnvironmentPolicy, request: DeploymentRequest, obstacles: Reason[], window: WindowOccurrence | undefined): Timing {
  const env = policy.environment;
  const bypassRole = policy.emergency.windowBypassRole;
  const base = window ? { window } : {};
  if (!policy.emergency.allowed) {
    const refusal: Reason = { ruleId: `${env}/emergency/allowed`, kind: 'deny', message: `${env} has no emergency path; wait for the next allowed time` };
    return { reasons: [...obstacles, refusal], denied: true, bypassed: false, bypassNeeded: false, ...base };
  }
  const bypasser = bypassRole ? request.approvals?.find((a) => a.role === bypassRole) : undefined;
  if (bypassRole && bypasser) {
    const bypassed = obstacles.map((o) => ({ ...o, kind: 'info' as const, message: `bypassed for this emergency change: ${o.message}` }));
    const allow: Reason = {
      ruleId: `${env}/emergency/window-bypass`,
      kind: 'allow',
      message: `emergency change may deploy to ${env} now: ${ROLE_TITLES[bypassRole]} ${bypasser.approver} approved bypassing windows and blackouts`,
    };
    return { reasons: [...bypassed, allow], denied: false, bypassed: true, bypassNeeded: true, ...base };
  }
  const need = bypassRole
    ? `; emergency changes need ${ROLE_TITLES[bypassRole]} approval to deploy now`
    : `; no role may bypass it in ${env}`;
  return { reasons: obstacles.map((o) => ({ ...o, message: `${o.message}${need}` })), denied: true, bypassed: false, bypassNeeded: bypassRole !== undefined, ...base };
}

function containingWindow(windows: readonly WindowOccurrence[], at: Date): WindowOccurrence | undefined {
  // Of overlapping windows, the one that stays open longest gives the plan the most room.
  return windows.filter((w) => contains(w, at)).sort((a, b) => b.end.getTime() - a.end.getTime())[0];
}

function openReason(policy: EnvironmentPolicy, at: Date, window: WindowOccurrence | undefined): Reason {
  const env = policy.environment;
  if (!window) {
    return { ruleId: `${env}/frequency/continuous`, kind: 'allow', message: `${env} deploys continuously (${policy.frequency.description}); no blackout or freeze applies at ${formatInstant(at)}` };
  }
  return {
    ruleId: `${env}/windows/${window.windowId}`,
    kind: 'allow',
    message: `${formatInstant(at)} is inside ${env} window '${window.name}' (open until ${formatInstant(window.end)}); no blackout or freeze applies`,
  };
}

function closedWindowReason(policy: EnvironmentPolicy, at: Date): Reason {
  const env = policy.environment;
  const windows = policy.windows.map(describeWindow).join('; ');
  const ruleId = `${env}/windows/${policy.windows.map((w) => w.id).join('+')}`;
  return { ruleId, kind: 'deny', message: `${formatInstant(at)} is outside the ${env} deployment windows (${windows})` };
}

function describeWindow(window: DeploymentWindow): string {
  const days = window.days ? window.days.join('/') : 'daily';
  return `'${window.name}' ${days} ${window.start}–${window.end} ${window.timeZone}`;
}

function blockedReason(env: string, period: BlockedPeriod): Reason {
  const kind = period.kind === 'freeze' ? 'freezes' : 'blackouts';
  const state = period.kind === 'freeze' ? 'in change freeze' : 'in blackout';
  return { ruleId: `${env}/${kind}/${period.ruleId}`, kind: 'deny', message: `${env} is ${state} '${period.name}' until ${formatInstant(period.end)}` };
}

function bypassHintOf(policy: EnvironmentPolicy): string {
  const role = policy.emergency.allowed ? policy.emergency.windowBypassRole : undefined;
  return role ? `; emergency changes need ${ROLE_TITLES[role]} approval` : '';
}

function nextAllowedReason(policy: EnvironmentPolicy, next: Date | undefined): Reason {
  const ruleId = `${policy.environment}/next-allowed`;
  return next
    ? { ruleId, kind: 'info', message: `next allowed start in ${policy.environment}: ${formatInstant(next)}` }
    : { ruleId, kind: 'info', message: `no allowed start in ${policy.environment} within ${MAX_SEARCH_HORIZON_DAYS} days` };
}

function calendarOptionsOf(request: DeploymentRequest) {
  return { changeType: request.changeType, ...(request.context ? { context: request.context } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Strategy: allowed, and the whole plan fits the window it starts in

function evaluateStrategy(policy: EnvironmentPolicy, request: DeploymentRequest, timing: Timing): { reasons: Reason[]; plan?: DeploymentPlan; planDenied: boolean } {
  const env = policy.environment;
  const { allowed, default: defaultStrategy } = policy.strategy;
  if (request.strategy === undefined) {
    return { reasons: [{ ruleId: `${env}/strategy/default`, kind: 'info', message: `default strategy in ${env} is ${defaultStrategy}; pass a strategy to check that its plan fits the window` }], planDenied: false };
  }
  if (!allowed.includes(request.strategy)) {
    const message = `strategy '${request.strategy}' is not allowed in ${env}; use one of ${allowed.join(', ')} (default ${defaultStrategy})`;
    return { reasons: [{ ruleId: `${env}/strategy/allowed`, kind: 'deny', message }], planDenied: false };
  }
  const plan = planDeployment(policy.strategy, request.strategy, { start: request.at });
  if (timing.denied) return { reasons: [], plan, planDenied: false };
  if (timing.bypassed) {
    return { reasons: [{ ruleId: `${env}/strategy/plan-fits-window`, kind: 'info', message: `emergency bypass: the ${plan.strategy} plan (${plan.totalMinutes} min) need not fit a window` }], plan, planDenied: false };
  }
  const conflict = planConflict(policy, request, plan, timing.window);
  const ruleId = `${env}/strategy/plan-fits-window`;
  const summary = `${plan.strategy} plan takes ${plan.totalMinutes} min (${formatInstant(plan.start)}–${formatInstant(plan.end)})`;
  if (conflict) {
    return { reasons: [{ ruleId, kind: 'deny', message: `${summary} but ${conflict}; start early enough for the whole plan to fit` }], plan, planDenied: true };
  }
  return { reasons: [{ ruleId, kind: 'allow', message: `${summary} and fits ${timing.window ? `window '${timing.window.name}'` : env}` }], plan, planDenied: false };
}

/** Why the plan does not fit: the window closes first, or a blackout/freeze begins during it. */
function planConflict(policy: EnvironmentPolicy, request: DeploymentRequest, plan: Interval, window: WindowOccurrence | undefined): string | undefined {
  if (window && plan.end.getTime() > window.end.getTime()) return `window '${window.name}' closes at ${formatInstant(window.end)}`;
  const blocker = blockedPeriods(policy, plan, calendarOptionsOf(request)).find((p) => overlaps(p, plan));
  return blocker ? `'${blocker.name}' begins at ${formatInstant(blocker.start)}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Approvals, runbook, gates

function requiredApprovals(policy: EnvironmentPolicy, request: DeploymentRequest, bypassNeeded: boolean): RoleRequirement[] {
  const { approvals, emergency, requirements } = policy;
  const base =
    request.changeType === 'emergency'
      ? [...emergency.approvals, ...(bypassNeeded && emergency.windowBypassRole ? [{ role: emergency.windowBypassRole, count: 1, onCall: false }] : [])]
      : // Pre-approval exists only where the policy names pre-approved templates (production lists none).
        request.changeType === 'standard' && approvals.standardChangesPreApproved && approvals.standardChangeTemplates.length > 0
        ? []
        : approvals.required;
  const migration = request.includesMigration && requirements.migrationApproval && approvals.migrationApproval ? [approvals.migrationApproval] : [];
  return mergeByRole([...base, ...migration]);
}

/**
 * Requirements for the same role merge (highest count, on call if any asks), as the approvals context counts them:
 * where the bypass role is also an emergency approver (staging: Tech Lead), one Tech Lead approval fills both.
 */
function mergeByRole(requirements: readonly RoleRequirement[]): RoleRequirement[] {
  const byRole = new Map<Role, RoleRequirement>();
  for (const r of requirements) {
    const seen = byRole.get(r.role);
    byRole.set(r.role, seen === undefined ? { ...r } : { ...seen, count: Math.max(seen.count, r.count), onCall: seen.onCall || r.onCall });
  }
  return [...byRole.values()];
}

function approvalReasons(policy: EnvironmentPolicy, request: DeploymentRequest, required: readonly RoleRequirement[]): Reason[] {
  const env = policy.environment;
  if (required.length === 0) return [{ ruleId: `${env}/approvals`, kind: 'info', message: `no approval required for a ${request.changeType} change in ${env}` }];
  if (request.approvals === undefined) {
    return [{ ruleId: `${env}/approvals`, kind: 'info', message: `needs approval by ${required.map(describeRequirement).join(', ')} (not checked: no approvals given)` }];
  }
  const { authorCannotApprove, distinctApproverPerRole } = policy.approvals.separationOfDuties;
  const used = new Set<string>();
  return required.map((requirement) => {
    const eligible = [...new Set(request.approvals?.filter((a) => a.role === requirement.role).map((a) => a.approver))].filter(
      (approver) => !(authorCannotApprove && approver === request.author) && !(distinctApproverPerRole && used.has(approver)),
    );
    const counted = eligible.slice(0, requirement.count);
    counted.forEach((approver) => used.add(approver));
    const ruleId = `${env}/approvals/${requirement.role}`;
    const title = ROLE_TITLES[requirement.role];
    if (counted.length >= requirement.count) return { ruleId, kind: 'allow', message: `${title} approval by ${counted.join(', ')}` };
    return {
      ruleId,
      kind: 'deny',
      message: `${env} needs ${requirement.count} ${title} approval${requirement.count === 1 ? '' : 's'}${requirement.onCall ? ' (on call)' : ''}, has ${counted.length}; ask another ${title} (authors cannot approve their own change, and one person fills one role)`,
    };
  });
}

function describeRequirement(requirement: RoleRequirement): string {
  const count = requirement.count === 1 ? '' : `${requirement.count}× `;
  return `${count}${ROLE_TITLES[requirement.role]}${requirement.onCall ? ' (on call)' : ''}`;
}

function runbookReasons(policy: EnvironmentPolicy, request: DeploymentRequest): Reason[] {
  if (!policy.requirements.runbook) return [];
  const ruleId = `${policy.environment}/requirements/runbook`;
  if (request.hasRunbook === undefined) return [{ ruleId, kind: 'info', message: `${policy.environment} requires runbook documentation for every change (not checked)` }];
  return request.hasRunbook
    ? [{ ruleId, kind: 'allow', message: 'runbook documentation present' }]
    : [{ ruleId, kind: 'deny', message: `${policy.environment} requires runbook documentation for every change; link the runbook to the change` }];
}

/**
 * Release cadence: at most one release of a type per service within `minDaysBetween` days (counted from the last one
 * in `context.releaseHistory`), and only in its `quarters`. A broken cadence is a deny when the policy says refuse,
 * otherwise an info reason that says so.
 */
function cadenceReasons(policy: EnvironmentPolicy, request: DeploymentRequest): Reason[] {
  const { cadence } = policy;
  const release = request.release;
  if (cadence === undefined || release === undefined) return [];
  const env = policy.environment;
  const ruleId = `${env}/cadence/${release.releaseType}`;
  const rule = cadence.rules.find((r) => r.releaseType === release.releaseType);
  if (rule === undefined) return [{ ruleId, kind: 'info', message: `no release cadence for ${release.releaseType} releases in ${env}` }];
  const broken: string[] = [];
  const quarter = Math.floor(request.at.getUTCMonth() / 3) + 1;
  if (rule.quarters !== undefined && !rule.quarters.includes(quarter)) {
    broken.push(`${release.releaseType} releases deploy to ${env} in ${rule.quarters.map((q) => `Q${q}`).join(', ')} (${rule.description}); ${formatInstant(request.at)} is in Q${quarter}`);
  }
  if (rule.minDaysBetween !== undefined) {
    const last = (request.context?.releaseHistory ?? [])
      .filter((r) => r.service === release.service && r.releaseType === release.releaseType && r.deployedAt.getTime() <= request.at.getTime())
      .reduce<Date | undefined>((latest, r) => (latest === undefined || r.deployedAt > latest ? r.deployedAt : latest), undefined);
    const earliest = last === undefined ? undefined : new Date(last.getTime() + rule.minDaysBetween * MS_PER_DAY);
    if (last !== undefined && earliest !== undefined && request.at.getTime() < earliest.getTime()) {
      broken.push(`${release.service} deployed a ${release.releaseType} release to ${env} at ${formatInstant(last)}; the cadence (${rule.description}) allows one per ${rule.minDaysBetween} days, the next from ${formatInstant(earliest)}`);
    }
  }
  if (broken.length === 0) return [{ ruleId, kind: 'allow', message: `${release.service}'s ${release.releaseType} release fits the ${env} cadence (${rule.description})` }];
  return broken.map((message) =>
    cadence.onViolation === 'refuse' ? { ruleId, kind: 'deny' as const, message } : { ruleId, kind: 'info' as const, message: `cadence warning (the policy warns, it does not refuse): ${message}` },
  );
}

/** Gate results live with the release (domain); the decision lists which must have passed. */
function gateReasons(policy: EnvironmentPolicy): Reason[] {
  if (policy.testingGates.length === 0) return [];
  const gates = policy.testingGates.map((g) => `${g.name} (${g.required ? 'required' : 'optional'}, on failure ${g.onFailure})`).join(', ');
  return [{ ruleId: `${policy.environment}/testingGates`, kind: 'info', message: `before deploying to ${policy.environment} these gates must have passed: ${gates}` }];
}
