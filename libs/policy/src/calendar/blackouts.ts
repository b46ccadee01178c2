/** Blackouts of a policy file turned into blocked periods (one small function per blackout kind). */
import { DateTime } from 'luxon';
import type { Blackout } from '../schema.js';
import { interval, overlaps, type Interval } from '../time.js';
import { holidayWeekendPeriods } from './holidayWeekends.js';
import { perYear } from './memo.js';
import type { BlockedPeriod } from './types.js';

type BlackoutOf<K extends Blackout['kind']> = Extract<Blackout, { kind: K }>;

/** Months that close a quarter. */
const QUARTER_END_MONTHS = [3, 6, 9, 12] as const;

/** Every period of `blackout` that overlaps `range`, with its full extent (not clipped to the range). */
export function blackoutPeriods(blackout: Blackout, range: Interval): BlockedPeriod[] {
  switch (blackout.kind) {
    case 'fixed':
      return fixedPeriods(blackout, range);
    case 'yearly':
      return yearlyPeriods(blackout, range);
    case 'quarter_end':
      return quarterEndPeriods(blackout, range);
    case 'holiday_weekends':
      return holidayWeekendPeriods(blackout, range);
  }
}

function fixedPeriods(blackout: BlackoutOf<'fixed'>, range: Interval): BlockedPeriod[] {
  const period = { ruleId: blackout.id, kind: 'fixed' as const, name: blackout.name, exempt: [], ...interval(Date.parse(blackout.from), Date.parse(blackout.to)) };
  return overlaps(period, range) ? [period] : [];
}

/** From `from` 00:00 to the end of the `to` day in the blackout's zone; `to` before `from` wraps into the next year. */
function yearlyPeriods(blackout: BlackoutOf<'yearly'>, range: Interval): BlockedPeriod[] {
  return yearsAround(range, blackout.timeZone).flatMap((year) => perYear(blackout, year, yearlyPeriodOf)).filter((p) => overlaps(p, range));
}

function yearlyPeriodOf(blackout: BlackoutOf<'yearly'>, year: number): BlockedPeriod[] {
  const zone = blackout.timeZone;
  const wraps = blackout.to < blackout.from;
  const start = dayInYear(year, blackout.from, zone);
  const end = dayInYear(wraps ? year + 1 : year, blackout.to, zone).plus({ days: 1 });
  return [{ ruleId: blackout.id, kind: 'yearly', name: blackout.name, exempt: [], ...interval(start.toJSDate(), end.toJSDate()) }];
}

/** The last `lastDays` whole days of March, June, September and December in the blackout's zone. */
function quarterEndPeriods(blackout: BlackoutOf<'quarter_end'>, range: Interval): BlockedPeriod[] {
  return yearsAround(range, blackout.timeZone).flatMap((year) => perYear(blackout, year, quarterEndsOf)).filter((p) => overlaps(p, range));
}

function quarterEndsOf(blackout: BlackoutOf<'quarter_end'>, year: number): BlockedPeriod[] {
  const zone = blackout.timeZone;
  return QUARTER_END_MONTHS.map((month) => {
    const end = DateTime.fromObject({ year, month, day: 1 }, { zone }).plus({ months: 1 });
    const start = end.minus({ days: blackout.lastDays });
    return { ruleId: blackout.id, kind: 'quarter_end' as const, name: blackout.name, exempt: [], ...interval(start.toJSDate(), end.toJSDate()) };
  });
}

/** The years touched by `range` in `zone`, plus one before (a period may start in the previous year). */
export function yearsAround(range: Interval, zone: string): number[] {
  const first = DateTime.fromJSDate(range.start, { zone }).year - 1;
  const last = DateTime.fromJSDate(range.end, { zone }).year;
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** Start of day MM-DD of `year`; 02-29 in a common year falls back to 02-28. */
function dayInYear(year: number, monthDay: string, zone: string): DateTime {
  const [month, day] = monthDay.split('-').map(Number) as [number, number];
  const firstOfMonth = DateTime.fromObject({ year, month, day: 1 }, { zone });
  return firstOfMonth.set({ day: Math.min(day, firstOfMonth.daysInMonth ?? day) });
}
