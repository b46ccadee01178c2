import { Body, Controller, Get, HttpCode, HttpStatus, Param, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APPROVALS_CONTEXT } from '@gatehouse/contracts';
import { ROSTER_MANAGER_ROLES } from '@gatehouse/domain';
import { ROLES } from '@gatehouse/policy';
import type { FastifyRequest } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from './command-sender.js';

const IDEMPOTENCY_DOC = { name: 'Idempotency-Key', required: false, description: 'Retry-safe key: the same key returns the first outcome and sends nothing again' };
const Instant = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-12-01T10:00:00Z"' });

class RoleParams extends createZodDto(z.strictObject({ role: z.enum(ROLES) })) {}
class SetOnCallRosterDto extends createZodDto(
  z.strictObject({
    /** The whole roster of the role: it replaces the previous one. Shifts are half-open [start, end). */
    shifts: z.array(z.strictObject({ person: z.string().trim().min(1).max(200), start: Instant, end: Instant })).max(500),
  }),
) {}

/**
 * The on-call roster Gatehouse knows, per role: an approval the policy asks from the on-call person (production's
 * emergency SRE) counts only when the roster has the approver on a shift at that moment.
 */
@ApiTags('on-call')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api/on-call')
export class OnCallRosterController {
  constructor(private readonly sender: CommandSender) {}

  @Put(':role')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Set the on-call roster of a role (SRE or VP Engineering; nobody rosters themselves) (approvals.setOnCallRoster)' })
  async set(@Param() params: RoleParams, @Body() body: SetOnCallRosterDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, ROSTER_MANAGER_ROLES, `setting the ${params.role} on-call roster`);
    const result = await this.sender.send(request, principal, { context: APPROVALS_CONTEXT, command: 'setOnCallRoster' }, (e) => ({
      commandId: e.commandId,
      correlationId: e.correlationId,
      role: params.role,
      shifts: body.shifts,
    }));
    return { role: params.role, result };
  }

  @Get(':role')
  @ApiOperation({ summary: 'The on-call roster of a role and who is on call now (approvals.getOnCallRoster)' })
  async get(@Param() params: RoleParams): Promise<object> {
    return this.sender.dispatch({ context: APPROVALS_CONTEXT, command: 'getOnCallRoster' }, { role: params.role });
  }
}
