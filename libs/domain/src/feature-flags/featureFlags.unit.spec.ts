import fc from 'fast-check';
import { fixedClock } from '../clock.js';
import { ValidationError } from '../errors.js';
import { evaluateFeatureFlag, isFeatureEnabled, normalizedBucket, parseFeatureFlag, type FeatureFlag } from './featureFlags.js';

const clock = fixedClock('2026-11-20T00:00:00Z'); // first day of Black Friday week
const flag = (rollout: FeatureFlag['rollout'], enabled = true): FeatureFlag => ({ name: 'new-checkout', description: '', enabled, rollout });
const ids = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe('feature flags', () => {
  it('a disabled flag is off whatever the rollout', () => {
    expect(isFeatureEnabled(flag({ strategy: 'immediate' }, false), { userId: 'u1' }, clock)).toBe(false);
    expect(isFeatureEnabled(flag({ strategy: 'percentage', percentage: 100 }, false), { userId: 'u1' }, clock)).toBe(false);
  });

  it('immediate is on for everyone', () => {
    expect(isFeatureEnabled(flag({ strategy: 'immediate' }), {}, clock)).toBe(true);
  });

  it('buckets are 1..100 and match the Unleash reference value', () => {
    // Unleash client specification: normalizedValue("123", "gr1") = 73 (murmur3 x86 32, seed 0)
    expect(normalizedBucket('gr1', '123')).toBe(73);
    fc.assert(fc.property(fc.string(), fc.string(), (group, user) => {
      const b = normalizedBucket(group, user);
      return Number.isInteger(b) && b >= 1 && b <= 100;
    }));
  });

  it('percentage: the same user and flag always get the same answer', () => {
    const f = flag({ strategy: 'percentage', percentage: 30 });
    fc.assert(fc.property(fc.string({ minLength: 1 }), (userId) => isFeatureEnabled(f, { userId }, clock) === isFeatureEnabled(f, { userId }, clock)));
  });

  it.each([5, 25, 50, 90])('percentage %i %% enables about that share of 10k users', (percentage) => {
    const f = flag({ strategy: 'percentage', percentage });
    const share = ids.filter((userId) => isFeatureEnabled(f, { userId }, clock)).length / ids.length;
    expect(Math.abs(share - percentage / 100)).toBeLessThan(0.02);
  });

  it('percentage is monotonic: raising it never turns a user off', () => {
    const at25 = ids.filter((userId) => isFeatureEnabled(flag({ strategy: 'percentage', percentage: 25 }), { userId }, clock));
    expect(at25.every((userId) => isFeatureEnabled(flag({ strategy: 'percentage', percentage: 50 }), { userId }, clock))).toBe(true);
  });

  it('different flags bucket users independently', () => {
    const a = ids.filter((userId) => normalizedBucket('flag-a', userId) <= 50);
    const overlap = a.filter((userId) => normalizedBucket('flag-b', userId) <= 50).length / a.length;
    expect(Math.abs(overlap - 0.5)).toBeLessThan(0.03);
  });

  it('0 % is off for everyone, 100 % on for everyone', () => {
    expect(ids.slice(0, 500).some((userId) => isFeatureEnabled(flag({ strategy: 'percentage', percentage: 0 }), { userId }, clock))).toBe(false);
    expect(ids.slice(0, 500).every((userId) => isFeatureEnabled(flag({ strategy: 'percentage', percentage: 100 }), { userId }, clock))).toBe(true);
  });

  it('user segments', () => {
    const f = flag({ strategy: 'user_segment', userSegments: ['beta-testers', 'staff'] });
    expect(evaluateFeatureFlag(f, { userId: 'u1', segments: ['staff'] }, clock)).toMatchObject({ enabled: true, reason: 'user is in segment staff' });
    expect(isFeatureEnabled(f, { userId: 'u2', segments: ['enterprise'] }, clock)).toBe(false);
    expect(isFeatureEnabled(f, { userId: 'u3' }, clock)).toBe(false);
  });

  it('gradual by date: off before the start, on after', () => {
    const f = flag({ strategy: 'gradual', startAt: '2026-11-28T00:00:00Z' });
    expect(isFeatureEnabled(f, { userId: 'u1' }, clock)).toBe(false);
    expect(isFeatureEnabled(f, { userId: 'u1' }, fixedClock('2026-11-28T00:00:00Z'))).toBe(true);
  });

  it('gradual with a linear ramp enables about the elapsed share, growing over time', () => {
    const f = flag({ strategy: 'gradual', startAt: '2026-12-01T00:00:00Z', rampEndAt: '2026-12-11T00:00:00Z' });
    const shareAt = (iso: string) => ids.filter((userId) => isFeatureEnabled(f, { userId }, fixedClock(iso))).length / ids.length;
    expect(shareAt('2026-11-30T23:59:59Z')).toBe(0);
    expect(Math.abs(shareAt('2026-12-03T12:00:00Z') - 0.25)).toBeLessThan(0.02);
    expect(Math.abs(shareAt('2026-12-06T00:00:00Z') - 0.5)).toBeLessThan(0.02);
    expect(shareAt('2026-12-11T00:00:00Z')).toBe(1);
  });

  it('rejects an unknown strategy and a ramp that ends before it starts', () => {
    expect(() => parseFeatureFlag({ name: 'x', enabled: true, rollout: { strategy: 'canary' } })).toThrow(ValidationError);
    try {
      parseFeatureFlag({ name: 'x', enabled: true, rollout: { strategy: 'gradual', startAt: '2026-12-02T00:00:00Z', rampEndAt: '2026-12-01T00:00:00Z' } });
      throw new Error('expected a ValidationError');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.field).toBe('rollout.rampEndAt');
    }
  });
});
