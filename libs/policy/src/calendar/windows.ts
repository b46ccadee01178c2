/** Recurring weekly/daily windows turned into instants, in each window's own time zone. */
import { DateTime } from 'luxon';
import { WEEKDAYS, type DeploymentWindow } from '../schema.js';
import { overlaps, type Interval } from '../time.js';
import type { WindowOccurrence } from './types.js';

/**
 * Every opening of `window` that overlaps `range`. Wall-clock times are resolved per day in the
 * window's zone, so a 10:00 Europe/Berlin window is 09:00Z in winter and 08:00Z in summer.
 * A start or end that does not exist on a spring-forward day moves forward with the clock (luxon's rule).
 */
export function windowOccurrences(window: DeploymentWindow, range: Interval): WindowOccurrence[] {
  const occurrences: WindowOccurrence[] = [];
  const zone = window.timeZone;
  // One day of slack either side: the window's local day may start before range.start in UTC.
  const lastDay = DateTime.fromJSDate(range.end, { zone }).startOf('day').plus({ days: 1 });
  for (let day = DateTime.fromJSDate(range.start, { zone }).startOf('day').minus({ days: 1 }); day <= lastDay; day = day.plus({ days: 1 })) {
    if (!opensOn(window, day)) continue;
    const occurrence: WindowOccurrence = {
      windowId: window.id,
      name: window.name,
      start: atWallTime(day, window.start).toJSDate(),
      end: atWallTime(day, window.end).toJSDate(),
    };
    // A window lost entirely to a spring-forward gap has no instants: skip it.
    if (occurrence.end > occurrence.start && overlaps(occurrence, range)) occurrences.push(occurrence);
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
