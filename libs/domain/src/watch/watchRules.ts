import { fillPlaceholders, prometheusPolicyOf, triggerQuery, type AlertRule, type EnvironmentPolicy, type QueryTarget, type RollbackTrigger } from '@gatehouse/policy';

export type AlertSeverity = AlertRule['severity'];

/** A rollback trigger or an alert rule in the one shape the evaluator takes (`evaluateRollbackTrigger`). */
export interface WatchRule extends RollbackTrigger {
  severity: AlertSeverity;
  source: 'rollback_trigger' | 'alert_rule' | 'enhanced_early_warning';
  /** Where an alert from this rule is delivered (alert rules' channels; a trigger's, or the environment's default). */
  channels?: string[];
}

/** Trigger actions other than rollback carry no severity in the policy; alerts from them are warnings. */
export const TRIGGER_ALERT_SEVERITY: AlertSeverity = 'warning';
/** Enhanced monitoring (emergency changes) requires a breach to hold for this fraction of the normal duration. */
export const ENHANCED_DURATION_FACTOR = 0.5;
/** Enhanced monitoring adds an early-warning alert per rollback trigger at this fraction of its threshold. */
export const ENHANCED_EARLY_WARNING_FACTOR = 0.5;

const CONDITION = /^(.*\S)\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;

/**
 * An alert rule's condition is a query compared with a number ("rate(...[5m]) > 0.05"). Pushed samples
 * for it are named by the rule id (the metric source evaluates `query` and pushes the result), and the
 * query already aggregates over its window, so the rule holds from the first breaching sample.
 * Returns undefined for a disabled rule or one whose condition is not of that form.
 */
export function ruleFromAlert(rule: AlertRule, target?: QueryTarget): WatchRule | undefined {
  if (!rule.enabled) return undefined;
  const match = CONDITION.exec(rule.condition);
  if (match === null) return undefined;
  const [, query, operator, threshold] = match as unknown as [string, string, RollbackTrigger['operator'], string];
  const resolved = target === undefined ? query : fillPlaceholders(query, target);
  return {
    id: rule.id,
    metric: rule.id,
    operator,
    threshold: Number(threshold),
    durationSeconds: 0,
    action: 'alert',
    cooldownMinutes: rule.cooldownMinutes,
    query: resolved,
    severity: rule.severity,
    source: 'alert_rule',
    channels: [...rule.channels],
  };
}

/**
 * The rules a watch evaluates: the environment's automatic rollback triggers and its alert rules. Enhanced
 * (emergency changes when the policy's emergency path asks for it) is tighter: every trigger must hold only
 * half as long, and each rollback trigger on a ">"/">=" condition gains an early-warning alert at half its threshold.
 */
export function watchRulesFor(policy: Pick<EnvironmentPolicy, 'rollback' | 'monitoring'>, enhanced: boolean, target?: QueryTarget): WatchRule[] {
  const prom = prometheusPolicyOf(policy);
  const triggers: WatchRule[] = policy.rollback.automatic.triggers.map((t) => {
    // With a deployment to query about, the trigger carries the PromQL the Prometheus source runs for it.
    const query = target === undefined ? t.query : triggerQuery(t, prom, target);
    return {
      ...t,
      ...(query !== undefined && { query }),
      intervalSeconds: t.intervalSeconds ?? prom.intervalSeconds,
      durationSeconds: enhanced ? Math.floor(t.durationSeconds * ENHANCED_DURATION_FACTOR) : t.durationSeconds,
      severity: t.action === 'rollback' ? 'critical' : TRIGGER_ALERT_SEVERITY,
      source: 'rollback_trigger',
      ...(t.action !== 'rollback' && { channels: [...(t.channels ?? policy.monitoring.defaultAlertChannels)] }),
    };
  });
  const earlyWarnings: WatchRule[] = enhanced
    ? triggers
        .filter((t) => t.action === 'rollback' && (t.operator === '>' || t.operator === '>='))
        .map((t) => ({
          ...t,
          id: `${t.id}-early-warning`,
          threshold: t.threshold * ENHANCED_EARLY_WARNING_FACTOR,
          action: 'alert',
          severity: TRIGGER_ALERT_SEVERITY,
          source: 'enhanced_early_warning',
          channels: [...policy.monitoring.defaultAlertChannels],
        }))
    : [];
  const alerts = policy.monitoring.alertRules.flatMap((rule) => {
    const watchRule = ruleFromAlert(rule, target);
    return watchRule === undefined ? [] : [{ ...watchRule, intervalSeconds: prom.intervalSeconds }];
  });
  return [...triggers, ...earlyWarnings, ...alerts];
}

/** Metric names a watch accepts samples for. */
export function knownMetrics(rules: readonly WatchRule[]): Set<string> {
  return new Set(rules.map((r) => r.metric));
}
