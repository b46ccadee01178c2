import type { MetricQueryProblem, MetricSample } from '@gatehouse/domain';
import type { RangeQueryResult } from './client.js';

export type WindowReading = { ok: true; samples: MetricSample[] } | { ok: false; problem: MetricQueryProblem; detail: string };

/**
 * One metric's points over an evaluation window, from a range query's answer. Several series (instances,
 * pods) are folded to the worst value at each instant (the highest: the metrics read are error ratios and
 * latencies); NaN points (0/0: no requests) are no data. Fewer than `minPoints` is Inconclusive.
 */
export function readWindow(metric: string, result: RangeQueryResult, minPoints: number): WindowReading {
  if (!result.ok) return { ok: false, problem: result.problem, detail: result.detail };
  const worst = new Map<number, number>();
  for (const series of result.series) {
    for (const [at, raw] of series.values) {
      const value = Number(raw);
      if (!Number.isFinite(value)) continue;
      worst.set(at, Math.max(worst.get(at) ?? -Infinity, value));
    }
  }
  if (worst.size === 0) return { ok: false, problem: 'no_data', detail: result.series.length === 0 ? 'the query matched no series' : 'every point was NaN (no requests)' };
  if (worst.size < minPoints) return { ok: false, problem: 'too_few_points', detail: `${worst.size} points of the ${minPoints} required` };
  const samples = [...worst].sort(([a], [b]) => a - b).map(([at, value]) => ({ metric, at: new Date(Math.round(at * 1000)).toISOString(), value }));
  return { ok: true, samples };
}
