import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySet } from './load.js';
import { environmentRules, gatehouseHealthRules, prometheusPolicyOf, triggerQuery } from './promql.js';
import { PrometheusPolicy } from './schema.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const policies = loadPolicySet(['development', 'staging', 'production', 'dr', 'local', 'qa'].map((env) => ({ name: `${env}.yaml`, contents: readFileSync(path.join(POLICIES, `${env}.yaml`), 'utf8') })));
const production = policies.environments['production']!;
const target = { service: 'checkout', environment: 'production', version: '2.4.0', stableVersion: '2.3.0' };

describe('PromQL of the policy triggers', () => {
  it("reads the canary's error ratio and p95 latency by the labels production names", () => {
    const prom = prometheusPolicyOf(production);
    const [errorRate, , p95] = production.rollback.automatic.triggers;
    expect(triggerQuery(errorRate!, prom, target)).toBe(
      '(sum (rate(http_requests_total{service="checkout",version="2.4.0",code=~"5.."}[60s])) or vector(0)) / sum (rate(http_requests_total{service="checkout",version="2.4.0"}[60s]))',
    );
    expect(triggerQuery(p95!, prom, target)).toBe('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout",version="2.4.0"}[60s])))');
  });

  it('honours other label names, an environment label, and escapes label values', () => {
    const prom = PrometheusPolicy.parse({ labels: { service: 'app', version: 'track_version', environment: 'namespace' }, rateWindowSeconds: 120 });
    expect(triggerQuery({ metric: 'error_rate' }, prom, { ...target, service: 'check"out' })).toBe(
      '(sum (rate(http_requests_total{app="check\\"out",namespace="production",track_version="2.4.0",code=~"5.."}[120s])) or vector(0)) / sum (rate(http_requests_total{app="check\\"out",namespace="production",track_version="2.4.0"}[120s]))',
    );
  });

  it("fills a policy-written query's placeholders; a metric it cannot generate and without a query has none", () => {
    const prom = prometheusPolicyOf(production);
    expect(triggerQuery({ metric: 'queue_depth', query: 'max(queue_depth{app="$service",env="$environment",version="$version"}) - max(queue_depth{version="$stable_version"})' }, prom, target)).toBe(
      'max(queue_depth{app="checkout",env="production",version="2.4.0"}) - max(queue_depth{version="2.3.0"})',
    );
    expect(triggerQuery({ metric: 'queue_depth' }, prom, target)).toBeUndefined();
  });
});

describe('monitoring.prometheus in a policy file', () => {
  it('refuses a label that is not a Prometheus label name, naming the field', () => {
    const result = PrometheusPolicy.safeParse({ labels: { service: 'app-name' } });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]).toMatchObject({ path: ['labels', 'service'], message: expect.stringContaining('must be a Prometheus metric or label name') });
  });
});

describe('exported Prometheus alerting rules', () => {
  it("per service, with the trigger's duration as `for`", () => {
    const rules = environmentRules(production).rules;
    expect(rules.find((r) => r.labels['gatehouse_trigger'] === 'error-rate-above-1-percent')).toEqual({
      alert: 'GatehouseProductionErrorRateAbove1Percent',
      expr: 'sum by (service) (rate(http_requests_total{code=~"5.."}[60s])) / sum by (service) (rate(http_requests_total{}[60s])) > 0.01',
      for: '300s',
      labels: { severity: 'critical', environment: 'production', gatehouse_trigger: 'error-rate-above-1-percent', gatehouse_action: 'rollback' },
      annotations: expect.objectContaining({ summary: 'error_rate > 0.01 for 300 s in production' }),
    });
  });

  it("cover Gatehouse's own health on metric names in base units", () => {
    const exprs = gatehouseHealthRules().rules.map((r) => r.expr);
    expect(exprs).toHaveLength(4);
    expect(exprs.join(' ')).not.toMatch(/_ms\b/);
  });
});
