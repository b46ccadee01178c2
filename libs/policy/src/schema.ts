/**
 * The environment policy file format (`deploy/policies/*.yaml`): one file per environment.
 * Every rule of the seeds must be expressible here; evaluation code lives beside it.
 */
import { z } from 'zod';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const Weekday = z.enum(WEEKDAYS);
export type Weekday = z.infer<typeof Weekday>;

/** Roles Gatehouse knows; approvals and access rules refer to them. */
export const ROLES = [
  'developer',
  'qa',
  'product',
  'code_reviewer',
  'tech_lead',
  'sre',
  'release_engineer',
  'dba',
  'vp_engineering',
  'security',
  'auditor',
] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** standard: pre-approved routine change; normal: goes through the matrix; emergency: the hotfix lane. */
export const CHANGE_TYPES = ['standard', 'normal', 'emergency'] as const;
export const ChangeType = z.enum(CHANGE_TYPES);
export type ChangeType = z.infer<typeof ChangeType>;

export const DEPLOYMENT_STRATEGIES = ['rolling-update', 'blue-green', 'canary', 'feature-flag', 'big-bang'] as const;
export const DeploymentStrategy = z.enum(DEPLOYMENT_STRATEGIES);
export type DeploymentStrategy = z.infer<typeof DeploymentStrategy>;

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
/** Wall-clock time "HH:mm" (24 h) in the window's time zone. */
export const WallTime = z.string().regex(HH_MM, 'must be HH:mm (24-hour), e.g. "10:00"');
/** "MM-DD", a day of every year. */
export const MonthDay = z
  .string()
  .regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'must be MM-DD, e.g. "11-20"')
  .refine(isRealMonthDay, { message: 'must be a day that exists (02-29 is allowed, 02-30 is not)' });
/** IANA time zone name, validated against the runtime's tz database. */
export const TimeZone = z.string().refine(isValidTimeZone, { message: 'must be an IANA time zone, e.g. "UTC" or "Europe/Berlin"' });
export const IsoInstant = z.iso.datetime({ offset: true });
const Id = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case kebab-case, e.g. "black-friday-week"');

/** Longest each month can be (leap February), so "04-31" is refused and "02-29" accepted. */
const MAX_DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isRealMonthDay(monthDay: string): boolean {
  const [month, day] = monthDay.split('-').map(Number);
  return month !== undefined && day !== undefined && day <= (MAX_DAYS_IN_MONTH[month - 1] ?? 0);
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A recurring deployment window; `end` must be after `start` (windows do not cross midnight). */
export const DeploymentWindow = z
  .strictObject({
    id: Id,
    name: z.string().min(1),
    /** Days the window opens; omitted means every day. */
    days: z.array(Weekday).min(1).optional(),
    start: WallTime,
    end: WallTime,
    timeZone: TimeZone.default('UTC'),
  })
  .refine((w) => w.end > w.start, { message: 'window end must be after its start', path: ['end'] });
export type DeploymentWindow = z.infer<typeof DeploymentWindow>;

export const Frequency = z.strictObject({
  /** continuous: any time (subject to blackouts/freezes); windowed: only inside `windows`. */
  mode: z.enum(['continuous', 'windowed']),
  /** Human description from the seeds, e.g. "Tuesday and Thursday at 10:00 UTC". */
  description: z.string().min(1),
  /** Deployments of one service per window (conflict rule for scheduling). @defaultValue 1 */
  maxDeploymentsPerServicePerWindow: z.number().int().positive().default(1),
  /** What triggers a deployment, e.g. "on every merge to develop". */
  trigger: z.string().optional(),
});

const BlackoutBase = { id: Id, name: z.string().min(1), reason: z.string().optional() };
export const Blackout = z.discriminatedUnion('kind', [
  /** A fixed period [from, to). */
  z
    .strictObject({ ...BlackoutBase, kind: z.literal('fixed'), from: IsoInstant, to: IsoInstant })
    .refine((b) => Date.parse(b.to) > Date.parse(b.from), { message: 'blackout end must be after its start', path: ['to'] }),
  /** Every year from `from` 00:00 to the end of `to` (inclusive day) in `timeZone`; may wrap the year end. */
  z.strictObject({ ...BlackoutBase, kind: z.literal('yearly'), from: MonthDay, to: MonthDay, timeZone: TimeZone.default('UTC') }),
  /** The last `lastDays` calendar days of every quarter (Mar, Jun, Sep, Dec), whole days in `timeZone`. */
  z.strictObject({ ...BlackoutBase, kind: z.literal('quarter_end'), lastDays: z.number().int().min(1).max(31), timeZone: TimeZone.default('UTC') }),
  /**
   * The long weekends around the named public holidays of a holiday calendar (date-holidays):
   * the holiday and the weekend days and bridge days contiguous with it.
   */
  z.strictObject({
    ...BlackoutBase,
    kind: z.literal('holiday_weekends'),
    calendar: z.strictObject({ country: z.string().length(2), state: z.string().optional(), region: z.string().optional() }),
    /** Holiday names as date-holidays gives them in the calendar's default language, e.g. "Thanksgiving Day" (US). */
    holidays: z.array(z.string().min(1)).min(1),
    timeZone: TimeZone.default('UTC'),
  }),
]);
export type Blackout = z.infer<typeof Blackout>;

/** A freeze relative to an event, e.g. staging: 2 days before a major release is scheduled. */
export const Freeze = z.strictObject({
  id: Id,
  name: z.string().min(1),
  kind: z.literal('before_event'),
  event: z.enum(['major_release']),
  /** The freeze runs from `daysBefore` days before the event until the event. */
  daysBefore: z.number().int().positive(),
  /** Change types the freeze does not stop. @defaultValue ['emergency'] */
  exempt: z.array(ChangeType).default(['emergency']),
});
export type Freeze = z.infer<typeof Freeze>;

export const RoleRequirement = z.strictObject({
  role: Role,
  count: z.number().int().positive().default(1),
  /** Must the approver be the on-call person for the role (hotfix lane)? */
  onCall: z.boolean().default(false),
});
export type RoleRequirement = z.infer<typeof RoleRequirement>;

/** A routine change the policy pre-approves (seeds: "standard changes"), e.g. rotating a certificate. */
export const StandardChangeTemplate = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case kebab-case, e.g. "certificate-rotation"'),
  name: z.string().min(1),
  description: z.string().min(1),
});
export type StandardChangeTemplate = z.infer<typeof StandardChangeTemplate>;

