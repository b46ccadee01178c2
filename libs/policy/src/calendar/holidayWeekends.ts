/**
 * Holiday weekends from a public-holiday calendar (date-holidays).
 *
 * Rule: a named holiday blocks its day (and its observed/substitute day), extended over
 * contiguous weekend days and over a single "bridge" working day that separates it from a
 * weekend. So Thanksgiving (Thu) blocks Thu–Sun, a Monday holiday Sat–Mon, a Tuesday holiday
 * Sat–Tue, July 4th 2026 (Sat, observed Fri) Fri–Sun; a Wednesday holiday blocks only itself.
 * Days are whole days in the blackout's time zone.
 */
import Holidays from 'date-holidays';
import { DateTime } from 'luxon';
import type { Blackout } from '../schema.js';
import { overlaps, type Interval } from '../time.js';
import { yearsAround } from './blackouts.js';
import { perYear } from './memo.js';
import type { BlockedPeriod } from './types.js';

type HolidayWeekendBlackout = Extract<Blackout, { kind: 'holiday_weekends' }>;
type HolidayCalendar = HolidayWeekendBlackout['calendar'];

/** date-holidays marks observed days with this suffix; they belong to the holiday they substitute. */
const SUBSTITUTE_SUFFIX = ' (substitute day)';
/** Saturday and Sunday in luxon's numbering. */
const WEEKEND_DAYS = new Set([6, 7]);
/** Country list language; holiday names come in the calendar's default language (US: American English, "Labor Day"). */
const COUNTRY_LIST_LANGUAGE = 'en';
/** Years checked when validating that a named holiday exists in a calendar. */
export const HOLIDAY_NAME_CHECK_YEARS = [2024, 2025, 2026, 2027, 2028, 2029, 2030] as const;

interface NamedHolidayDay {
  /** The holiday's name without the substitute suffix. */
  readonly name: string;
  /** Local calendar day "YYYY-MM-DD". */
  readonly day: string;
}

/** Holiday lists are pure functions of (calendar, year): memoized because evaluation asks for them often. */
const holidayCache = new Map<string, readonly NamedHolidayDay[]>();

export function holidayDays(calendar: HolidayCalendar, year: number): readonly NamedHolidayDay[] {
  const key = `${calendar.country}/${calendar.state ?? ''}/${calendar.region ?? ''}/${year}`;
  const cached = holidayCache.get(key);
  if (cached) return cached;
  const holidays = new Holidays(calendar.country, calendar.state ?? '', calendar.region ?? '');
  const days = holidays.getHolidays(year).map((h) => ({ name: h.name.replace(SUBSTITUTE_SUFFIX, ''), day: h.date.slice(0, 10) }));
  holidayCache.set(key, days);
  return days;
}

/** Whether date-holidays knows the country (and state/region) of a calendar. */
export function isKnownHolidayCalendar(calendar: HolidayCalendar): boolean {
  const countries = new Holidays().getCountries(COUNTRY_LIST_LANGUAGE);
  if (!(calendar.country.toUpperCase() in countries)) return false;
  if (calendar.state === undefined) return true;
  const states = new Holidays().getStates(calendar.country) ?? {};
  if (!(calendar.state.toUpperCase() in states)) return false;
  if (calendar.region === undefined) return true;
  const regions = new Holidays().getRegions(calendar.country, calendar.state) ?? {};
  return calendar.region.toUpperCase() in regions;
}

/** Names the calendar gives in HOLIDAY_NAME_CHECK_YEARS, to validate the holidays a policy names. */
export function knownHolidayNames(calendar: HolidayCalendar): Set<string> {
  return new Set(HOLIDAY_NAME_CHECK_YEARS.flatMap((year) => holidayDays(calendar, year).map((h) => h.name)));
}

export function holidayWeekendPeriods(blackout: HolidayWeekendBlackout, range: Interval): BlockedPeriod[] {
  const years = yearsAround(range, blackout.timeZone);
  // One more year after: a New Year's Day observed on Dec 31 belongs to the next year's list.
  const candidates = [...years, (years.at(-1) ?? 0) + 1].flatMap((year) => periodsOfYear(blackout, year));
  const periods = new Map<string, BlockedPeriod>();
  for (const period of candidates) {
    // An observed day and its holiday produce the same weekend: keep it once.
    const key = `${period.start.getTime()}-${period.end.getTime()}`;
    if (overlaps(period, range) && !periods.has(key)) periods.set(key, period);
  }
  return [...periods.values()].sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** The long weekends of the holidays listed for `year` (a weekend may spill into the next year). */
function periodsOfYear(blackout: HolidayWeekendBlackout, year: number): readonly BlockedPeriod[] {
  return perYear(blackout, year, computePeriodsOfYear);
}

function computePeriodsOfYear(blackout: HolidayWeekendBlackout, year: number): BlockedPeriod[] {
  const zone = blackout.timeZone;
  const named = (y: number) => holidayDays(blackout.calendar, y).filter((h) => blackout.holidays.includes(h.name));
  // Neighbouring years' holidays count as days off too, so a weekend joins across the year end.
  const daysOff = new Set([year - 1, year, year + 1].flatMap(named).map((h) => h.day));
  const periods = named(year).map((holiday): BlockedPeriod => {
    const [first, last] = extendOverWeekend(DateTime.fromISO(holiday.day, { zone }), daysOff);
    return { ruleId: blackout.id, kind: 'holiday_weekends', name: `${blackout.name}: ${holiday.name}`, exempt: [], start: first.toJSDate(), end: last.plus({ days: 1 }).toJSDate() };
  });
  return periods;
}

/** First and last day of the long weekend around `holiday`. */
function extendOverWeekend(holiday: DateTime, daysOff: ReadonlySet<string>): [DateTime, DateTime] {
  const isOff = (day: DateTime): boolean => WEEKEND_DAYS.has(day.weekday) || daysOff.has(day.toISODate() ?? '');
  const extend = (from: DateTime, step: 1 | -1): DateTime => {
    let edge = from;
    for (;;) {
      const next = edge.plus({ days: step });
      if (isOff(next)) edge = next;
      // A single working day between the holiday and a weekend is a bridge day.
      else if (WEEKEND_DAYS.has(next.plus({ days: step }).weekday)) edge = next;
      else return edge;
    }
  };
  return [extend(holiday, -1), extend(holiday, 1)];
}

