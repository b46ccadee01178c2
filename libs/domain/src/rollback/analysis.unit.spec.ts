import type { RollbackTrigger } from '@gatehouse/policy';
import { analyse, analyseStep } from './analysis.js';
import type { MetricSample } from './rollbackTriggers.js';

const errorRate: RollbackTrigger = { id: 'error-rate-above-1-percent', metric: 'error_rate', operator: '>', threshold: 0.01, durationSeconds: 300, action: 'rollback', cooldownMinutes: 60 };
const slowAlert: RollbackTrigger = { id: 'slow', metric: 'response_time_p95', operator: '>', threshold: 5, durationSeconds: 0, action: 'alert', cooldownMinutes: 30 };
const window = { from: '2026-12-01T10:00:00.000Z', until: '2026-12-01T10:40:00.000Z' };
const policy = { minSamplesPerMetric: 5 };
const scrapes = (count: number, metric = 'error_rate', fromMinute = 1): MetricSample[] =>
  Array.from({ length: count }, (_, i) => ({ metric, at: new Date(Date.parse(window.from) + (fromMinute + i) * 60_000).toISOString(), value: 0.001 }));

describe('analysis of a step or a watch (Successful / Failed / Inconclusive)', () => {
  it('given no samples at all, when analysed, then it is Inconclusive, never a pass', () => {
    expect(analyse({ triggers: [errorRate], samples: [], firedTriggers: [], ...window, policy })).toMatchObject({
      phase: 'Inconclusive',
      reason: 'no error_rate samples between 2026-12-01T10:00:00.000Z and 2026-12-01T10:40:00.000Z',
      samples: { error_rate: 0 },
    });
  });

  it('given fewer samples than the policy asks, then Inconclusive naming how many of how many', () => {
    expect(analyse({ triggers: [errorRate], samples: scrapes(4), firedTriggers: [], ...window, policy }).reason).toContain('4 error_rate samples of the 5 required');
  });

  it('given samples outside the window (or of an alert-only metric), then they do not count', () => {
    const outside = scrapes(10, 'error_rate', 45);
    expect(analyse({ triggers: [errorRate, slowAlert], samples: [...outside, ...scrapes(10, 'response_time_p95')], firedTriggers: [], ...window, policy }).phase).toBe('Inconclusive');
  });

  it('given enough samples of every rollback metric and no firing, then Successful', () => {
    expect(analyse({ triggers: [errorRate, slowAlert], samples: scrapes(5), firedTriggers: [], ...window, policy })).toMatchObject({ phase: 'Successful', samples: { error_rate: 5 } });
  });

  it('given a rollback trigger that fired in the window, then Failed (whatever the sample count)', () => {
    expect(analyse({ triggers: [errorRate], samples: scrapes(30), firedTriggers: ['error-rate-above-1-percent'], ...window, policy })).toMatchObject({ phase: 'Failed' });
    expect(analyse({ triggers: [errorRate, slowAlert], samples: scrapes(30), firedTriggers: ['slow'], ...window, policy }).phase).toBe('Successful');
  });

  it('a step is analysed on what its watch recorded: samples, and rollback firings since the step started', () => {
    const recorded = { type: 'MetricSamplesRecorded', data: { samples: scrapes(6) } };
    const firedBefore = { type: 'RollbackTriggerFired', data: { triggerId: 'error-rate-above-1-percent', firedAt: '2026-12-01T09:50:00.000Z' } };
    const firedDuring = { type: 'RollbackTriggerFired', data: { triggerId: 'error-rate-above-1-percent', firedAt: '2026-12-01T10:20:00.000Z' } };
    expect(analyseStep({ watch: [recorded, firedBefore, { type: 'AlertRaised', data: {} }], triggers: [errorRate], ...window, policy }).phase).toBe('Successful');
    expect(analyseStep({ watch: [recorded, firedDuring], triggers: [errorRate], ...window, policy }).phase).toBe('Failed');
    expect(analyseStep({ watch: [], triggers: [errorRate], ...window, policy }).phase).toBe('Inconclusive');
  });
});
