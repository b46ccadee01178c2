import type { RollbackPolicy } from '@gatehouse/policy';
import { iso, MS_PER_MINUTE, toMs } from '../clock.js';
import type { DomainCommand, DomainEvent } from '../decider.js';
import { DomainError, requireReason } from '../errors.js';

/**
 * Manual rollback windows (seeds: staging 1 h, production 4 h; beyond 4 h a full rollback needs an
 * incident review). Stateless decide: the deployment instant and the environment's rollback policy
 * come with the command.
 */
export type RequestManualRollback = DomainCommand<
  'RequestManualRollback',
  {
    deploymentId: string;
    environment: string;
    /** When the deployment completed (ISO). */
    deployedAt: string;
    requestedBy: string;
    reason: string;
    /** Reference of the incident review that authorises a rollback beyond the manual window. */
    incidentReviewRef?: string;
    policy: Pick<RollbackPolicy, 'manualWindowMinutes' | 'beyondWindow'>;
    now: Date;
  }
>;

export type ManualRollbackBasis = 'within_window' | 'no_window' | 'incident_review' | 'beyond_window_allowed';

export type ManualRollbackAuthorized = DomainEvent<
  'ManualRollbackAuthorized',
  {
    deploymentId: string;
    environment: string;
    requestedBy: string;
    reason: string;
    basis: ManualRollbackBasis;
    minutesSinceDeployment: number;
    windowMinutes: number | null;
    incidentReviewRef: string | null;
    authorizedAt: string;
  }
>;

export class RollbackWindowExpiredError extends DomainError {
  override readonly name = 'RollbackWindowExpiredError';
  readonly code = 'ROLLBACK_WINDOW_EXPIRED' as const;
  constructor(
    readonly environment: string,
    readonly windowMinutes: number,
    readonly minutesSinceDeployment: number,
  ) {
    super(
      `${environment}: manual rollback is available for ${windowMinutes} min after deployment and ${minutesSinceDeployment} min have passed; ` +
        'a rollback now requires an incident review reference (incidentReviewRef)',
    );
  }
}

export class RollbackForbiddenError extends DomainError {
  override readonly name = 'RollbackForbiddenError';
  readonly code = 'ROLLBACK_FORBIDDEN' as const;
  constructor(
    readonly environment: string,
    readonly windowMinutes: number,
    readonly minutesSinceDeployment: number,
  ) {
    super(`${environment}: manual rollback closed ${windowMinutes} min after deployment (${minutesSinceDeployment} min ago); roll forward instead`);
  }
}

/** Decides whether a manual rollback may happen now, and on which basis. */
export function decideManualRollback(command: RequestManualRollback): [ManualRollbackAuthorized] {
  const { deploymentId, environment, deployedAt, requestedBy, reason, incidentReviewRef, policy, now } = command.data;
  requireReason(reason, 'a manual rollback');
  const basis = manualRollbackBasis(environment, deployedAt, now, policy, incidentReviewRef);
  return [
    {
      type: 'ManualRollbackAuthorized',
      data: {
        deploymentId,
        environment,
        requestedBy,
        reason,
        basis,
        minutesSinceDeployment: minutesSince(deployedAt, now),
        windowMinutes: policy.manualWindowMinutes ?? null,
        incidentReviewRef: basis === 'incident_review' ? (incidentReviewRef ?? null) : null,
        authorizedAt: iso(now),
      },
    },
  ];
}

/** The basis a manual rollback rests on, or the named refusal. The window end is inclusive. */
export function manualRollbackBasis(
  environment: string,
  deployedAt: string,
  now: Date,
  policy: Pick<RollbackPolicy, 'manualWindowMinutes' | 'beyondWindow'>,
  incidentReviewRef: string | undefined,
): ManualRollbackBasis {
  const windowMinutes = policy.manualWindowMinutes;
  if (windowMinutes === undefined) return 'no_window';
  const elapsedMs = toMs(now) - toMs(deployedAt);
  if (elapsedMs <= windowMinutes * MS_PER_MINUTE) return 'within_window';
  const minutes = minutesSince(deployedAt, now);
  switch (policy.beyondWindow) {
    case 'allowed':
      return 'beyond_window_allowed';
    case 'forbidden':
      throw new RollbackForbiddenError(environment, windowMinutes, minutes);
    case 'incident_review':
      if (incidentReviewRef === undefined || incidentReviewRef.trim() === '') throw new RollbackWindowExpiredError(environment, windowMinutes, minutes);
      return 'incident_review';
  }
}

function minutesSince(deployedAt: string, now: Date): number {
  return Math.floor((toMs(now) - toMs(deployedAt)) / MS_PER_MINUTE);
}
