/**
 * Monitoring context: the command it serves and the events it publishes on `watch-<changeRequestId>`.
 * One watch per change request (one deployment per change request): it starts on `DeploymentStarted`,
 * evaluates rollback triggers and alert rules against pushed metric samples, and ends when its timer
 * (completion + `monitoring.postDeploymentHours`) fires or the deployment is rolled back.
 */
import { z } from 'zod';

export const MONITORING_CONTEXT = 'monitoring';
export const WATCH_CATEGORY = 'watch';
export const watchStreamId = (changeRequestId: string): string => `${WATCH_CATEGORY}-${changeRequestId}`;

/** One `monitoring.recordSamples` call is stored as one event: this bounds the event's size. */
export const MAX_SAMPLES_PER_BATCH = 500;

const IsoInstant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
const Name = z.string().trim().min(1).max(200);

export const MetricSampleInput = z.strictObject({
  metric: Name,
  at: IsoInstant,
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
});
export type MetricSampleInput = z.infer<typeof MetricSampleInput>;

/** `monitoring.recordSamples`: samples for the service's active watch in that environment. */
export const RecordSamplesPayload = z.strictObject({
  /** Deterministic id (the gateway supplies a UUID): a retried call records nothing twice. */
  commandId: Name,
  service: Name,
  environment: Name,
  samples: z.array(MetricSampleInput).min(1, 'send at least one sample').max(MAX_SAMPLES_PER_BATCH, `at most ${MAX_SAMPLES_PER_BATCH} samples per call`),
  actor: Name.optional(),
  correlationId: Name.optional(),
});
export type RecordSamplesPayload = z.infer<typeof RecordSamplesPayload>;

/** `monitoring.decideWatch`: promote (accept) or abort (roll back) a watch paused by an inconclusive analysis; a policy decision role and a reason. */
export const DecideWatchPayload = z.strictObject({
  commandId: Name,
  changeRequestId: Name,
  decision: z.enum(['promote', 'abort']),
  reason: z.string().trim().min(1, 'give a reason; it is recorded in the audit trail').max(2_000).optional(),
  actor: Name,
  correlationId: Name.optional(),
});
export type DecideWatchPayload = z.infer<typeof DecideWatchPayload>;
export const DecideWatchResult = z.object({ changeRequestId: z.string(), status: z.string(), duplicate: z.boolean() });
export type DecideWatchResult = z.infer<typeof DecideWatchResult>;

export const RecordSamplesResult = z.object({
  changeRequestId: z.string(),
  recorded: z.number().int(),
  /** Triggers and alert rules that fired on this batch. */
  fired: z.array(z.object({ triggerId: z.string(), action: z.enum(['rollback', 'alert', 'scale_up']) })),
  /** Global position of the last event written (decimal string), for read-your-writes polling; null when nothing was written. */
  position: z.string().nullable(),
  duplicate: z.boolean(),
});
export type RecordSamplesResult = z.infer<typeof RecordSamplesResult>;

// ---------------------------------------------------------------- published events (stream watch-<changeRequestId>)

export const WatchRuleSchema = z.object({
  id: z.string(),
  metric: z.string(),
  operator: z.enum(['>', '<', '>=', '<=', '==', '!=']),
  threshold: z.number(),
  durationSeconds: z.number(),
  action: z.enum(['rollback', 'alert', 'scale_up']),
  cooldownMinutes: z.number(),
  query: z.string().optional(),
  intervalSeconds: z.number().optional(),
  severity: z.enum(['critical', 'warning', 'info']),
  source: z.enum(['rollback_trigger', 'alert_rule', 'enhanced_early_warning']),
  channels: z.array(z.string()).optional(),
});

const WatchIds = {
  changeRequestId: z.string(),
  deploymentId: z.string(),
  environment: z.string(),
};

const Evidence = z.object({
  triggerId: z.string(),
  metric: z.string(),
  operator: z.string(),
  threshold: z.number(),
  durationSeconds: z.number(),
  windowStart: z.string(),
  windowEnd: z.string(),
  heldSeconds: z.number(),
  observed: z.array(z.object({ at: z.string(), value: z.number() })),
  /** The PromQL the series was read with (Prometheus source). */
  query: z.string().optional(),
});
/** A rollback's evidence: the breach, where the samples came from, and the revision the rollback restores (null: none before). */
const RollbackEvidence = Evidence.extend({ source: z.enum(['pushed', 'prometheus']), revisionRestored: z.string().nullable() });
const MetricQueryProblem = z.enum(['no_data', 'too_few_points', 'query_error', 'unreachable']);