export const ApprovalMatrix = z.strictObject({
  /** Approvals a normal change needs before it may deploy (may be empty: no approval required). */
  required: z.array(RoleRequirement),
  separationOfDuties: z
    .strictObject({
      /** The author of a change cannot approve it. */
      authorCannotApprove: z.boolean().default(true),
      /** One person's approval counts for one required role only. */
      distinctApproverPerRole: z.boolean().default(true),
    })
    .default({ authorCannotApprove: true, distinctApproverPerRole: true }),
  /** Database migrations need their own approval by this role; omitted: no separate approval. */
  migrationApproval: RoleRequirement.optional(),
  /** Standard (pre-approved) changes skip the matrix when true. */
  standardChangesPreApproved: z.boolean().default(true),
  /**
   * The catalogue of pre-approved change templates: a standard change must name one of these, so an environment
   * without any (production, unless its file lists some explicitly) takes no standard change at all. Adding a
   * template is a policy change: reviewed like any change to these files and recorded as a new policy version.
   */
  standardChangeTemplates: z.array(StandardChangeTemplate).default([]),
});
export type ApprovalMatrix = z.infer<typeof ApprovalMatrix>;

export const EmergencyPath = z.strictObject({
  allowed: z.boolean(),
  /** Expedited approvals for emergency changes (seeds: Tech Lead + SRE on-call). */
  approvals: z.array(RoleRequirement),
  /** Role whose approval lets an emergency change bypass windows, blackouts and freezes (seeds: VP Engineering). */
  windowBypassRole: Role.optional(),
  /** Staging validation of a hotfix is capped at this many minutes. */
  stagingValidationMaxMinutes: z.number().int().positive().optional(),
  /** Post-incident review due within this many hours of the deployment. */
  postIncidentReviewWithinHours: z.number().positive().optional(),
  /** SLA from issue identification to production fix, in minutes (critical severity). */
  slaMinutes: z.number().int().positive().optional(),
  enhancedMonitoring: z.boolean().default(false),
  /** Hotfix branches must start from the production tag. */
  branchFromProductionTag: z.boolean().default(false),
});
export type EmergencyPath = z.infer<typeof EmergencyPath>;

