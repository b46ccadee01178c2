import { Controller, Get, Inject, Query, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  type AuditEvent,
  type Clock,
  complianceCsv,
  complianceMarkdown,
  complianceReport,
  type ComplianceReport,
  doraMarkdown,
  doraMetrics,
  type DoraReport,
  environmentStateAsOf,
  environmentStateMarkdown,
  type EnvironmentState,
  rederivationMarkdown,
  rederiveDecisions,
  type RederivationReport,
  toAuditEvent,
} from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { type PolicyRegistry, RequestValidationError } from '@gatehouse/service-kit';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard } from '../auth/auth.guard.js';
import { CLOCK, EVENT_STORE, POLICY_REGISTRY } from '../tokens.js';
import { AuditReaderGuard } from './audit-access.js';

/** A report's period when the caller names no start: the 30 days before its end. */
export const DEFAULT_REPORT_DAYS = 30;
const MS_PER_DAY = 86_400_000;
/** Longest period a report covers in one request: five years. */
const MAX_REPORT_DAYS = 5 * 366;

const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-11-24T00:00:00Z"' });
const PeriodFields = {
  from: Instant.optional().describe(`start of the period (inclusive, governance time); default: ${DEFAULT_REPORT_DAYS} days before "to"`),
  to: Instant.optional().describe('end of the period (exclusive); default: now (the governance clock)'),
};

class ComplianceQuery extends createZodDto(z.strictObject({ ...PeriodFields, format: z.enum(['json', 'csv', 'markdown']).default('json') })) {}
class DoraQuery extends createZodDto(z.strictObject({ ...PeriodFields, format: z.enum(['json', 'markdown']).default('json') })) {}
class StateQuery extends createZodDto(
  z.strictObject({
    asOf: z
      .union([
        z.string().regex(/^\d{1,19}$/).transform((position) => ({ position: BigInt(position) })),
        z.iso.datetime({ offset: true }).transform((at) => ({ at: new Date(at) })),
      ], { error: 'must be a global position or an ISO-8601 instant, e.g. "2026-11-24T10:05:00Z"' })
      .describe('the moment: a global position or a governance instant'),
    environment: z.string().min(1).max(100).default('production').describe('the environment (a name in the policies)'),
    format: z.enum(['json', 'markdown']).default('json'),
  }),
) {}

class RederiveQuery extends createZodDto(
  z.strictObject({
    until: z.string().regex(/^\d{1,19}$/, 'must be a global position').transform(BigInt).optional().describe('replay the log up to this global position (inclusive); default: all of it'),
    format: z.enum(['json', 'markdown']).default('json'),
  }),
) {}

/** Every event of the log, as the reports read them. */
export async function readAuditEvents(store: EventStore, until?: bigint): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  // A filter, not a stop: in the log's (commit) order a later position can come before an earlier one.
  for await (const event of store.readAll(until === undefined ? {} : { untilPosition: until })) events.push(toAuditEvent(event));
  return events;
}

/** The period a query names, checked: 400 naming the field when it is empty or too long. */
export function periodOf(query: { from?: string; to?: string }, now: Date): { from: Date; to: Date } {
  const to = query.to === undefined ? now : new Date(query.to);
  const from = query.from === undefined ? new Date(to.getTime() - DEFAULT_REPORT_DAYS * MS_PER_DAY) : new Date(query.from);
  if (from.getTime() >= to.getTime()) throw new RequestValidationError([{ field: 'from', reason: `must be before to (${to.toISOString()})` }]);
  if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * MS_PER_DAY) throw new RequestValidationError([{ field: 'from', reason: `the period may span at most ${MAX_REPORT_DAYS} days` }]);
  return { from, to };
}

const text = (body: string, type: string, filename: string): StreamableFile =>
  new StreamableFile(Buffer.from(body, 'utf8'), { type: `${type}; charset=utf-8`, disposition: `inline; filename="${filename}"` });

/** Reports for auditors, folded from the log itself (audit-reader roles). */
@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(AuthGuard, AuditReaderGuard)
@Controller('api/audit')
export class AuditReportsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(POLICY_REGISTRY) private readonly policies: PolicyRegistry,
  ) {}

  @Get('compliance')
  @ApiOperation({ summary: 'Compliance report for a period: production changes with approvals and separation of duties, emergency changes with VP approval and post-incident review, rollbacks with evidence, policy changes; JSON, CSV or Markdown' })
  async compliance(@Query() query: ComplianceQuery): Promise<ComplianceReport | StreamableFile> {
    const period = periodOf(query, this.clock.now());
    const report = complianceReport(await readAuditEvents(this.store), period);
    const name = `compliance-${period.from.toISOString().slice(0, 10)}-${period.to.toISOString().slice(0, 10)}`;
    if (query.format === 'csv') return text(complianceCsv(report), 'text/csv', `${name}.csv`);
    if (query.format === 'markdown') return text(complianceMarkdown(report), 'text/markdown', `${name}.md`);
    return report;
  }

  @Get('dora')
  @ApiOperation({ summary: 'DORA metrics for a period per service and environment (deployment frequency, lead time, change failure rate, time to restore) plus approval latency and freeze-bypass rate' })
  async dora(@Query() query: DoraQuery): Promise<DoraReport | StreamableFile> {
    const report = doraMetrics(await readAuditEvents(this.store), periodOf(query, this.clock.now()));
    return query.format === 'markdown' ? text(doraMarkdown(report), 'text/markdown', 'dora.md') : report;
  }

  @Get('state')
  @ApiOperation({ summary: 'Time travel: what was running, deploying, scheduled, approved and awaiting approval in an environment as of a governance instant or global position, and which policy applied' })
  async state(@Query() query: StateQuery): Promise<EnvironmentState | StreamableFile> {
    const known = this.policies.entries().flatMap((entry) => entry.environments);
    if (!known.includes(query.environment)) {
      throw new RequestValidationError([{ field: 'environment', reason: `unknown environment '${query.environment}'; the policies name ${[...new Set(known)].sort().join(', ')}` }]);
    }
    const state = environmentStateAsOf(await readAuditEvents(this.store), query.asOf, query.environment);
    return query.format === 'markdown' ? text(environmentStateMarkdown(state), 'text/markdown', 'state.md') : state;
  }

  @Get('rederive')
  @ApiOperation({ summary: 'Replay the raw events through the pure deciders (approval requirements, grants and quorum, booking, start, rollback triggers) under the policy in force at the time, and flag every recorded decision the events do not justify' })
  async rederive(@Query() query: RederiveQuery): Promise<RederivationReport | StreamableFile> {
    const report = rederiveDecisions(await readAuditEvents(this.store, query.until));
    return query.format === 'markdown' ? text(rederivationMarkdown(report), 'text/markdown', 'rederive.md') : report;
  }
}
