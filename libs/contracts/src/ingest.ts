/**
 * Ingestion contract: release facts that CI pipelines and other services publish to Gatehouse, as
 * CloudEvents 1.0 structured JSON, over `POST /api/ingest` or NATS `gatehouse.ingest.<type suffix>`.
 * The JSON Schemas in `schemas/` at the repository root are generated from these zod schemas.
 */
import { CHANGE_KINDS, ChangeRequestDraft, CHECK_RESULT_STATUSES, GATE_RESULT_STATUSES, RELEASE_TYPES, ReleaseChange } from '@gatehouse/domain';
import { z } from 'zod';

/** CloudEvents `type` of each fact Gatehouse ingests. */
export const INGEST_EVENT_TYPES = [
  'gatehouse.release.built',
  'gatehouse.testgate.result',
  'gatehouse.migration.included',
  'gatehouse.deployment.requested',
  'gatehouse.validation.result',
] as const;
export type IngestEventType = (typeof INGEST_EVENT_TYPES)[number];

/** Prefix every ingest type shares; the rest is the NATS subject suffix (`gatehouse.ingest.release.built`). */
export const INGEST_TYPE_PREFIX = 'gatehouse.';

const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });
const SemVer = z
  .string()
  .regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/, 'must be a semantic version (MAJOR.MINOR.PATCH), e.g. "2.1.0"');
const ServiceName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case kebab-case, e.g. "campaign-api"').max(100);
const EnvironmentName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"').max(50);
const Text = (max: number) => z.string().trim().min(1).max(max);

/** Which release a fact is about: its Gatehouse id, or the service and version CI knows it by. */
export const IngestReleaseRef = z.union([
  z.strictObject({ releaseId: Text(200) }),
  z.strictObject({ service: ServiceName, version: SemVer }),
]);
export type IngestReleaseRef = z.infer<typeof IngestReleaseRef>;

export const ReleaseBuiltData = z.strictObject({
  service: ServiceName,
  version: SemVer,
  type: z.enum(RELEASE_TYPES),
  title: Text(200),
  description: z.string().max(10_000).optional(),
  changes: z.array(ReleaseChange).max(500).default([]),
});
export type ReleaseBuiltData = z.infer<typeof ReleaseBuiltData>;

export const TestGateResultData = z
  .strictObject({
    release: IngestReleaseRef,
    environment: EnvironmentName,
    /** The gate's id in the environment policy's `testingGates`. */
    gateId: Text(100),
    status: z.enum(GATE_RESULT_STATUSES),
    startedAt: Instant,
    /** Required unless the gate is still running. */
    finishedAt: Instant.optional(),
    summary: z.string().max(2_000).optional(),
    reportUrl: z.url().optional(),
  })
  .refine((d) => d.status === 'running' || d.finishedAt !== undefined, {
    message: 'a finished gate (passed, failed, timed_out) needs finishedAt',
    path: ['finishedAt'],
  })
  .refine((d) => d.finishedAt === undefined || Date.parse(d.finishedAt) >= Date.parse(d.startedAt), {
    message: 'must not be before startedAt',
    path: ['finishedAt'],
  });
export type TestGateResultData = z.infer<typeof TestGateResultData>;

export const MigrationIncludedData = z.strictObject({
  release: IngestReleaseRef,
  migrationId: Text(200),
  description: Text(2_000),
  /** Whether a down-migration exists; irreversible migrations matter for the rollback plan. */
  reversible: z.boolean(),
  database: Text(100).optional(),
});
export type MigrationIncludedData = z.infer<typeof MigrationIncludedData>;

export const DeploymentRequestedData = z.strictObject({
  release: IngestReleaseRef,
  environment: EnvironmentName,
  kind: z.enum(CHANGE_KINDS).default('normal'),
  /** The change request to open; the author is the publisher (token subject, or `ingest:<source>` over NATS), the person is `initiator`. */
  changeRequest: ChangeRequestDraft.omit({ author: true, initiator: true, initiatorSource: true, environments: true, releaseId: true }),
});
export type DeploymentRequestedData = z.infer<typeof DeploymentRequestedData>;

/** A post-deployment check's result (smoke, integration…) for the change that deployed: see the environment's `postDeploymentValidation`. */
export const ValidationResultData = z.strictObject({
  /** The change request `gatehouse ci publish deployment-requested` printed. */
  changeRequestId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/, 'must be the change request id'),
  /** The check's name in the environment policy's `postDeploymentValidation.checks`. */
  check: Text(100),
  status: z.enum(CHECK_RESULT_STATUSES),
  summary: z.string().max(2_000).optional(),
  reportUrl: z.url().optional(),
});
export type ValidationResultData = z.infer<typeof ValidationResultData>;

const envelope = {
  specversion: z.literal('1.0'),
  /** Unique per source: (source, id) makes the command id, so a redelivered fact is applied once. */
  id: Text(200),
  source: Text(500),
  time: Instant.optional(),
  subject: Text(500).optional(),
  datacontenttype: z.literal('application/json').optional(),
  dataschema: z.string().max(500).optional(),
  /** Carried into the command metadata so one id follows the fact across services. */
  correlationid: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional(),
};

export const ReleaseBuiltEvent = z.strictObject({ ...envelope, type: z.literal('gatehouse.release.built'), data: ReleaseBuiltData });
export const TestGateResultEvent = z.strictObject({ ...envelope, type: z.literal('gatehouse.testgate.result'), data: TestGateResultData });
export const MigrationIncludedEvent = z.strictObject({ ...envelope, type: z.literal('gatehouse.migration.included'), data: MigrationIncludedData });
export const DeploymentRequestedEvent = z.strictObject({
  ...envelope,
  /**
   * CloudEvents extension: the person whose push asked for the deployment (the CI run's actor, e.g. GitHub's
   * `github.actor`). When the publisher's token carries the initiator claim (GATEHOUSE_CI_INITIATOR_CLAIM, default
   * `actor`) the claim is the initiator and this field, if given, must name the same person; without the claim it is
   * required and recorded as the publisher's assertion. Separation of duties applies to the initiator as to the
   * author: they cannot review, approve or validate the change.
   */
  initiator: z.string().trim().min(1, 'name the person whose push asked for the deployment (the CI run\'s actor)').max(200).optional(),
  type: z.literal('gatehouse.deployment.requested'),
  data: DeploymentRequestedData,
});

export const ValidationResultEvent = z.strictObject({ ...envelope, type: z.literal('gatehouse.validation.result'), data: ValidationResultData });

export const INGEST_EVENT_SCHEMAS = {
  'gatehouse.release.built': ReleaseBuiltEvent,
  'gatehouse.testgate.result': TestGateResultEvent,
  'gatehouse.migration.included': MigrationIncludedEvent,
  'gatehouse.deployment.requested': DeploymentRequestedEvent,
  'gatehouse.validation.result': ValidationResultEvent,
} as const satisfies Record<IngestEventType, z.ZodType>;

export const IngestEvent = z.discriminatedUnion('type', [ReleaseBuiltEvent, TestGateResultEvent, MigrationIncludedEvent, DeploymentRequestedEvent, ValidationResultEvent]);
export type IngestEvent = z.infer<typeof IngestEvent>;

/** JSON Schema (draft 2020-12) of one ingest type, as publishers send it (defaults optional). */
export function ingestJsonSchema(type: IngestEventType): Record<string, unknown> {
  return {
    $id: `https://gatehouse.dev/schemas/${type}.json`,
    title: type,
    ...z.toJSONSchema(INGEST_EVENT_SCHEMAS[type], { io: 'input', target: 'draft-2020-12' }),
  };
}
