import type { ChangeType } from '../schema.js';
import type { Interval } from '../time.js';

/** One opening of a recurring deployment window, as instants. */
export interface WindowOccurrence extends Interval {
  readonly windowId: string;
  readonly name: string;
}

export type BlockedPeriodKind = 'fixed' | 'yearly' | 'quarter_end' | 'holiday_weekends' | 'freeze';

/** A period in which deployments are blocked by a blackout or a freeze. */
export interface BlockedPeriod extends Interval {
  /** Id of the blackout or freeze in the policy file. */
  readonly ruleId: string;
  readonly kind: BlockedPeriodKind;
  /** Human name, e.g. "Black Friday week" or "Major US holiday weekends: Thanksgiving Day". */
  readonly name: string;
  /** Change types this period does not stop (freezes exempt emergencies by default; blackouts exempt none). */
  readonly exempt: readonly ChangeType[];
}

/** A major release scheduled at an instant; staging freezes before it. */
export interface ScheduledMajorRelease {
  readonly scheduledAt: Date;
  readonly name?: string;
}

/** A release of a service that went to the evaluated environment (release cadence counts them). */
export interface DeployedRelease {
  readonly service: string;
  readonly releaseType: string;
  readonly deployedAt: Date;
}

/** Facts outside the policy files that rules depend on. */
export interface EvaluationContext {
  readonly majorReleases?: readonly ScheduledMajorRelease[];
  /** Releases already deployed to the environment, for the release cadence. */
  readonly releaseHistory?: readonly DeployedRelease[];
}
