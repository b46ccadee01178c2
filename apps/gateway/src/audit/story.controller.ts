import { Controller, Get, Inject, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard } from '../auth/auth.guard.js';
import { EVENT_STORE } from '../tokens.js';
import { AuditReaderGuard } from './audit-access.js';
import { type ChangeStory, changeStory } from './story.js';

/** Ids are matched as whole values inside event data: at least 8 characters, so a story is never a coincidence. */
class StoryParams extends createZodDto(
  z.strictObject({ id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/, 'must be a change request id: 8-128 letters, digits, "-" or "_" (a UUID works)') }),
) {}

class StoryQuery extends createZodDto(
  z.strictObject({
    asOf: z
      .union([
        z.string().regex(/^\d{1,19}$/).transform((position) => ({ position: BigInt(position) })),
        z.iso.datetime({ offset: true }).transform((at) => ({ at: new Date(at) })),
      ], { error: 'must be a global position or an ISO-8601 instant, e.g. "2026-11-24T10:05:00Z"' })
      .optional()
      .describe('time travel: the story and state as of this global position or governance instant'),
  }),
) {}

/** "Why": the whole story of a change, for auditors (it shows every actor and decision: audit-reader roles). */
@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(AuthGuard, AuditReaderGuard)
@Controller('api/change-requests')
export class StoryController {
  constructor(@Inject(EVENT_STORE) private readonly store: AuditableEventStore) {}

  @Get(':id/story')
  @ApiOperation({ summary: 'Every event of every stream of a change (release, approvals, schedule, timers, deployment, watch, rollback, hotfix) in commit order, with actors, governance times, policy versions and positions, and its state; ?asOf= a position or instant travels back in time' })
  async story(@Param() params: StoryParams, @Query() query: StoryQuery): Promise<ChangeStory> {
    const story = await changeStory(this.store, params.id, query.asOf);
    if (story === undefined) {
      throw new NotFoundException({ error: 'NotFoundError', message: `no event mentions change request ${params.id}${query.asOf === undefined ? '' : ' by then'}` });
    }
    return story;
  }
}