export const COMPARISON_OPERATORS = ['>', '<', '>=', '<=', '==', '!='] as const;
export const RollbackTrigger = z.strictObject({
  id: Id,
  metric: z.string().min(1),
  operator: z.enum(COMPARISON_OPERATORS),
  threshold: z.number(),
  /** Seconds the condition must hold before the trigger fires. */
  durationSeconds: z.number().int().nonnegative(),
  action: z.enum(['rollback', 'alert', 'scale_up']),
  /** Minutes before the trigger may fire again. */
  cooldownMinutes: z.number().int().nonnegative(),
  /**
   * PromQL the Prometheus metric source evaluates for this trigger; `$service`, `$version`, `$stable_version`
   * and `$environment` are replaced by the watched deployment's (quoted for PromQL). Omitted: generated from
   * `monitoring.prometheus` for `error_rate` and `response_time_p95`; pushed samples need none.
   */
  query: z.string().min(1).optional(),
  /** Seconds between two evaluations of the query (the query_range step); omitted: `monitoring.prometheus.intervalSeconds`. */
  intervalSeconds: z.number().int().positive().optional(),
  /** Where an alert from this trigger is delivered (action "alert"); omitted: `monitoring.defaultAlertChannels`. */
  channels: z.array(z.string().min(1)).optional(),
});
export type RollbackTrigger = z.infer<typeof RollbackTrigger>;

export const RollbackPolicy = z.strictObject({
  automatic: z.strictObject({
    /** Roll back when health checks fail (development). */
    onHealthCheckFailure: z.boolean().default(false),
    triggers: z.array(RollbackTrigger).default([]),
    /**
     * Consecutive automatic rollbacks of one service in this environment (no successful watch between them)
     * after which Gatehouse stops rolling back on its own: the next breach pages a human on `pageChannels` instead.
     */
    maxConsecutiveRollbacks: z.number().int().positive().optional(),
    /** Channels paged when `maxConsecutiveRollbacks` is reached. */
    pageChannels: z.array(z.string().min(1)).default([]),
  }),
  /** Manual rollback is available for this many minutes after deployment; omitted: any time. */
  manualWindowMinutes: z.number().int().positive().optional(),
  /** What a rollback beyond the manual window requires. */
  beyondWindow: z.enum(['incident_review', 'forbidden', 'allowed']).default('allowed'),
});
export type RollbackPolicy = z.infer<typeof RollbackPolicy>;

export const StrategyPolicy = z.strictObject({
  default: DeploymentStrategy,
  allowed: z.array(DeploymentStrategy).min(1),
  canary: z
    .strictObject({
      /** Traffic percentages, ascending, ending at 100. */
      steps: z.array(z.number().int().min(1).max(100)).min(1),
      totalMinutes: z.number().int().positive(),
    })
    .refine((c) => c.steps.every((s, i) => i === 0 || s > c.steps[i - 1]!) && c.steps.at(-1) === 100, {
      message: 'canary steps must ascend and end at 100',
      path: ['steps'],
    })
    .optional(),
  blueGreen: z.strictObject({ warmupMinutes: z.number().int().nonnegative(), verifyMinutes: z.number().int().nonnegative() }).optional(),
  rollingUpdate: z.strictObject({ batches: z.number().int().positive(), minutesPerBatch: z.number().int().positive() }).optional(),
  bigBang: z.strictObject({ minutes: z.number().int().positive() }).optional(),
  featureFlag: z.strictObject({ steps: z.array(z.number().int().min(0).max(100)).min(1), totalMinutes: z.number().int().positive() }).optional(),
});
export type StrategyPolicy = z.infer<typeof StrategyPolicy>;

export const TestingGate = z.strictObject({
  id: Id,
  name: z.string().min(1),
  /** Environment the tests run in. */
  environment: z.string().min(1),
  tests: z.array(z.string().min(1)).min(1),
  required: z.boolean(),
  timeoutMinutes: z.number().int().positive(),
  onFailure: z.enum(['block', 'warn', 'ignore']),
});
export type TestingGate = z.infer<typeof TestingGate>;

/**
 * Post-deployment validation (seed: smoke tests, integration checks after each deployment): a gate between
 * "deployed" and "validated". A change in the environment becomes validated only when its post-deployment watch
 * passed, every required check reported `passed` and, when asked, someone in `signOff.roles` other than its author
 * or CI initiator signed it off. Counted from the deployment's success; past `timeoutMinutes` a missing required
 * check (or sign-off) fails the validation (`onTimeout: fail`) or is let through with a warning (`warn`).
 */
