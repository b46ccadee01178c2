import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RELEASE_PLANS_CONTEXT } from '@gatehouse/contracts';
import { CommunicationPlanInput, PrerequisiteInput, PrerequisiteStatusInput } from '@gatehouse/domain';
import type { FastifyRequest } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from './command-sender.js';
import { EntityId, IdParams } from './dtos.js';

const IDEMPOTENCY_DOC = { name: 'Idempotency-Key', required: false, description: 'Retry-safe key: the same key returns the first outcome and sends nothing again' };
const PLANS = { context: RELEASE_PLANS_CONTEXT } as const;

class PrerequisiteParams extends createZodDto(z.strictObject({ id: EntityId, prerequisiteId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"') })) {}
/** prerequisiteId, type (database | infrastructure | third_party | compliance), description, owner, deadline (ISO-8601): the domain's schema, checked here and again by the service. */
class AddPrerequisiteDto extends createZodDto(PrerequisiteInput) {}
/** notifications: [{ milestone, audience (internal | customers | stakeholders | incident), environments?, message }]. */
class CommunicationPlanDto extends createZodDto(CommunicationPlanInput) {}
/** status (pending | completed | failed) and an optional note. */
class PrerequisiteStatusDto extends createZodDto(PrerequisiteStatusInput) {}

/**
 * A release's plan (seeds: ReleasePlan.prerequisites): prerequisites with an owner, a deadline and a status. While
 * one is pending or failed the release's changes are not approved and its deployments do not start.
 */
@ApiTags('releases')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api/releases')
export class ReleasePlanController {
  constructor(private readonly sender: CommandSender) {}

  @Get(':id/plan')
  @ApiOperation({ summary: 'The release plan: prerequisites and which are still open (releasePlans.getReleasePlan)' })
  async plan(@Param() params: IdParams): Promise<object> {
    return this.sender.dispatch({ ...PLANS, command: 'getReleasePlan' }, { releaseId: params.id });
  }

  @Post(':id/prerequisites')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Add a prerequisite with owner and deadline (release engineer, tech lead, SRE, VP Engineering) (releasePlans.addPrerequisite)' })
  async add(@Param() params: IdParams, @Body() body: AddPrerequisiteDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.sender.send(request, principal, { ...PLANS, command: 'addPrerequisite' }, (e) => ({ commandId: e.commandId, correlationId: e.correlationId, releaseId: params.id, prerequisite: body }));
  }

  @Put(':id/communication')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Set the communication plan: who is told what at which milestone (scheduled, started, rolled_back, incident) (releasePlans.setCommunicationPlan)' })
  async communication(@Param() params: IdParams, @Body() body: CommunicationPlanDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.sender.send(request, principal, { ...PLANS, command: 'setCommunicationPlan' }, (e) => ({ commandId: e.commandId, correlationId: e.correlationId, releaseId: params.id, plan: body }));
  }

  @Put(':id/prerequisites/:prerequisiteId/status')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Set a prerequisite’s status (its owner, or a release-planning role) (releasePlans.setPrerequisiteStatus)' })
  async status(@Param() params: PrerequisiteParams, @Body() body: PrerequisiteStatusDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.sender.send(request, principal, { ...PLANS, command: 'setPrerequisiteStatus' }, (e) => ({
      commandId: e.commandId,
      correlationId: e.correlationId,
      releaseId: params.id,
      prerequisiteId: params.prerequisiteId,
      change: body,
    }));
  }
}
