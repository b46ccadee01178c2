/** Freezes relative to scheduled events, e.g. staging: 2 days before a major release. */
import type { Freeze } from '../schema.js';
import { formatInstant, interval, MS_PER_DAY, overlaps, type Interval } from '../time.js';
import type { BlockedPeriod, EvaluationContext } from './types.js';

/**
 * A freeze runs from exactly `daysBefore` × 24 h before the event until the event (instants, not
 * calendar days, so the freeze is the same length in every time zone).
 */
export function freezePeriods(freeze: Freeze, range: Interval, context: EvaluationContext = {}): BlockedPeriod[] {
  const events = freeze.event === 'major_release' ? (context.majorReleases ?? []) : [];
  return events
    .map((release) => ({
      ruleId: freeze.id,
      kind: 'freeze' as const,
      name: `${freeze.name} (${release.name ?? 'major release'} at ${formatInstant(release.scheduledAt)})`,
      exempt: freeze.exempt,
      ...interval(release.scheduledAt.getTime() - freeze.daysBefore * MS_PER_DAY, release.scheduledAt),
    }))
    .filter((period) => overlaps(period, range));
}
