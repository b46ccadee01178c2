import type { RollbackTrigger } from '@gatehouse/policy';
import { evaluateRollbackTrigger, fireWatchRules, type MetricSample } from './rollbackTriggers.js';

/** Production: automatic rollback if error rate > 1% (sustained 5 min here). */
const errorRate: RollbackTrigger = { id: 'error-rate-above-1pct', metric: 'error_rate', operator: '>', threshold: 0.01, durationSeconds: 300, action: 'rollback', cooldownMinutes: 60 };
const slowP95: RollbackTrigger = { id: 'p95-above-5s', metric: 'response_time_p95', operator: '>', threshold: 5, durationSeconds: 180, action: 'alert', cooldownMinutes: 30 };

const T0 = Date.parse('2026-12-01T10:30:00Z'); // 30 min after a Tuesday-window deployment
/** One sample every 30 s from T0 with the given values. */
const series = (metric: string, values: number[], stepSeconds = 30, from = T0): MetricSample[] =>
  values.map((value, i) => ({ metric, at: new Date(from + i * stepSeconds * 1000).toISOString(), value }));
const after = (seconds: number) => new Date(T0 + seconds * 1000);

describe('rollback triggers', () => {
  it('fires when error rate stays above 1% for 5 minutes, with the evidence', () => {
    const samples = series('error_rate', [0.004, 0.02, 0.03, 0.025, 0.02, 0.018, 0.021, 0.03, 0.04, 0.05, 0.06, 0.07]);
    const result = evaluateRollbackTrigger(errorRate, samples, { now: after(330) });
    expect(result.status).toBe('fired');
    if (result.status !== 'fired') return;
    expect(result.action).toBe('rollback');
    expect(result.evidence).toMatchObject({ threshold: 0.01, windowStart: '2026-12-01T10:30:30.000Z', windowEnd: '2026-12-01T10:35:30.000Z', heldSeconds: 300 });
    expect(result.evidence.observed).toHaveLength(11);
    expect(result.evidence.observed.every((o) => o.value > 0.01)).toBe(true);
  });

  it('does not fire one sample short of the duration', () => {
    const samples = series('error_rate', [0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02]);
    expect(evaluateRollbackTrigger(errorRate, samples, { now: after(270) })).toMatchObject({ status: 'not_sustained', heldSeconds: 270 });
  });

  it('exactly 1% is not above 1%', () => {
    const samples = series('error_rate', Array(12).fill(0.01));
    expect(evaluateRollbackTrigger(errorRate, samples, { now: after(330) }).status).toBe('not_breaching');
  });

  it('a dip below the threshold restarts the sustained window', () => {
    const samples = series('error_rate', [0.02, 0.02, 0.02, 0.02, 0.02, 0.005, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02]);
    expect(evaluateRollbackTrigger(errorRate, samples, { now: after(330) })).toMatchObject({ status: 'not_sustained', heldSeconds: 150 });
  });

  it('a gap longer than the max sample gap breaks continuity (missing data is not a breach)', () => {
    const before = series('error_rate', [0.02, 0.02, 0.02, 0.02, 0.02]); // 0..120 s
    const afterGap = series('error_rate', [0.02, 0.02, 0.02, 0.02, 0.02, 0.02], 30, T0 + 240_000); // 240..390 s
    expect(evaluateRollbackTrigger(errorRate, [...before, ...afterGap], { now: after(390) })).toMatchObject({ status: 'not_sustained', heldSeconds: 150 });
    // With a tolerance wider than the 120 s gap, the two runs join.
    expect(evaluateRollbackTrigger(errorRate, [...before, ...afterGap], { now: after(390), maxSampleGapSeconds: 180 }).status).toBe('fired');
  });

  it('stale data (latest sample older than the gap) never fires', () => {
    const samples = series('error_rate', Array(12).fill(0.5));
    expect(evaluateRollbackTrigger(errorRate, samples, { now: after(330 + 61) }).status).toBe('stale');
  });

  it('no samples for the metric → no data; samples after now are ignored', () => {
    expect(evaluateRollbackTrigger(errorRate, series('cpu', [1, 1]), { now: after(30) }).status).toBe('no_data');
    expect(evaluateRollbackTrigger(errorRate, series('error_rate', [0.5, 0.5]), { now: after(-1) }).status).toBe('no_data');
  });

  it('respects the cooldown since the last firing', () => {
    const samples = series('error_rate', Array(12).fill(0.05));
    expect(evaluateRollbackTrigger(errorRate, samples, { now: after(330), lastFiredAt: new Date(T0 - 50 * 60_000).toISOString() })).toMatchObject({
      status: 'cooling_down',
      cooldownEndsAt: '2026-12-01T10:40:00.000Z',
    });
    expect(evaluateRollbackTrigger(errorRate, samples, { now: after(330), lastFiredAt: new Date(T0 + 330_000 - 60 * 60_000).toISOString() }).status).toBe('fired');
  });

  it.each([
    ['<', 0.5, 1, true],
    ['<=', 1, 1, true],
    ['>=', 1, 1, true],
    ['==', 1, 1, true],
    ['!=', 1, 1, false],
  ] as const)('operator %s: %d vs %d holds=%s', (operator, value, threshold, holds) => {
    const trigger = { ...slowP95, operator, threshold, durationSeconds: 0 };
    expect(evaluateRollbackTrigger(trigger, series('response_time_p95', [value]), { now: after(0) }).status).toBe(holds ? 'fired' : 'not_breaching');
  });
});

describe('a watch\'s rules evaluated together (fireWatchRules)', () => {
  const samples = [...series('error_rate', Array(12).fill(0.03)), ...series('response_time_p95', Array(12).fill(7))];
  const rules = [errorRate, slowP95];

  it('fires each rule whose condition held long enough, with its action', () => {
    const fired = fireWatchRules(rules, samples, { now: after(330), lastFiredAt: {}, rollbackRequested: false });
    expect(fired.map((f) => [f.rule.id, f.evaluation.action])).toEqual([['error-rate-above-1pct', 'rollback'], ['p95-above-5s', 'alert']]);
  });

  it('does not fire a rule again during its cooldown', () => {
    const lastFiredAt = { 'error-rate-above-1pct': after(300).toISOString(), 'p95-above-5s': after(300).toISOString() };
    expect(fireWatchRules(rules, samples, { now: after(330), lastFiredAt, rollbackRequested: false })).toEqual([]);
  });

  it('requests at most one rollback per deployment: rollback rules stay silent once one was requested, alerts still fire', () => {
    const second = { ...errorRate, id: 'error-rate-above-2pct', threshold: 0.02 };
    expect(fireWatchRules([errorRate, second], samples, { now: after(330), lastFiredAt: {}, rollbackRequested: false }).map((f) => f.rule.id)).toEqual(['error-rate-above-1pct']);
    expect(fireWatchRules([errorRate, slowP95], samples, { now: after(330), lastFiredAt: {}, rollbackRequested: true }).map((f) => f.rule.id)).toEqual(['p95-above-5s']);
  });
});
