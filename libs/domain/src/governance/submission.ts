import type { EnvironmentPolicy } from '@gatehouse/policy';
import { EmergencyPathNotAllowedError } from '../approvals/requiredApprovals.js';
import type { ChangeKind } from '../change-request/changeRequest.js';
import { DomainError } from '../errors.js';
import { PromotionPrerequisiteError, type ReleaseType } from '../release/release.js';

/** What submitting a change depends on: the target environment's policy and the release the change names. */
export interface SubmissionFacts {
  readonly environment: string;
  /** Undefined when the environment is not in the policy (the change decider refuses that itself). */
  readonly policy: EnvironmentPolicy | undefined;
  readonly kind: ChangeKind;
  /** The named release as it stands; null when the change names none. */
  readonly release: { readonly releaseType: ReleaseType; readonly version: string; readonly deployments: Readonly<Record<string, { readonly status: string }>> } | null;
}

export interface SubmissionReason {
  /** "<environment>/<rule kind>/<rule id>", as evaluation names rules. */
  readonly ruleId: string;
  readonly kind: 'allow' | 'deny' | 'info';
  readonly message: string;
}

export interface SubmissionDecision {
  readonly allowed: boolean;
  readonly reasons: readonly SubmissionReason[];
  /** The named error of the first refusal, thrown by the caller. */
  readonly refusal?: DomainError;
}

/** A change to an environment that promotes from another must name its release: progression is checked on it. */
export class ReleaseRequiredError extends DomainError {
  override readonly name = 'ReleaseRequiredError';
  readonly code = 'RELEASE_REQUIRED' as const;
  readonly ruleId: string;
  constructor(
    readonly environment: string,
    readonly promotesFrom: string,
  ) {
    const ruleId = `${environment}/progression/release-required`;
    super(`${ruleId}: a change to ${environment} must name its release (releaseId): ${environment} promotes from ${promotesFrom}, and only a release shows what went there first; create the release with POST /api/releases`);
    this.ruleId = ruleId;
  }
}

/**
 * May this change be submitted? The emergency path, "a change names its release" where progression applies,
 * and progression itself, decided before anyone reviews or approves it. The hotfix lane (an emergency change
 * of a hotfix release) passes progression here; the deployment start weighs its staging validation evidence.
 */
export function decideSubmission(facts: SubmissionFacts): SubmissionDecision {
  const { environment, policy, kind, release } = facts;
  if (policy === undefined) return { allowed: true, reasons: [] };
  const reasons: SubmissionReason[] = [];
  let refusal: DomainError | undefined;
  const deny = (ruleId: string, error: DomainError) => {
    reasons.push({ ruleId, kind: 'deny', message: error.message });
    refusal ??= error;
  };
  if (kind === 'emergency' && !policy.emergency.allowed) deny(`${environment}/emergency/allowed`, new EmergencyPathNotAllowedError(environment));
  const source = policy.promotesFrom;
  if (source !== undefined) {
    const ruleId = `${environment}/progression/${source}`;
    if (release === null) deny(`${environment}/progression/release-required`, new ReleaseRequiredError(environment, source));
    else if (kind === 'emergency' && release.releaseType === 'hotfix') reasons.push({ ruleId, kind: 'info', message: `hotfix lane: progression from ${source} is checked at deployment start` });
    else {
      const found = release.deployments[source]?.status;
      if (found === 'succeeded') reasons.push({ ruleId, kind: 'allow', message: `${release.version} deployed successfully to ${source}` });
      else deny(ruleId, new PromotionPrerequisiteError(environment, source, release.version, found ?? 'none', 'normal'));
    }
  }
  return { allowed: refusal === undefined, reasons, ...(refusal === undefined ? {} : { refusal }) };
}
