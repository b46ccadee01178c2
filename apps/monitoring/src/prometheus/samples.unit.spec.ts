import { readWindow } from './samples.js';
import { watchQueries } from './source.js';

describe('reading a query window', () => {
  const series = (values: Array<[number, string]>, metric: Record<string, string> = {}) => ({ metric, values });

  it('folds several series to the worst value at each instant, in time order', () => {
    const result = { ok: true as const, series: [series([[1_764_590_400, '0.01'], [1_764_590_401, '0.2']], { pod: 'a' }), series([[1_764_590_400, '0.05'], [1_764_590_401, '0.1'], [1_764_590_402, '0.3']], { pod: 'b' })] };
    expect(readWindow('error_rate', result, 3)).toEqual({
      ok: true,
      samples: [
        { metric: 'error_rate', at: '2025-12-01T12:00:00.000Z', value: 0.05 },
        { metric: 'error_rate', at: '2025-12-01T12:00:01.000Z', value: 0.2 },
        { metric: 'error_rate', at: '2025-12-01T12:00:02.000Z', value: 0.3 },
      ],
    });
  });

  it('is Inconclusive without data, with NaN only (no requests), with too few points, and passes query errors on', () => {
    expect(readWindow('error_rate', { ok: true, series: [] }, 3)).toEqual({ ok: false, problem: 'no_data', detail: 'the query matched no series' });
    expect(readWindow('error_rate', { ok: true, series: [series([[1, 'NaN'], [2, 'NaN']])] }, 1)).toEqual({ ok: false, problem: 'no_data', detail: 'every point was NaN (no requests)' });
    expect(readWindow('error_rate', { ok: true, series: [series([[1, '0.1'], [2, '0.1']])] }, 3)).toEqual({ ok: false, problem: 'too_few_points', detail: '2 points of the 3 required' });
    expect(readWindow('error_rate', { ok: false, problem: 'unreachable', detail: 'refused' }, 3)).toEqual({ ok: false, problem: 'unreachable', detail: 'refused' });
  });
});

describe('the queries of a watch', () => {
  const rule = { metric: 'error_rate', operator: '>' as const, threshold: 0.01, action: 'rollback' as const, cooldownMinutes: 60, severity: 'critical' as const, source: 'rollback_trigger' as const, query: 'q' };

  it('one query per metric and PromQL, at the smallest interval, over the longest window; rules without a query are pushed-only', () => {
    expect(
      watchQueries(
        [
          { ...rule, id: 'a', durationSeconds: 300, intervalSeconds: 30 },
          { ...rule, id: 'b', durationSeconds: 60, intervalSeconds: 15 },
          { ...rule, id: 'c', metric: 'custom', durationSeconds: 0, query: undefined },
        ],
        3,
      ),
    ).toEqual([{ metric: 'error_rate', query: 'q', intervalSeconds: 15, windowSeconds: 330 }]);
  });
});
