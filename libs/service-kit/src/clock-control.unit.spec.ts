import { offsetClock, settableClock } from '@gatehouse/domain';
import { ClockControlDisabledError, clockSetting, controlledClock, localClockControl } from './clock-control.js';

describe('controlledClock', () => {
  it('follows its base until set, then stands still at the set instant', () => {
    const base = settableClock('2026-11-23T08:00:00Z');
    const clock = controlledClock(base);
    expect(clock.now().toISOString()).toBe('2026-11-23T08:00:00.000Z');
    clock.apply(clockSetting('2026-11-27T15:00:00Z', false, base));
    base.advance(60_000);
    expect(clock.now().toISOString()).toBe('2026-11-27T15:00:00.000Z');
    expect(clock.setting).toMatchObject({ at: '2026-11-27T15:00:00.000Z', running: false });
  });

  it('runs on from the set instant when running, counting from when it was set', () => {
    const base = settableClock('2026-11-23T08:00:00Z');
    const clock = controlledClock(base);
    const setting = clockSetting('2026-12-31T23:59:00Z', true, base);
    base.advance(30_000); // the setting reaches this process 30 s after it was made
    clock.apply(setting);
    expect(clock.now().toISOString()).toBe('2026-12-31T23:59:30.000Z');
    base.advance(60_000);
    expect(clock.now().toISOString()).toBe('2027-01-01T00:00:30.000Z');
  });

  it('given a base started at GATEHOUSE_CLOCK (offset from real time), a running setting runs forward from the set instant', () => {
    const system = settableClock('2026-12-06T08:00:00Z');
    // GATEHOUSE_CLOCK=2026-11-24T08:00:00Z: twelve days behind real time.
    const base = offsetClock(system, Date.parse('2026-11-24T08:00:00Z') - system.now().getTime());
    const clock = controlledClock(base, null, system);
    expect(clock.now().toISOString()).toBe('2026-11-24T08:00:00.000Z');
    clock.apply(clockSetting('2026-11-30T09:00:00Z', true, clock.reference));
    expect(clock.now().toISOString()).toBe('2026-11-30T09:00:00.000Z');
    system.advance(60_000);
    expect(clock.now().toISOString()).toBe('2026-11-30T09:01:00.000Z');
  });

  it('refuses a malformed setting and keeps the one in force', () => {
    const base = settableClock('2026-11-23T08:00:00Z');
    const clock = controlledClock(base, clockSetting('2026-11-30T09:00:00Z', false, base));
    expect(() => clock.apply({ at: 'next tuesday', running: false, setAt: base.now().toISOString() })).toThrow();
    expect(clock.now().toISOString()).toBe('2026-11-30T09:00:00.000Z');
  });

  it('in one process, the control moves the shared clock and reports this process', async () => {
    const clock = controlledClock(settableClock('2026-11-23T08:00:00Z'));
    const report = await localClockControl(clock).set(clockSetting('2026-11-26T12:00:00Z', false));
    expect(report.appliedBy).toEqual(['gatehouse']);
    expect(clock.now().toISOString()).toBe('2026-11-26T12:00:00.000Z');
  });

  it('names how to switch it on when it is off', () => {
    expect(new ClockControlDisabledError().message).toMatch(/GATEHOUSE_CLOCK_CONTROL=on/);
  });
});
