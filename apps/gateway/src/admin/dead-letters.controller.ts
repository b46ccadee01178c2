import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DEAD_LETTER_CONTEXT } from '@gatehouse/bus';
import type { Role } from '@gatehouse/policy';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from '../lifecycle/command-sender.js';

/** Who may read and redrive dead letters: the people who operate the system (a dead letter may hold any event's data). */
export const DEAD_LETTER_ROLES: readonly Role[] = ['sre', 'release_engineer'];

const DeadLetterId = z.string().regex(/^[1-9]\d{0,15}$/, 'must be a dead letter id (a positive whole number, as listed by GET /api/admin/dead-letters)');
class DeadLetterParams extends createZodDto(z.strictObject({ id: DeadLetterId })) {}
class DeadLettersQuery extends createZodDto(
  z.strictObject({
    /** Only dead letters after this id (paging: the previous page's `next`). */
    after: z.string().regex(/^\d{1,16}$/, 'must be a dead letter id').optional(),
    limit: z.coerce.number().int().min(1, 'at least 1').max(1000, 'at most 1000').optional(),
  }),
) {}

/**
 * Dead letters: events a consumer parked because they were poison (malformed, forbidden) or kept failing
 * for longer than their retries last. Listing, reading and redriving them is for SREs and release engineers;
 * a redrive hands the event back to the consumer that parked it. Answered over the bus by a service that
 * holds the dead-letter stream (distributed form), or by the embedded host from the store's dead-letter
 * ledger (`npm start`).
 */
@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api/admin/dead-letters')
export class DeadLettersController {
  constructor(private readonly sender: CommandSender) {}

  @Get()
  @ApiOperation({ summary: 'Dead letters, oldest first, with the consumer that parked each and why (sre, release_engineer)' })
  async list(@Query() query: DeadLettersQuery, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, DEAD_LETTER_ROLES, 'reading dead letters');
    return this.sender.dispatch({ context: DEAD_LETTER_CONTEXT, command: 'list' }, { ...(query.after === undefined ? {} : { after: Number(query.after) }), ...(query.limit === undefined ? {} : { limit: query.limit }) });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One dead letter with the message it holds (sre, release_engineer)' })
  async get(@Param() params: DeadLetterParams, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, DEAD_LETTER_ROLES, 'reading dead letters');
    return { deadLetter: await this.sender.dispatch({ context: DEAD_LETTER_CONTEXT, command: 'get' }, { id: Number(params.id) }) };
  }

  @Post(':id/redrive')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Hand a dead letter back to the consumer that parked it; it leaves the dead-letter stream (sre, release_engineer)' })
  async redrive(@Param() params: DeadLetterParams, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, DEAD_LETTER_ROLES, 'redriving dead letters');
    return { redriven: await this.sender.dispatch({ context: DEAD_LETTER_CONTEXT, command: 'redrive' }, { id: Number(params.id) }), redrivenBy: principal.sub };
  }
}
