import { iso, MS_PER_SECOND, type Clock, type WatchCommand, type WatchRule } from '@gatehouse/domain';
import type { OpenWatch } from '../watchIndex.js';
import type { PrometheusClient } from './client.js';
import { readWindow } from './samples.js';

/** One query of a watch: the rules reading the same metric with the same PromQL are evaluated together. */
export interface WatchQuery {
  metric: string;
  query: string;
  /** The smallest interval of its rules: the query_range step. */
  intervalSeconds: number;
  /** The longest sustained duration of its rules plus one step: the window a run must be seen in. */
  windowSeconds: number;
}

/** Rules without an interval (stored before Prometheus analysis existed) are evaluated at this one. */
export const DEFAULT_EVALUATION_INTERVAL_SECONDS = 30;

export function watchQueries(rules: readonly WatchRule[], minPoints: number): WatchQuery[] {
  const groups = new Map<string, WatchQuery>();
  for (const rule of rules) {
    if (rule.query === undefined) continue;
    const key = JSON.stringify([rule.metric, rule.query]);
    const interval = rule.intervalSeconds ?? DEFAULT_EVALUATION_INTERVAL_SECONDS;
    const previous = groups.get(key);
    const intervalSeconds = Math.min(previous?.intervalSeconds ?? interval, interval);
    const windowSeconds = Math.max(previous?.windowSeconds ?? 0, rule.durationSeconds + interval, interval * minPoints);
    groups.set(key, { metric: rule.metric, query: rule.query, intervalSeconds, windowSeconds });
  }
  return [...groups.values()];
}

export interface PrometheusSourceOptions {
  client: PrometheusClient;
  clock: Clock;
  /** Points a window needs, per environment (`monitoring.prometheus.minPoints`). */
  minPointsFor(environment: string): number;
  /** Decides a watch command (the service's load → decide → append). */
  decide(commandName: string, changeRequestId: string, command: WatchCommand, commandId: string): Promise<unknown>;
  onEvaluated?(outcome: 'samples' | 'inconclusive', durationMs: number): void;
}

/**
 * The Prometheus metric source: at each query's interval (on the injectable clock), runs query_range over
 * the window ending at the latest step boundary and records what it read on the watch, where the same
 * rules as for pushed samples fire. A window without usable data is recorded as an Inconclusive query.
 * Command ids come from the watch, metric and window end, so replicas evaluating the same window append once.
 */
export function createPrometheusSource({ client, clock, minPointsFor, decide, onEvaluated }: PrometheusSourceOptions) {
  const lastEnd = new Map<string, number>();
  return {
    /** Evaluates every query of the open watches that is due; returns how many were. */
    async evaluate(watches: readonly OpenWatch[]): Promise<number> {
      const now = clock.now().getTime();
      let evaluated = 0;
      for (const watch of watches) {
        for (const q of watchQueries(watch.rules, minPointsFor(watch.environment))) {
          const stepMs = q.intervalSeconds * MS_PER_SECOND;
          const end = Math.floor(now / stepMs) * stepMs;
          const key = JSON.stringify([watch.changeRequestId, q.metric, q.query]);
          if ((lastEnd.get(key) ?? -Infinity) >= end) continue;
          lastEnd.set(key, end);
          evaluated += 1;
          const started = performance.now();
          const result = await client.queryRange(q.query, { start: new Date(end - q.windowSeconds * MS_PER_SECOND), end: new Date(end), stepSeconds: q.intervalSeconds });
          const reading = readWindow(q.metric, result, minPointsFor(watch.environment));
          const commandId = `prometheus:${watch.changeRequestId}:${q.metric}:${iso(new Date(end))}`;
          const at = clock.now();
          if (reading.ok) {
            await decide(
              'RecordSamples',
              watch.changeRequestId,
              { type: 'RecordSamples', data: { service: watch.service, environment: watch.environment, samples: reading.samples, source: 'prometheus', queries: { [q.metric]: q.query }, now: at } },
              commandId,
            );
          } else {
            await decide('RecordMetricQueryProblem', watch.changeRequestId, { type: 'RecordMetricQueryProblem', data: { metric: q.metric, query: q.query, problem: reading.problem, detail: reading.detail, now: at } }, `${commandId}:problem`);
          }
          onEvaluated?.(reading.ok ? 'samples' : 'inconclusive', performance.now() - started);
        }
      }
      return evaluated;
    },
  };
}