export const PostDeploymentValidation = z
  .strictObject({
    checks: z
      .array(
        z.strictObject({
          /** The name results are reported under (`gatehouse.validation.result` `check`), e.g. `smoke`. */
          name: Id,
          /** @defaultValue true */
          required: z.boolean().default(true),
        }),
      )
      .min(1, 'name at least one check (omit postDeploymentValidation for none)'),
    timeoutMinutes: z.number().int().positive(),
    /** @defaultValue "fail" */
    onTimeout: z.enum(['fail', 'warn']).default('fail'),
    signOff: z.strictObject({ roles: z.array(Role).min(1), optional: z.boolean().default(false) }).optional(),
  })
  .refine((v) => new Set(v.checks.map((c) => c.name)).size === v.checks.length, { message: 'check names must be unique', path: ['checks'] });
export type PostDeploymentValidation = z.infer<typeof PostDeploymentValidation>;

export const CADENCE_RELEASE_TYPES = ['major', 'minor', 'patch', 'hotfix'] as const;
export type CadenceReleaseType = (typeof CADENCE_RELEASE_TYPES)[number];

/** Release cadence (seed: major quarterly, minor monthly, patch weekly, hotfix as needed), per service. */
export const ReleaseCadence = z.strictObject({
  /** warn: a broken cadence is reported (info reason); refuse: it is a deny reason. */
  onViolation: z.enum(['warn', 'refuse']),
  rules: z.array(
    z.strictObject({
      releaseType: z.enum(CADENCE_RELEASE_TYPES),
      description: z.string().min(1),
      /** At most one release of this type per service within this many days; absent: as needed. */
      minDaysBetween: z.number().int().positive().optional(),
      /** Calendar quarters (UTC) in which releases of this type may deploy; absent: any quarter. */
      quarters: z.array(z.number().int().min(1).max(4)).min(1).optional(),
    }),
  ),
});
export type ReleaseCadence = z.infer<typeof ReleaseCadence>;

const PROMQL_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const PromName = z.string().regex(PROMQL_NAME, 'must be a Prometheus metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*)');

/**
 * How the Prometheus metric source (`PROMETHEUS_URL`) reads a deployment's health: which labels carry the
 * service, version and environment on the governed services' metrics, and which metrics hold requests and
 * latency. Rollback triggers on `error_rate` / `response_time_p95` without a `query` get theirs from here.
 */
export const PrometheusPolicy = z.strictObject({
  labels: z
    .strictObject({ service: PromName.default('service'), version: PromName.default('version'), environment: PromName.optional() })
    .default({ service: 'service', version: 'version' }),
  /** Request counter, and the label matcher that makes a request an error. */
  requests: z.strictObject({ metric: PromName.default('http_requests_total'), errorMatcher: z.string().min(1).default('code=~"5.."') }).default({ metric: 'http_requests_total', errorMatcher: 'code=~"5.."' }),
  /** Latency histogram (without `_bucket`), in seconds. */
  latency: z.strictObject({ histogram: PromName.default('http_request_duration_seconds') }).default({ histogram: 'http_request_duration_seconds' }),
  /** The `[range]` of the generated `rate()`s, in seconds. */
  rateWindowSeconds: z.number().int().positive().default(60),
  /** Default seconds between two evaluations of a trigger (its query_range step). */
  intervalSeconds: z.number().int().positive().default(30),
  /** Fewer points than this over a trigger's window is Inconclusive (too few points). */
  minPoints: z.number().int().positive().default(3),
});
export type PrometheusPolicy = z.infer<typeof PrometheusPolicy>;

export const AlertRule = z.strictObject({
  id: Id,
  name: z.string().min(1),
  description: z.string().optional(),
  condition: z.string().min(1),
  severity: z.enum(['critical', 'warning', 'info']),
  channels: z.array(z.string().min(1)),
  cooldownMinutes: z.number().int().nonnegative(),
  enabled: z.boolean().default(true),
});
export type AlertRule = z.infer<typeof AlertRule>;

/**
 * Analysis as in Argo Rollouts: each analysis (a canary step, the post-deployment watch) is Successful,
 * Failed or Inconclusive. Too few samples of a rollback trigger's metric is Inconclusive, never a pass:
 * the rollout pauses until one of `decisionRoles` promotes or aborts it with a reason, or aborts
 * (rolling back) by itself after `decisionTimeoutMinutes`.
 */
