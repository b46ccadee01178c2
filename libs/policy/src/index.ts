export * from './schema.js';
export * from './errors.js';
export {
  type Interval,
  interval,
  contains,
  overlaps,
  formatInstant,
  MS_PER_MINUTE,
  MS_PER_HOUR,
  MS_PER_DAY,
} from './time.js';
export { deploymentWaves, clusterProblems, type ClusterTarget, type DeploymentWave } from './clusters.js';
export { parsePolicyFile, loadPolicySet, getEnvironmentPolicy, canonicalJson, type LoadPolicyOptions, type PolicyFile, type PolicySet } from './load.js';
export {
  environmentCalendar,
  openWindows,
  blockedPeriods,
  windowOccurrences,
  blackoutPeriods,
  freezePeriods,
  holidayWeekendPeriods,
  HOLIDAY_NAME_CHECK_YEARS,
  type CalendarOptions,
  type EnvironmentCalendar,
  type BlockedPeriod,
  type BlockedPeriodKind,
  type EvaluationContext,
  type ScheduledMajorRelease,
  type DeployedRelease,
  type WindowOccurrence,
} from './calendar/index.js';
export {
  planDeployment,
  planFitsWindow,
  DEFAULT_CANARY,
  DEFAULT_BLUE_GREEN,
  DEFAULT_ROLLING_UPDATE,
  DEFAULT_BIG_BANG,
  DEFAULT_FEATURE_FLAG,
  type DeploymentPlan,
  type PlanStep,
  type PlanOptions,
} from './plan.js';
export {
  evaluateDeployment,
  nextAllowedDeploymentTime,
  MAX_SEARCH_HORIZON_DAYS,
  type Approval,
  type DeploymentRequest,
  type Decision,
  type DecisionReason,
  type ReasonKind,
  type NextAllowedOptions,
} from './evaluate.js';
export { ROLE_TITLES } from './roles.js';
export {
  GENERATED_METRICS,
  prometheusPolicyOf,
  promString,
  selectorFor,
  generatedQuery,
  triggerQuery,
  fillPlaceholders,
  gatehouseHealthRules,
  environmentRules,
  type GeneratedMetric,
  type QueryTarget,
  type PrometheusAlertingRule,
  type PrometheusRuleGroup,
} from './promql.js';
