import { Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type AuditableEventStore, verifyEventLog } from '@gatehouse/eventstore';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard } from '../auth/auth.guard.js';
import { EVENT_STORE } from '../tokens.js';
import { AuditReaderGuard } from './audit-access.js';
import { type EventView, toEventView } from './event-view.js';
import type { AuditSigningKey } from './signing-key.js';
import { AUDIT_SIGNING_KEY } from './tree-head.controller.js';

/** Page size when the client does not ask for one, and the most it may ask for. */
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1_000;
/** Global positions are PostgreSQL bigints: larger numbers would overflow the query, not just find nothing. */
const MAX_POSITION = 2n ** 63n - 1n;
const Position = z
  .string()
  .regex(/^\d{1,19}$/, 'must be a non-negative integer')
  .refine((value) => !/^\d{1,19}$/.test(value) || BigInt(value) <= MAX_POSITION, `must be at most ${MAX_POSITION} (the largest global position)`);

class ReadEventsQuery extends createZodDto(
  z.strictObject({
    after: Position.default('0').describe('exclusive global position to read after'),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
    until: z.iso.datetime({ offset: true }).optional().describe('only events recorded at or before this instant'),
    type: z.string().min(1).optional().describe('only events of this type'),
  }),
) {}

/** The verification result as JSON (positions as strings). */
type VerificationView =
  | { ok: true; eventsChecked: number; lastPosition: string; sealsChecked: number }
  | { ok: false; firstBadPosition: string; streamId: string | null; streamVersion: string | null; reason: string };

/** `<category>-<id>`: a category of letters and digits, then the id (no slashes or spaces). */
const StreamId = z
  .string()
  .max(200)
  .regex(/^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'must be a stream id such as "changeRequest-<id>" (a category, "-", then the id)');
class StreamParams extends createZodDto(z.strictObject({ streamId: StreamId })) {}

/** The audit log: a valid token (401) with one of AUDIT_READER_ROLES (403). */
@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(AuthGuard, AuditReaderGuard)
@Controller('api')
export class AuditController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: AuditableEventStore,
    @Inject(AUDIT_SIGNING_KEY) private readonly auditKey: AuditSigningKey,
  ) {}

  @Get('events')
  @ApiOperation({ summary: 'The global event log in commit order, paged by global position' })
  async readEvents(@Query() query: ReadEventsQuery): Promise<{ events: EventView[]; next: string | null }> {
    const events: EventView[] = [];
    for await (const event of this.store.readAll({
      after: BigInt(query.after),
      batchSize: query.limit,
      ...(query.until ? { untilRecordedAt: new Date(query.until) } : {}),
      ...(query.type ? { eventTypes: [query.type] } : {}),
    })) {
      events.push(toEventView(event));
      if (events.length === query.limit) break;
    }
    return { events, next: events.length === query.limit ? (events.at(-1)?.globalPosition ?? null) : null };
  }

  @Get('streams/:streamId')
  @ApiOperation({ summary: 'Every event of one stream, in stream order' })
  async readStream(@Param() params: StreamParams): Promise<{ streamId: string; events: EventView[] }> {
    const events = await this.store.readStream(params.streamId);
    return { streamId: params.streamId, events: events.map(toEventView) };
  }

  @Get('audit/verify')
  @ApiOperation({ summary: 'Re-walk the whole log, its hash chains, seals and signed tree heads; names the first altered, deleted or inserted row' })
  async verify(): Promise<VerificationView> {
    const result = await verifyEventLog(this.store, { treeHeadKey: this.auditKey.publicKey });
    return result.ok
      ? { ...result, lastPosition: result.lastPosition.toString() }
      : {
          ok: false,
          firstBadPosition: result.firstBadPosition.toString(),
          streamId: result.streamId ?? null,
          streamVersion: result.streamVersion?.toString() ?? null,
          reason: result.reason,
        };
  }
}
