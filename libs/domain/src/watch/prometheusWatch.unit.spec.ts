import { DeciderSpecification } from '@gatehouse/testing';
import { watchDecider, type WatchEvent } from './watch.js';

/** A watch fed by the Prometheus source: query problems keep its analysis Inconclusive, answers clear them. */
describe('watch analysis from Prometheus: a query without a usable answer never passes', () => {
  const spec = DeciderSpecification.for(watchDecider);
  const query = '(sum (rate(http_requests_total{service="checkout",version="2.4.0",code=~"5.."}[60s])) or vector(0)) / sum (rate(http_requests_total{service="checkout",version="2.4.0"}[60s]))';
  const errorRate = { id: 'error-rate-above-1-percent', metric: 'error_rate', operator: '>' as const, threshold: 0.01, durationSeconds: 60, action: 'rollback' as const, cooldownMinutes: 60, query, intervalSeconds: 30, severity: 'critical' as const, source: 'rollback_trigger' as const };
  const analysis = { minSamplesPerMetric: 3, decisionRoles: ['sre' as const], decisionTimeoutMinutes: 60 };
  const ids = { changeRequestId: 'cr-1', deploymentId: 'dep-1', environment: 'production' };
  const watched: WatchEvent = {
    type: 'PostDeploymentWatchStarted',
    data: { ...ids, service: 'checkout', version: '2.4.0', until: '2026-12-02T12:00:00.000Z', enhanced: false, postDeploymentHours: 24, rules: [errorRate], analysis, stableVersion: '2.3.0', startedAt: '2026-12-01T10:00:00.000Z' },
  };
  const succeeded: WatchEvent = { type: 'WatchTimerArmed', data: { changeRequestId: 'cr-1', dueAt: '2026-12-02T12:00:00.000Z', basis: 'deployment_succeeded' } };
  const at = (minutes: number) => new Date(Date.parse('2026-12-01T12:00:00Z') + minutes * 60_000).toISOString();
  const fromPrometheus = (values: number[], startMinute = 0): WatchEvent => ({
    type: 'MetricSamplesRecorded',
    data: { ...ids, service: 'checkout', samples: values.map((value, i) => ({ metric: 'error_rate', at: at(startMinute + i * 0.5), value })), source: 'prometheus', queries: { error_rate: query }, recordedAt: at(startMinute + values.length) },
  });
  const unreachable: WatchEvent = { type: 'MetricQueryInconclusive', data: { ...ids, metric: 'error_rate', query, problem: 'unreachable', detail: 'http://prometheus:9090 did not answer: connect ECONNREFUSED', at: at(600) } };

  it('records a problem once while it lasts, and again when it changes', () => {
    const problem = { type: 'RecordMetricQueryProblem', data: { metric: 'error_rate', query, problem: 'unreachable', detail: 'connect ECONNREFUSED', now: new Date(at(601)) } } as const;
    spec.given([watched, succeeded, unreachable]).when(problem).thenNothingHappened();
    spec
      .given([watched, succeeded, unreachable])
      .when({ ...problem, data: { ...problem.data, problem: 'no_data', detail: 'the query matched no series' } })
      .then([{ type: 'MetricQueryInconclusive', data: { ...ids, metric: 'error_rate', query, problem: 'no_data', detail: 'the query matched no series', at: at(601) } }]);
  });

  it('pauses for a person when Prometheus was unreachable at the end, even with enough earlier samples', () => {
    spec
      .given([watched, succeeded, fromPrometheus([0.001, 0.002, 0.001, 0.001]), unreachable])
      .when({ type: 'CompleteWatch', data: { now: new Date('2026-12-02T12:00:00Z') } })
      .thenEvents(([paused]) => {
        expect(paused).toMatchObject({ type: 'PostDeploymentWatchPaused', data: { analysis: { phase: 'Inconclusive', samples: { error_rate: 4 } } } });
        expect((paused!.data as { analysis: { reason: string } }).analysis.reason).toBe(
          'latest queries gave no usable answer: error_rate: Prometheus unreachable (http://prometheus:9090 did not answer: connect ECONNREFUSED)',
        );
      });
  });

  it('completes once Prometheus answers again: the answer clears the problem; overlapping windows are not counted twice', () => {
    spec
      .given([watched, succeeded, fromPrometheus([0.001, 0.002]), unreachable, fromPrometheus([0.002, 0.001], 0.5)])
      .when({ type: 'CompleteWatch', data: { now: new Date('2026-12-02T12:00:00Z') } })
      .thenEvents(([completed]) => expect(completed).toMatchObject({ type: 'PostDeploymentWatchCompleted', data: { analysis: { phase: 'Successful', samples: { error_rate: 3 } } } }));
  });

  it('a rollback from Prometheus data carries the query, the observed series, the source and the revision restored', () => {
    spec
      .given([watched, succeeded])
      .when({ type: 'RecordSamples', data: { service: 'checkout', environment: 'production', samples: [0.2, 0.3, 0.25].map((value, i) => ({ metric: 'error_rate', at: at(i * 0.5), value })), source: 'prometheus', queries: { error_rate: query }, now: new Date(at(1)) } })
      .thenEvents((events) => {
        const fired = events.find((e) => e.type === 'RollbackTriggerFired')!;
        expect(fired.data).toMatchObject({
          triggerId: 'error-rate-above-1-percent',
          action: 'rollback',
          evidence: { query, source: 'prometheus', revisionRestored: '2.3.0', heldSeconds: 60, observed: [{ at: at(0), value: 0.2 }, { at: at(0.5), value: 0.3 }, { at: at(1), value: 0.25 }] },
        });
      });
  });
});
