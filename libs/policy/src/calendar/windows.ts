/** Recurring weekly/daily windows turned into instants, in each window's own time zone. */
import { DateTime } from 'luxon';
import { WEEKDAYS, type DeploymentWindow } from '../schema.js';
import { overlaps, type Interval } from '../time.js';
import { perYear } from './memo.js';
import type { WindowOccurrence } from './types.js';

/**
 * Every opening of `window` that overlaps `range`. Wall-clock times are resolved per day in the
 * window's zone, so a 10:00 Europe/Berlin window is 09:00Z in winter and 08:00Z in summer.
 * A start or end that does not exist on a spring-forward day moves forward with the clock (luxon's rule).
 */
export function windowOccurrences(window: DeploymentWindow, range: Interval): WindowOccurrence[] {
  const zone = window.timeZone;
  const firstYear = DateTime.fromJSDate(range.start, { zone }).year;
  const lastYear = DateTime.fromJSDate(range.end, { zone }).year;
  const occurrences: WindowOccurrence[] = [];
  for (let year = firstYear; year <= lastYear; year++) {
    for (const occurrence of perYear(window, year, occurrencesInYear)) {
      if (overlaps(occurrence, range)) occurrences.push(occurrence);
    }
  }
  return occurrences;
}

/** All openings on the local days of `year` in the window's zone. */
function occurrencesInYear(window: DeploymentWindow, year: number): WindowOccurrence[] {
  const occurrences: WindowOccurrence[] = [];
  const zone = window.timeZone;
  for (let day = DateTime.fromObject({ year, month: 1, day: 1 }, { zone }); day.year === year; day = day.plus({ days: 1 })) {
    if (!opensOn(window, day)) continue;
    const start = atWallTime(day, window.start).toJSDate();
    const end = atWallTime(day, window.end).toJSDate();
    // A window lost entirely to a spring-forward gap has no instants: skip it.
    if (end > start) occurrences.push({ windowId: window.id, name: window.name, start, end });
  }
  return occurrences;
}

function opensOn(window: DeploymentWindow, day: DateTime): boolean {
  // luxon numbers weekdays 1 (Monday) .. 7 (Sunday), WEEKDAYS starts at Monday.
  const weekday = WEEKDAYS[day.weekday - 1];
  return window.days === undefined || (weekday !== undefined && window.days.includes(weekday));
}

function atWallTime(day: DateTime, wallTime: string): DateTime {
  const [hour, minute] = wallTime.split(':').map(Number);
  return DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour, minute }, { zone: day.zone });
}
