import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HOTFIXES_CONTEXT, hotfixStreamId } from '@gatehouse/contracts';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { Role } from '@gatehouse/policy';
import type { FastifyRequest } from 'fastify';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { toEventView } from '../audit/event-view.js';
import { EVENT_STORE } from '../tokens.js';
import { CommandSender } from './command-sender.js';
import { IdParams } from './dtos.js';
import { CompleteStagingValidationDto, CreateHotfixBranchDto, IdentifyIncidentDto, PostIncidentReviewDto, StartStagingValidationDto } from './hotfix.dtos.js';
import { deterministicId } from './ids.js';

/** Who drives the emergency hotfix lane: the people on an incident (SRE, release engineering, tech leads) and VP Engineering. */
export const HOTFIX_ROLES: readonly Role[] = ['sre', 'release_engineer', 'tech_lead', 'vp_engineering'];
const HOTFIX = { context: HOTFIXES_CONTEXT } as const;
const IDEMPOTENCY_DOC = { name: 'Idempotency-Key', required: false, description: 'Retry-safe key: the same key returns the first outcome and sends nothing again' };

/** One hotfix lane per incident: the same incident always names the same `hotfix-<id>` stream. */
export function hotfixIdFor(incidentId: string): string {
  return deterministicId('hotfix', incidentId);
}

/**
 * The emergency hotfix lane (seeds: "Emergency Hotfix Procedure"): incident → branch from the production tag →
 * capped staging validation → (the emergency change, through /api/change-requests with `hotfixId`) → post-incident review.
 */
@ApiTags('hotfixes')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api/hotfixes')
export class HotfixController {
  constructor(
    private readonly sender: CommandSender,
    @Inject(EVENT_STORE) private readonly store: AuditableEventStore,
  ) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Open the hotfix lane for an incident; SLA and caps from production’s emergency path (hotfixes.identifyIncident)' })
  async identify(@Body() body: IdentifyIncidentDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, HOTFIX_ROLES, 'opening a hotfix');
    const hotfixId = hotfixIdFor(body.incidentId);
    const result = await this.sender.send(request, principal, { ...HOTFIX, command: 'identifyIncident' }, (e) => ({ ...e, hotfixId, ...body }));
    return { hotfixId, result };
  }

  @Post(':id/branch')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Record the hotfix branch, cut from a tag production runs (hotfixes.createHotfixBranch)' })
  async branch(@Param() params: IdParams, @Body() body: CreateHotfixBranchDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.drive(request, principal, 'createHotfixBranch', params.id, body, 'recording a hotfix branch');
  }

  @Post(':id/validation/start')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Start the capped staging validation of the hotfix release (hotfixes.startStagingValidation)' })
  async startValidation(@Param() params: IdParams, @Body() body: StartStagingValidationDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.drive(request, principal, 'startStagingValidation', params.id, body, 'starting hotfix validation');
  }

  @Post(':id/validation/complete')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Report how staging validation went; a pass after the cap counts as capped (hotfixes.completeStagingValidation)' })
  async completeValidation(@Param() params: IdParams, @Body() body: CompleteStagingValidationDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.drive(request, principal, 'completeStagingValidation', params.id, body, 'completing hotfix validation');
  }

  @Post(':id/review')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Record the post-incident review (due within 24 h of the deployment) (hotfixes.completePostIncidentReview)' })
  async review(@Param() params: IdParams, @Body() body: PostIncidentReviewDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.drive(request, principal, 'completePostIncidentReview', params.id, body, 'recording a post-incident review');
  }

  @Get(':id')
  @ApiOperation({ summary: 'One hotfix (hotfixes.getHotfix) and its event history' })
  async get(@Param() params: IdParams): Promise<object> {
    const hotfix = await this.sender.dispatch({ ...HOTFIX, command: 'getHotfix' }, { hotfixId: params.id });
    const history = await this.store.readStream(hotfixStreamId(params.id));
    return { hotfix, history: history.map(toEventView) };
  }

  private async drive(request: FastifyRequest, principal: Principal, command: string, hotfixId: string, body: object, action: string): Promise<object> {
    requireAnyRole(principal, HOTFIX_ROLES, action);
    const result = await this.sender.send(request, principal, { ...HOTFIX, command }, (e) => ({ ...e, hotfixId, ...body }));
    return { hotfixId, result };
  }
}
