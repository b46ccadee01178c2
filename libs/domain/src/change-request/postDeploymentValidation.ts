import type { PostDeploymentValidation } from '@gatehouse/policy';
import { iso, MS_PER_MINUTE, toMs } from '../clock.js';
import { DomainError } from '../errors.js';

/**
 * Post-deployment validation: the gate between "deployed" and "validated" (seed: smoke tests and integration
 * checks after each deployment). One pure decision, fed every fact it needs, answers "may this change be
 * validated": the policy's checks, the results reported so far, sign-offs, whether the post-deployment watch
 * passed, when the deployment succeeded and the clock.
 */
export const CHECK_RESULT_STATUSES = ['passed', 'failed'] as const;
export type CheckResultStatus = (typeof CHECK_RESULT_STATUSES)[number];

export interface PostDeploymentCheckResult {
  check: string;
  status: CheckResultStatus;
  reportedBy: string;
  at: string;
}

export interface PostDeploymentSignOff {
  signer: string;
  at: string;
}

export interface PostDeploymentValidationFacts {
  /** The environment's `postDeploymentValidation`; undefined: the watch alone validates. */
  policy: PostDeploymentValidation | undefined;
  /** When the deployment succeeded (the change began validating): the timeout counts from here. */
  deployedAt: string;
  watchPassed: boolean;
  /** Results that arrived in time (late ones are recorded but never decide). */
  results: readonly PostDeploymentCheckResult[];
  signOffs: readonly PostDeploymentSignOff[];
  now: Date;
}

export type PostDeploymentValidationDecision =
  | { decision: 'validated'; reasons: string[]; warnings: string[] }
  | { decision: 'failed'; reasons: string[]; failedCheck: string; timedOut: boolean }
  | { decision: 'pending'; reasons: string[]; deadline: string | null; timedOut: boolean };

/** The sign-off counts as a check of this name when a decision fails for the lack of it. */
export const SIGN_OFF_CHECK = 'sign-off';

/** When a validation with this policy times out, counted from the deployment's success. */
export function validationDeadline(policy: PostDeploymentValidation, deployedAt: string): string {
  return iso(new Date(toMs(deployedAt) + policy.timeoutMinutes * MS_PER_MINUTE));
}

export function decidePostDeploymentValidation(facts: PostDeploymentValidationFacts): PostDeploymentValidationDecision {
  const { policy, watchPassed, results, signOffs, now } = facts;
  const waitingForWatch = 'waiting for the post-deployment watch to pass';
  if (policy === undefined) {
    return watchPassed ? { decision: 'validated', reasons: ['post-deployment watch completed'], warnings: [] } : { decision: 'pending', reasons: [waitingForWatch], deadline: null, timedOut: false };
  }
  const latest = (check: string) => results.filter((r) => r.check === check).reduce<PostDeploymentCheckResult | undefined>((last, r) => (last === undefined || toMs(r.at) >= toMs(last.at) ? r : last), undefined);
  const reasons: string[] = [];
  const warnings: string[] = [];
  const missing: string[] = [];
  for (const check of policy.checks) {
    const result = latest(check.name);
    if (result?.status === 'passed') reasons.push(`${check.name} passed (reported by ${result.reportedBy})`);
    else if (result?.status === 'failed' && check.required) {
      return { decision: 'failed', reasons: [`required post-deployment check "${check.name}" failed (reported by ${result.reportedBy})`], failedCheck: check.name, timedOut: false };
    } else if (result?.status === 'failed') warnings.push(`optional post-deployment check "${check.name}" failed`);
    else if (check.required) missing.push(check.name);
    else warnings.push(`optional post-deployment check "${check.name}" has not reported`);
  }
  const signOff = policy.signOff;
  if (signOff !== undefined) {
    const given = signOffs[0];
    if (given !== undefined) reasons.push(`signed off by ${given.signer}`);
    else if (signOff.optional) warnings.push('no sign-off (optional)');
    else missing.push(SIGN_OFF_CHECK);
  }
  const deadline = validationDeadline(policy, facts.deployedAt);
  const timedOut = toMs(now) >= toMs(deadline);
  if (missing.length > 0 && timedOut && policy.onTimeout === 'fail') {
    return {
      decision: 'failed',
      reasons: [`post-deployment validation timed out after ${policy.timeoutMinutes} min without ${missing.join(', ')} (onTimeout: fail)`],
      failedCheck: missing[0] ?? SIGN_OFF_CHECK,
      timedOut: true,
    };
  }
  if (missing.length > 0 && !timedOut) {
    return { decision: 'pending', reasons: [...reasons, `waiting for ${missing.join(', ')} until ${deadline}`, ...(watchPassed ? [] : [waitingForWatch])], deadline, timedOut: false };
  }
  if (missing.length > 0) warnings.push(`post-deployment validation timed out after ${policy.timeoutMinutes} min without ${missing.join(', ')} (onTimeout: warn)`);
  if (!watchPassed) return { decision: 'pending', reasons: [...reasons, waitingForWatch], deadline: timedOut ? null : deadline, timedOut };
  return { decision: 'validated', reasons: [...reasons, 'post-deployment watch completed'], warnings };
}

export class UnknownPostDeploymentCheckError extends DomainError {
  override readonly name = 'UnknownPostDeploymentCheckError';
  readonly code = 'UNKNOWN_POST_DEPLOYMENT_CHECK' as const;
  constructor(
    readonly environment: string,
    readonly check: string,
    readonly known: readonly string[],
  ) {
    super(
      known.length === 0
        ? `${environment} asks for no post-deployment checks (postDeploymentValidation), so no result for "${check}" is recorded`
        : `"${check}" is not a post-deployment check of ${environment}; its policy names: ${known.join(', ')}`,
    );
  }
}

export class SignOffNotAskedError extends DomainError {
  override readonly name = 'SignOffNotAskedError';
  readonly code = 'SIGN_OFF_NOT_ASKED' as const;
  constructor(readonly environment: string) {
    super(`${environment}'s post-deployment validation asks for no sign-off (postDeploymentValidation.signOff)`);
  }
}

export class SignOffRoleRequiredError extends DomainError {
  override readonly name = 'SignOffRoleRequiredError';
  readonly code = 'SIGN_OFF_ROLE_REQUIRED' as const;
  constructor(
    readonly signer: string,
    readonly roles: readonly string[],
  ) {
    super(`${signer} cannot sign off a post-deployment validation: it needs one of the roles ${roles.join(', ')}`);
  }
}

export class ValidationNotDueError extends DomainError {
  override readonly name = 'ValidationNotDueError';
  readonly code = 'VALIDATION_NOT_DUE' as const;
  constructor(readonly deadline: string | null) {
    super(deadline === null ? 'this post-deployment validation has no timeout' : `the post-deployment validation times out only at ${deadline}`);
  }
}
