import { fixedClock, isIsoInstant, minutesBetween, offsetClock, settableClock, MS_PER_HOUR } from './clock.js';

describe('clock', () => {
  it('fixed clock always returns the pinned instant (a fresh Date each time)', () => {
    const clock = fixedClock('2026-03-31T23:59:59Z');
    const a = clock.now();
    a.setFullYear(2000);
    expect(clock.now().toISOString()).toBe('2026-03-31T23:59:59.000Z');
  });

  it('offset clock shifts another clock', () => {
    expect(offsetClock(fixedClock('2026-11-20T00:00:00Z'), 2 * MS_PER_HOUR).now().toISOString()).toBe('2026-11-20T02:00:00.000Z');
  });

  it('settable clock can be set and advanced (demo fast-forward)', () => {
    const clock = settableClock('2026-11-30T09:00:00Z');
    clock.advance(25 * MS_PER_HOUR);
    expect(clock.now().toISOString()).toBe('2026-12-01T10:00:00.000Z');
    clock.set('2026-12-03T10:00:00Z');
    expect(clock.now().toISOString()).toBe('2026-12-03T10:00:00.000Z');
  });

  it('refuses unparseable instants and checks ISO strictly', () => {
    expect(() => fixedClock('someday')).toThrow(RangeError);
    expect(isIsoInstant('2026-12-01T10:00:00Z')).toBe(true);
    expect(isIsoInstant('2026-12-01T10:00:00+01:00')).toBe(true);
    expect(isIsoInstant('Oct 28')).toBe(false);
    expect(isIsoInstant('2026-12-01')).toBe(false);
  });

  it('measures whole minutes', () => {
    expect(minutesBetween('2026-11-26T02:50:00Z', '2026-11-26T04:49:59Z')).toBe(119);
  });
});
