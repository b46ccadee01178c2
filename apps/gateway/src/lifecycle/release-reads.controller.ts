/**
 * The read side of releases: the list (from the log's ReleasePlanned facts, newest first, each with
 * its current state from changeRequests.getRelease), one release with its history, and its release
 * notes in the seeds' format (libs/domain releaseNotes).
 */
import { Controller, Get, Header, Inject, Param, Query, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { ReleaseView } from '@gatehouse/contracts';
import { RELEASE_STATUSES, releaseNotesJson, releaseNotesMarkdown, type ReleaseChange } from '@gatehouse/domain';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { PolicyRegistry } from '@gatehouse/service-kit';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard } from '../auth/auth.guard.js';
import { toEventView } from '../audit/event-view.js';
import { EVENT_STORE, POLICY_REGISTRY } from '../tokens.js';
import { CommandSender } from './command-sender.js';
import { IdParams } from './dtos.js';

export const DEFAULT_RELEASE_PAGE = 50;
export const MAX_RELEASE_PAGE = 500;

export class ReleasesQuery extends createZodDto(
  z.strictObject({
    service: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a service name such as "campaign-api"').max(100).optional(),
    status: z.enum(RELEASE_STATUSES).optional(),
    /** The most recently planned first; at most this many (default 50). */
    limit: z.coerce.number().int().min(1).max(MAX_RELEASE_PAGE).optional(),
  }),
) {}

export class ReleaseNotesQuery extends createZodDto(
  z.strictObject({
    /** json (default): sections and the Markdown text; markdown: the Markdown document alone (text/markdown). */
    format: z.enum(['json', 'markdown']).default('json'),
    /** Product name in the header (default: the service). */
    product: z.string().trim().min(1).max(100).optional(),
  }),
) {}

interface PlannedRelease {
  releaseId: string;
  service: string;
  plannedAt: string;
}

/** When the release counts as released: its last successful deployment along the promotion path, else when it was planned. */
export function releaseDateOf(release: ReleaseView, plannedAt: string, promotionOrder: readonly string[]): { releasedAt: string; releasedTo: string | null } {
  const succeeded = promotionOrder
    .map((environment) => ({ environment, deployment: release.deployments[environment] }))
    .filter((d) => d.deployment?.status === 'succeeded' && d.deployment.completedAt !== null);
  const last = succeeded.at(-1);
  return last === undefined ? { releasedAt: plannedAt, releasedTo: null } : { releasedAt: last.deployment!.completedAt!, releasedTo: last.environment };
}

/** Listed changes, then the migrations CI reported that no listed change describes. */
export function notesChanges(release: ReleaseView): ReleaseChange[] {
  const listed = release.changes.map((c) => ({ kind: c.kind, description: c.description, ...(c.reference === undefined ? {} : { reference: c.reference }) }) as ReleaseChange);
  const described = new Set(listed.filter((c) => c.kind === 'migration').map((c) => c.description));
  const reported = release.migrations
    .map((m) => `${m.migrationId}: ${m.description}${m.reversible ? '' : ' (irreversible: a rollback does not undo it)'}`)
    .filter((text) => !described.has(text));
  return [...listed, ...reported.map((description) => ({ kind: 'migration', description }) as ReleaseChange)];
}

@ApiTags('releases')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api/releases')
export class ReleaseReadsController {
  constructor(
    private readonly sender: CommandSender,
    @Inject(EVENT_STORE) private readonly store: AuditableEventStore,
    @Inject(POLICY_REGISTRY) private readonly policies: PolicyRegistry,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Releases, the most recently planned first, optionally of one service or status' })
  async list(@Query() query: ReleasesQuery): Promise<object> {
    const planned = await this.planned(query.service);
    const limit = query.limit ?? DEFAULT_RELEASE_PAGE;
    const items: object[] = [];
    for (const p of planned) {
      if (items.length >= limit) break;
      const release = await this.release(p.releaseId);
      if (query.status !== undefined && release.status !== query.status) continue;
      items.push({ ...release, plannedAt: p.plannedAt });
    }
    return { items };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One release (changeRequests.getRelease) and its event history' })
  async get(@Param() params: IdParams): Promise<object> {
    const release = await this.release(params.id);
    const history = await this.store.readStream(`release-${params.id}`);
    return { release, history: history.map(toEventView) };
  }

  @Get(':id/notes')
  @Header('cache-control', 'no-store')
  @ApiProduces('application/json', 'text/markdown')
  @ApiOperation({ summary: 'Release notes in the seeds’ format: New Features, Bug Fixes, Technical Improvements, Migration Notes, Security Updates' })
  async notes(@Param() params: IdParams, @Query() query: ReleaseNotesQuery, @Res({ passthrough: true }) reply: FastifyReply): Promise<object | string> {
    const release = await this.release(params.id);
    const [planned] = await this.store.readStream(`release-${params.id}`, { maxCount: 1 });
    const plannedAt = String((planned?.data as { plannedAt?: unknown } | undefined)?.plannedAt ?? planned?.recordedAt.toISOString());
    const { releasedAt, releasedTo } = releaseDateOf(release, plannedAt, this.policies.current.promotionOrder);
    const input = { version: release.version, product: query.product ?? release.service, releasedAt, changes: notesChanges(release) };
    const markdown = releaseNotesMarkdown(input);
    if (query.format === 'markdown') {
      reply.header('content-type', 'text/markdown; charset=utf-8');
      return markdown;
    }
    return { releaseId: release.releaseId, service: release.service, status: release.status, releasedTo, ...releaseNotesJson(input), markdown };
  }

  private release(releaseId: string): Promise<ReleaseView> {
    return this.sender.dispatch<ReleaseView>({ context: 'changeRequests', command: 'getRelease' }, { releaseId });
  }

  /** Every planned release, newest first (one fact per release: the stream's first event). */
  private async planned(service: string | undefined): Promise<PlannedRelease[]> {
    const all: PlannedRelease[] = [];
    for await (const event of this.store.readAll({ eventTypes: ['ReleasePlanned'] })) {
      const data = event.data as { releaseId?: unknown; service?: unknown; plannedAt?: unknown };
      if (typeof data.releaseId !== 'string' || typeof data.service !== 'string') continue;
      if (service !== undefined && data.service !== service) continue;
      all.push({ releaseId: data.releaseId, service: data.service, plannedAt: typeof data.plannedAt === 'string' ? data.plannedAt : event.recordedAt.toISOString() });
    }
    return all.reverse();
  }
}
