/** An environment's calendar over an interval: window openings, blocked periods, and what remains allowed. */
import type { ChangeType, EnvironmentPolicy } from '../schema.js';
import { assertValidInterval, interval, subtractIntervals, type Interval } from '../time.js';
import { blackoutPeriods } from './blackouts.js';
import { freezePeriods } from './freezes.js';
import type { BlockedPeriod, EvaluationContext, WindowOccurrence } from './types.js';
import { windowOccurrences } from './windows.js';

export interface CalendarOptions {
  /** Change type whose calendar is wanted: freezes may exempt some types. @defaultValue 'normal' */
  readonly changeType?: ChangeType;
  readonly context?: EvaluationContext;
}

export interface EnvironmentCalendar {
  readonly environment: string;
  readonly interval: Interval;
  /** Window openings overlapping the interval (full extent); empty for continuous environments. */
  readonly windows: readonly WindowOccurrence[];
  /** Blackouts and freezes overlapping the interval that apply to the change type (full extent). */
  readonly blocked: readonly BlockedPeriod[];
  /** Instants inside the interval where a deployment may start: window openings (or all of it when continuous) minus blocked periods. */
  readonly allowed: readonly Interval[];
}

export function environmentCalendar(policy: EnvironmentPolicy, range: Interval, options: CalendarOptions = {}): EnvironmentCalendar {
  assertValidInterval('interval', range);
  const windows = openWindows(policy, range);
  const blocked = blockedPeriods(policy, range, options);
  const open = policy.frequency.mode === 'continuous' ? [range] : windows.map((w) => clip(w, range));
  return { environment: policy.environment, interval: range, windows, blocked, allowed: subtractIntervals(open, blocked) };
}

export function openWindows(policy: EnvironmentPolicy, range: Interval): WindowOccurrence[] {
  if (policy.frequency.mode === 'continuous') return [];
  return policy.windows.flatMap((w) => windowOccurrences(w, range)).sort(byStart);
}

/** Blocked periods overlapping `range` that stop the given change type. */
export function blockedPeriods(policy: EnvironmentPolicy, range: Interval, options: CalendarOptions = {}): BlockedPeriod[] {
  const changeType = options.changeType ?? 'normal';
  return [
    ...policy.blackouts.flatMap((b) => blackoutPeriods(b, range)),
    ...policy.freezes.flatMap((f) => freezePeriods(f, range, options.context)),
  ]
    .filter((period) => !period.exempt.includes(changeType))
    .sort(byStart);
}

function clip(range: Interval, to: Interval): Interval {
  return interval(Math.max(range.start.getTime(), to.start.getTime()), Math.min(range.end.getTime(), to.end.getTime()));
}

function byStart(a: Interval, b: Interval): number {
  return a.start.getTime() - b.start.getTime();
}

export type { BlockedPeriod, BlockedPeriodKind, DeployedRelease, EvaluationContext, ScheduledMajorRelease, WindowOccurrence } from './types.js';
export { windowOccurrences } from './windows.js';
export { blackoutPeriods } from './blackouts.js';
export { freezePeriods } from './freezes.js';
export { holidayWeekendPeriods, HOLIDAY_NAME_CHECK_YEARS } from './holidayWeekends.js';
