/** Instants and half-open intervals; all arithmetic is on epoch milliseconds. */
import { InvalidEvaluationInputError } from './errors.js';

export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 60 * MS_PER_MINUTE;
export const MS_PER_DAY = 24 * MS_PER_HOUR;

/** A half-open interval [start, end) of instants. */
export interface Interval {
  readonly start: Date;
  readonly end: Date;
}

export function interval(start: Date | number, end: Date | number): Interval {
  return { start: new Date(start), end: new Date(end) };
}

export function contains(range: Interval, at: Date): boolean {
  return range.start.getTime() <= at.getTime() && at.getTime() < range.end.getTime();
}

export function overlaps(a: Interval, b: Interval): boolean {
  return a.start.getTime() < b.end.getTime() && b.start.getTime() < a.end.getTime();
}

export function addMinutes(at: Date, minutes: number): Date {
  return new Date(at.getTime() + minutes * MS_PER_MINUTE);
}

/**
 * Subtract `holes` from `base`: what remains of each base interval, in order.
 * Base intervals are kept apart (a plan must fit inside one window occurrence).
 */
export function subtractIntervals(base: readonly Interval[], holes: readonly Interval[]): Interval[] {
  const sortedHoles = [...holes].sort((a, b) => a.start.getTime() - b.start.getTime());
  const result: Interval[] = [];
  for (const piece of base) {
    let cursor = piece.start.getTime();
    const end = piece.end.getTime();
    for (const hole of sortedHoles) {
      if (hole.end.getTime() <= cursor || hole.start.getTime() >= end) continue;
      if (hole.start.getTime() > cursor) result.push(interval(cursor, hole.start));
      cursor = Math.max(cursor, hole.end.getTime());
      if (cursor >= end) break;
    }
    if (cursor < end) result.push(interval(cursor, end));
  }
  return result;
}

/** "2026-11-28T00:00Z" (seconds only when not zero): short, unambiguous, UTC. */
export function formatInstant(at: Date): string {
  const iso = at.toISOString();
  const seconds = iso.slice(17, 23);
  return seconds === '00.000' ? `${iso.slice(0, 16)}Z` : `${iso.slice(0, 19)}Z`;
}

export function assertValidInstant(field: string, at: Date): void {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new InvalidEvaluationInputError(field, 'must be a valid instant');
  }
}

export function assertValidInterval(field: string, range: Interval): void {
  assertValidInstant(`${field}.start`, range.start);
  assertValidInstant(`${field}.end`, range.end);
  if (range.end.getTime() <= range.start.getTime()) {
    throw new InvalidEvaluationInputError(field, `end ${formatInstant(range.end)} must be after start ${formatInstant(range.start)}`);
  }
}
