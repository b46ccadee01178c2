/** The one source of "now" for every time-dependent rule; domain code never reads the system time directly. */
export interface Clock {
  now(): Date;
}

/** The real wall clock; the only place the domain touches the system time. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock pinned to one instant (tests, what-if evaluations). */
export function fixedClock(iso: string): Clock {
  const at = parseInstant(iso);
  return { now: () => new Date(at) };
}

/** A clock shifted from another by a fixed offset (demo fast-forward). */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  return { now: () => new Date(base.now().getTime() + offsetMs) };
}

/** A test clock that can be set or advanced. */
export interface SettableClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

export function settableClock(iso: string): SettableClock {
  let at = parseInstant(iso);
  return {
    now: () => new Date(at),
    set: (next) => {
      at = parseInstant(next);
    },
    advance: (ms) => {
      at += ms;
    },
  };
}

function parseInstant(iso: string): number {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) throw new RangeError(`not an ISO-8601 instant: "${iso}"`);
  return at;
}

export const MS_PER_SECOND = 1_000;
export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;

/** Whole minutes between two instants (floored), used for SLA and window measurements. */
export function minutesBetween(from: Date | string, to: Date | string): number {
  return Math.floor((toMs(to) - toMs(from)) / MS_PER_MINUTE);
}

export function toMs(at: Date | string): number {
  return typeof at === 'string' ? Date.parse(at) : at.getTime();
}

export function addMinutes(at: Date | string, minutes: number): string {
  return new Date(toMs(at) + minutes * MS_PER_MINUTE).toISOString();
}

export function iso(at: Date | string): string {
  return new Date(toMs(at)).toISOString();
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Strict ISO-8601 instant with a zone ("2026-12-01T10:00:00Z"); `Date.parse` alone accepts "Oct 28". */
export function isIsoInstant(value: string): boolean {
  return ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value));
}
