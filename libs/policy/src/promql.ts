/**
 * PromQL for the policy's rollback triggers and alert rules, pure: the query the Prometheus metric source
 * runs for one watched deployment (canary version vs the stable one it replaces), and the Prometheus
 * alerting rules `gatehouse rules export` writes for the governed services and for Gatehouse itself.
 */
import { PrometheusPolicy, type AlertRule, type EnvironmentPolicy, type RollbackTrigger } from './schema.js';

/** The metrics Gatehouse knows how to query without a policy-written `query`. */
export const GENERATED_METRICS = ['error_rate', 'response_time_p95'] as const;
export type GeneratedMetric = (typeof GENERATED_METRICS)[number];

/** The deployment a query is about: `version` is the canary, `stableVersion` the version it replaces. */
export interface QueryTarget {
  service: string;
  environment: string;
  version: string;
  stableVersion?: string;
}

/** `monitoring.prometheus` with its defaults filled in. */
export function prometheusPolicyOf(policy: Pick<EnvironmentPolicy, 'monitoring'>): PrometheusPolicy {
  return policy.monitoring.prometheus ?? PrometheusPolicy.parse({});
}

/** A PromQL string literal (double-quoted, escaped). */
export function promString(value: string): string {
  return JSON.stringify(value);
}

/** The label matchers that select one service (and version, and environment when the policy names its label). */
export function selectorFor(prom: PrometheusPolicy, target: { service: string; environment: string; version?: string }): string {
  const matchers = [`${prom.labels.service}=${promString(target.service)}`];
  if (prom.labels.environment !== undefined) matchers.push(`${prom.labels.environment}=${promString(target.environment)}`);
  if (target.version !== undefined) matchers.push(`${prom.labels.version}=${promString(target.version)}`);
  return matchers.join(',');
}

/** Error ratio (0..1) and p95 latency (seconds) over the selected series; `by` aggregates per label (rules export). */
export function generatedQuery(metric: GeneratedMetric, prom: PrometheusPolicy, selector: string, by: readonly string[] = []): string {
  const range = `[${prom.rateWindowSeconds}s]`;
  const grouping = by.length > 0 ? ` by (${by.join(', ')})` : '';
  const sel = (...extra: string[]) => `{${[selector, ...extra].filter((m) => m.length > 0).join(',')}}`;
  switch (metric) {
    case 'error_rate':
      // No error series yet (a healthy version) is a ratio of 0, not no data: `or vector(0)` (per-deployment query only;
      // grouped by service, a service without errors simply has no ratio to alert on).
      return by.length > 0
        ? `sum${grouping} (rate(${prom.requests.metric}${sel(prom.requests.errorMatcher)}${range})) / sum${grouping} (rate(${prom.requests.metric}${sel()}${range}))`
        : `(sum (rate(${prom.requests.metric}${sel(prom.requests.errorMatcher)}${range})) or vector(0)) / sum (rate(${prom.requests.metric}${sel()}${range}))`;
    case 'response_time_p95':
      return `histogram_quantile(0.95, sum by (${['le', ...by].join(', ')}) (rate(${prom.latency.histogram}_bucket${sel()}${range})))`;
  }
}

const PLACEHOLDER = /\$(stable_version|service|version|environment)\b/g;

/**
 * The query one trigger runs for one deployment: the policy's own (placeholders filled in) or the generated
 * one for a known metric. `undefined` when there is neither: such a trigger is fed by pushed samples only.
 */
export function triggerQuery(trigger: Pick<RollbackTrigger, 'metric' | 'query'>, prom: PrometheusPolicy, target: QueryTarget): string | undefined {
  if (trigger.query !== undefined) return fillPlaceholders(trigger.query, target);
  if (!(GENERATED_METRICS as readonly string[]).includes(trigger.metric)) return undefined;
  return generatedQuery(trigger.metric as GeneratedMetric, prom, selectorFor(prom, target));
}

/** A policy-written query with `$service`, `$version`, `$stable_version`, `$environment` filled in for one deployment. */
export function fillPlaceholders(query: string, target: QueryTarget): string {
  return query.replace(PLACEHOLDER, (_, name: string) => {
    const value = name === 'stable_version' ? (target.stableVersion ?? target.version) : target[name as 'service' | 'version' | 'environment'];
    return promString(value).slice(1, -1);
  });
}

// ---------------------------------------------------------------- rules export

/** One Prometheus alerting rule (the `rules:` entries of a rule group). */
export interface PrometheusAlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
export interface PrometheusRuleGroup {
  name: string;
  interval?: string;
  rules: PrometheusAlertingRule[];
}

/**
 * Gatehouse's own health, on the metrics its processes expose (`/metrics`): the relay falling behind the
 * store, consumers far behind the events they read, events dead-lettered, commands failing.
 */