export const AnalysisPolicy = z.strictObject({
  /** Samples of every rollback trigger's metric an analysis needs within its window to count as Successful. */
  minSamplesPerMetric: z.number().int().positive(),
  /** Roles that may promote or abort a rollout paused on an inconclusive analysis. */
  decisionRoles: z.array(Role).min(1),
  /** Minutes a paused rollout waits for that decision before it is aborted and rolled back. */
  decisionTimeoutMinutes: z.number().int().positive(),
});
export type AnalysisPolicy = z.infer<typeof AnalysisPolicy>;

export const EnvironmentPolicy = z.strictObject({
  apiVersion: z.literal('gatehouse/v1'),
  kind: z.literal('EnvironmentPolicy'),
  environment: z.string().regex(/^[a-z][a-z0-9-]*$/),
  /** Optional environments (local, qa, dr) are not part of the promotion path. */
  optional: z.boolean().default(false),
  purpose: z.string().min(1),
  /** The environment a release must have been deployed to successfully first (same version). */
  promotesFrom: z.string().optional(),
  /**
   * The clusters deployments run on. A multi-region environment deploys in waves: region by region in the
   * order of `regions`, cluster by cluster (in this order) inside a region, so each cluster names its region.
   * `context` is the kubeconfig context the Kubernetes executor uses for it. @defaultValue the cluster's name
   */
  clusters: z.array(
    z.strictObject({
      name: z.string().min(1),
      nodes: z.number().int().positive().optional(),
      region: z.string().optional(),
      context: z.string().min(1).optional(),
    }),
  ),
  /** The environment's regions, in deployment (wave) order. */
  regions: z.array(z.string().min(1)),
  access: z.strictObject({
    /** Roles allowed to deploy / operate the environment. */
    deploy: z.array(Role).min(1),
    /** Roles with read access. */
    read: z.array(Role).default([]),
    description: z.string().optional(),
  }),
  frequency: Frequency,
  windows: z.array(DeploymentWindow).default([]),
  blackouts: z.array(Blackout).default([]),
  freezes: z.array(Freeze).default([]),
  approvals: ApprovalMatrix,
  emergency: EmergencyPath,
  rollback: RollbackPolicy,
  strategy: StrategyPolicy,
  /** Gates that must have passed (per their onFailure) before a release deploys to this environment. */
  testingGates: z.array(TestingGate).default([]),
  /** Checks after each deployment before the change is validated; absent: the post-deployment watch alone validates it. */
  postDeploymentValidation: PostDeploymentValidation.optional(),
  /** Release cadence per service in this environment; absent: none. */
  cadence: ReleaseCadence.optional(),
  monitoring: z.strictObject({
    postDeploymentHours: z.number().nonnegative(),
    alertRules: z.array(AlertRule).default([]),
    /** Channels an alert from a rollback trigger goes to when the trigger names none. */
    defaultAlertChannels: z.array(z.string().min(1)).default(['slack']),
    /** Reading the deployment's metrics from Prometheus; omitted: the defaults of `PrometheusPolicy`. */
    prometheus: PrometheusPolicy.optional(),
    /** Metric analysis of canary steps and of the post-deployment watch; omitted: neither is gated on samples. */
    analysis: AnalysisPolicy.optional(),
  }),
  requirements: z.strictObject({
    runbook: z.boolean().default(false),
    migrationApproval: z.boolean().default(false),
  }),
  data: z
    .strictObject({
      source: z.string().optional(),
      retention: z.string().optional(),
      backup: z.string().optional(),
      /** Recurring data resets, e.g. development's nightly reset at 02:00 UTC. */
      resets: z.array(z.strictObject({ at: WallTime, timeZone: TimeZone.default('UTC'), description: z.string() })).default([]),
    })
    .default({ resets: [] }),
  notes: z.array(z.string()).default([]),
})
  .refine((p) => p.frequency.mode !== 'windowed' || p.windows.length > 0, {
    message: 'a windowed environment needs at least one window',
    path: ['windows'],
  })
  .refine((p) => p.strategy.allowed.includes(p.strategy.default), {
    message: 'the default strategy must be one of the allowed strategies',
    path: ['strategy', 'default'],
  })
  .refine((p) => p.monitoring.analysis === undefined || p.rollback.automatic.triggers.some((t) => t.action === 'rollback'), {
    message: 'analysis counts the samples of rollback triggers\' metrics: name at least one trigger with action "rollback"',
    path: ['monitoring', 'analysis'],
  });
export type EnvironmentPolicy = z.infer<typeof EnvironmentPolicy>;