export const monitoringEventSchemas = {
  PostDeploymentWatchStarted: z.object({
    ...WatchIds,
    service: z.string(),
    version: z.string(),
    /** Expected end: planned deployment duration + postDeploymentHours; re-armed from the actual completion. */
    until: z.string(),
    enhanced: z.boolean(),
    postDeploymentHours: z.number(),
    rules: z.array(WatchRuleSchema),
    stableVersion: z.string().optional(),
    automaticRollbacks: z.object({ max: z.number(), consecutive: z.number(), pageChannels: z.array(z.string()) }).optional(),
    startedAt: z.string(),
  }),
  WatchTimerArmed: z.object({ changeRequestId: z.string(), dueAt: z.string(), basis: z.enum(['expected_completion', 'deployment_succeeded']) }),
  MetricSamplesRecorded: z.object({
    ...WatchIds,
    service: z.string(),
    samples: z.array(z.object({ metric: z.string(), at: z.string(), value: z.number() })),
    source: z.enum(['pushed', 'prometheus']).optional(),
    /** PromQL per metric, for samples read from Prometheus. */
    queries: z.record(z.string(), z.string()).optional(),
    recordedAt: z.string(),
  }),
  /** The domain's `RollbackTriggerFired` plus the change request, service and the evaluation's reason. */
  RollbackTriggerFired: z.object({
    ...WatchIds,
    service: z.string(),
    triggerId: z.string(),
    action: z.enum(['rollback', 'alert', 'scale_up']),
    reason: z.string(),
    evidence: RollbackEvidence,
    firedAt: z.string(),
  }),
  /** A rollback trigger fired after `max` consecutive automatic rollbacks of the service: no rollback; `pageChannels` are paged. */
  AutomaticRollbackLimitReached: z.object({
    ...WatchIds,
    service: z.string(),
    triggerId: z.string(),
    consecutive: z.number(),
    max: z.number(),
    pageChannels: z.array(z.string()),
    reason: z.string(),
    evidence: RollbackEvidence,
    at: z.string(),
  }),
  /** A Prometheus query of the watch gave no usable answer (no data, too few points, query error, unreachable): Inconclusive. */
  MetricQueryInconclusive: z.object({ ...WatchIds, metric: z.string(), query: z.string(), problem: MetricQueryProblem, detail: z.string(), at: z.string() }),
  AlertRaised: z.object({
    ...WatchIds,
    service: z.string(),
    rule: z.string(),
    severity: z.enum(['critical', 'warning', 'info']),
    channels: z.array(z.string()).optional(),
    reason: z.string(),
    evidence: Evidence,
    raisedAt: z.string(),
  }),
  PostDeploymentWatchCompleted: z.object({ ...WatchIds, analysis: z.record(z.string(), z.unknown()).optional(), promotedBy: z.string().optional(), completedAt: z.string() }),
  /** The watch's analysis was Inconclusive (too few samples): not completed; one of `decisionRoles` decides by `decideBy`, else it is aborted. */
  PostDeploymentWatchPaused: z.object({ ...WatchIds, analysis: z.record(z.string(), z.unknown()), decisionRoles: z.array(z.string()), decideBy: z.string(), pausedAt: z.string() }),
  WatchAnalysisDecided: z.object({ ...WatchIds, decision: z.enum(['promote', 'abort']), actor: z.string(), actorRoles: z.array(z.string()), reason: z.string(), at: z.string() }),
  /** Aborted on an inconclusive analysis: deployments' rollback workflow restores the previous version. */
  PostDeploymentWatchAborted: z.object({ ...WatchIds, reason: z.string(), actor: z.string(), analysis: z.record(z.string(), z.unknown()), abortedAt: z.string() }),
  /** The watch stopped before its period ended (rolled back, failed or aborted): no validation follows. */
  PostDeploymentWatchEnded: z.object({ ...WatchIds, reason: z.enum(['rolled_back', 'failed', 'aborted']), endedAt: z.string() }),
} as const;
export type MonitoringEventType = keyof typeof monitoringEventSchemas;

// ---------------------------------------------------------------- published events (stream alert-delivery-<alert event id>)

const AlertMessageSchema = z.object({
  alertId: z.string(),
  kind: z.enum(['alert', 'page']),
  rule: z.string(),
  severity: z.enum(['critical', 'warning', 'info']),
  changeRequestId: z.string(),
  service: z.string(),
  environment: z.string(),
  summary: z.string(),
  raisedAt: z.string(),
});
const DeliveryRecord = z.object({ effectId: z.string(), alertId: z.string(), channel: z.string(), attempts: z.number(), detail: z.string(), at: z.string() });

export const alertDeliveryEventSchemas = {
  /** Intent, recorded before the channel's webhook is called (the effect runner performs it once). */
  AlertDeliveryIntended: z.object({ effectId: z.string(), channel: z.string(), message: AlertMessageSchema, at: z.string() }),
  /** Another attempt at an intent left without outcome (a crash mid-delivery), claimed after its lease. */
  AlertDeliveryAttemptClaimed: z.object({ effectId: z.string(), attempt: z.number(), at: z.string() }),
  AlertDelivered: DeliveryRecord,
  /** Failed after `attempts` HTTP requests (0: the channel is not configured); `detail` says why. */
  AlertDeliveryFailed: DeliveryRecord,
} as const;

/** `monitoring.rebuildWatchIndex {}`: rebuild the watch index from the whole log and replace its tables (READ_MODEL_ADMIN_ROLES). */
export const WatchIndexRebuildPayload = z.strictObject({});