export function gatehouseHealthRules(): PrometheusRuleGroup {
  return {
    name: 'gatehouse-health',
    rules: [
      {
        alert: 'GatehouseRelayLagging',
        expr: 'max by (service) (gatehouse_relay_lag_seconds) > 30',
        for: '2m',
        labels: { severity: 'critical' },
        annotations: { summary: 'The outbox relay publishes events more than 30 s after they were stored', description: 'gatehouse_relay_lag_seconds on {{ $labels.service }} is {{ $value }} s: consumers see decisions late.' },
      },
      {
        alert: 'GatehouseConsumerLagging',
        expr: 'histogram_quantile(0.95, sum by (le, service, consumer) (rate(gatehouse_consumer_delivery_delay_seconds_bucket[5m]))) > 60',
        for: '5m',
        labels: { severity: 'warning' },
        annotations: { summary: 'A consumer handles events more than a minute after they were recorded', description: '{{ $labels.consumer }} on {{ $labels.service }}: p95 delivery delay {{ $value }} s.' },
      },
      {
        alert: 'GatehouseDeadLetters',
        expr: 'sum by (service, consumer) (increase(gatehouse_consumer_handler_failures_total{kind="poison"}[10m])) > 0',
        labels: { severity: 'critical' },
        annotations: { summary: 'Events were dead-lettered', description: '{{ $labels.consumer }} on {{ $labels.service }} dead-lettered {{ $value }} events in 10 min; inspect and redrive them.' },
      },
      {
        alert: 'GatehouseCommandErrors',
        expr: 'sum by (service, command) (rate(gatehouse_command_handler_duration_seconds_count{outcome="error"}[5m])) > 0.1',
        for: '5m',
        labels: { severity: 'warning' },
        annotations: { summary: 'Commands fail with unexpected errors', description: '{{ $labels.command }} on {{ $labels.service }} fails {{ $value }} times a second (errors, not refusals).' },
      },
    ],
  };
}

/**
 * The governed services' triggers and alert rules of one environment as Prometheus alerting rules, per
 * service (`by` the policy's service label): generated triggers use the same PromQL as the analysis;
 * alert rules keep their condition as written.
 */
export function environmentRules(policy: Pick<EnvironmentPolicy, 'environment' | 'rollback' | 'monitoring'>): PrometheusRuleGroup {
  const prom = prometheusPolicyOf(policy);
  const env = policy.environment;
  const selector = prom.labels.environment !== undefined ? `${prom.labels.environment}=${promString(env)}` : '';
  const triggers = policy.rollback.automatic.triggers.flatMap((trigger): PrometheusAlertingRule[] => {
    const known = (GENERATED_METRICS as readonly string[]).includes(trigger.metric);
    if (trigger.query === undefined && !known) return [];
    const expr = trigger.query !== undefined ? `(${fillForExport(trigger.query, prom, env)})` : generatedQuery(trigger.metric as GeneratedMetric, prom, selector, [prom.labels.service]);
    return [
      {
        alert: alertName(trigger.id, env),
        expr: `${expr} ${trigger.operator} ${trigger.threshold}`,
        ...(trigger.durationSeconds > 0 && { for: `${trigger.durationSeconds}s` }),
        labels: { severity: trigger.action === 'rollback' ? 'critical' : 'warning', environment: env, gatehouse_trigger: trigger.id, gatehouse_action: trigger.action },
        annotations: { summary: `${trigger.metric} ${trigger.operator} ${trigger.threshold} for ${trigger.durationSeconds} s in ${env}`, description: `Gatehouse's ${trigger.action} trigger ${trigger.id}; value {{ $value }}.` },
      },
    ];
  });
  const alerts = policy.monitoring.alertRules.filter((r) => r.enabled).flatMap((rule) => alertRuleFor(rule, env));
  return { name: `gatehouse-${env}`, rules: [...triggers, ...alerts] };
}

/** An alert rule's condition is "<query> <op> <number>"; anything else is not exported. */
function alertRuleFor(rule: AlertRule, environment: string): PrometheusAlertingRule[] {
  if (!/(>=|<=|==|!=|>|<)\s*-?\d+(\.\d+)?\s*$/.test(rule.condition)) return [];
  return [
    {
      alert: alertName(rule.id, environment),
      expr: rule.condition,
      labels: { severity: rule.severity, environment, gatehouse_rule: rule.id, channels: rule.channels.join(',') },
      annotations: { summary: rule.name, description: `${rule.description ?? rule.name}; value {{ $value }}.` },
    },
  ];
}

/** In exported rules a query's placeholders select every service of the environment. */
function fillForExport(query: string, prom: PrometheusPolicy, environment: string): string {
  return query.replace(/\$environment\b/g, environment).replace(/"\$(service|version|stable_version)"/g, '~".+"').replace(PLACEHOLDER, '.+');
}

function alertName(id: string, environment: string): string {
  const camel = (s: string) => s.split(/[^a-zA-Z0-9]+/).filter((p) => p.length > 0).map((p) => p[0]!.toUpperCase() + p.slice(1)).join('');
  return `Gatehouse${camel(environment)}${camel(id)}`;
}
