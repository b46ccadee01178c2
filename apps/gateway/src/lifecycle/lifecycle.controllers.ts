import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import type { PolicyRegistry } from '@gatehouse/service-kit';
import type { FastifyRequest } from 'fastify';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { CHANGE_AUTHOR_ROLES, GATE_OVERRIDE_ROLES, RELEASE_AUTHOR_ROLES, REVIEWER_ROLES, requireAnyRole, requireDeployAccess } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { toEventView } from '../audit/event-view.js';
import { EVENT_STORE, POLICY_REGISTRY } from '../tokens.js';
import { CommandSender } from './command-sender.js';
import {
  ChangeRequestIdParams,
  ChangeRequestsQuery,
  CloseChangeDto,
  CreateReleaseDto,
  GateOverrideDto,
  GateParams,
  GrantApprovalDto,
  IdParams,
  MetricSamplesDto,
  PendingApprovalsQuery,
  PromoteDto,
  ReasonDto,
  RejectDto,
  RescheduleDto,
  ReviewDto,
  ReviseReleaseDto,
  RollbackDto,
  ScheduleQuery,
  SubmitChangeDto,
  VersionsQuery,
} from './dtos.js';
import { deterministicId, releaseIdFor } from './ids.js';

const CR = { context: 'changeRequests' } as const;
const IDEMPOTENCY_DOC = { name: 'Idempotency-Key', required: false, description: 'Retry-safe key: the same key returns the first outcome and sends nothing again' };

/** The read models the projections service answers (`projections.query { view, filter }`). */
export const PROJECTION_VIEWS = {
  changeRequests: 'changeRequests',
  pendingApprovals: 'pendingApprovals',
  schedule: 'schedule',
  versions: 'versions',
  activeDeployments: 'activeDeployments',
} as const;

/** A read model as the projections service answers it: `{ asOfPosition, items }`. */
function queryProjection(sender: CommandSender, view: string, filter: object): Promise<object> {
  return sender.dispatch<object>({ context: 'projections', command: 'query' }, { view, filter });
}

interface ChangeViewReply {
  draft?: { environments?: string[] };
}

/** Releases: planned from a service version, revised before they deploy. */
@ApiTags('releases')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api/releases')
export class ReleasesController {
  constructor(private readonly sender: CommandSender) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Plan a release of a service version (changeRequests.createRelease)' })
  async create(@Body() body: CreateReleaseDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, RELEASE_AUTHOR_ROLES, 'planning a release');
    const { previousVersion, ...release } = body;
    const releaseId = releaseIdFor(release.service, release.version);
    const result = await this.sender.send(request, principal, { ...CR, command: 'createRelease' }, (e) => ({
      ...e,
      releaseId,
      release,
      ...(previousVersion !== undefined ? { previousVersion } : {}),
    }));
    return { releaseId, result };
  }

  @Post(':id/revisions')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Revise a release before it deploys; standing approvals are invalidated (changeRequests.reviseRelease)' })
  async revise(@Param() params: IdParams, @Body() body: ReviseReleaseDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, RELEASE_AUTHOR_ROLES, 'revising a release');
    const result = await this.sender.send(request, principal, { ...CR, command: 'reviseRelease' }, (e) => ({ ...e, releaseId: params.id, revision: body }));
    return { releaseId: params.id, result };
  }

  @Post(':id/gates/:gateId/override')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Accept a failed or timed-out warn testing gate with a recorded reason, so the deployment may start (changeRequests.overrideGate)' })
  async overrideGate(@Param() params: GateParams, @Body() body: GateOverrideDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, GATE_OVERRIDE_ROLES, `overriding testing gate ${params.gateId}`);
    const result = await this.sender.send(request, principal, { ...CR, command: 'overrideGate' }, (e) => ({ ...e, releaseId: params.id, environment: body.environment, gateId: params.gateId, reason: body.reason }));
    return { releaseId: params.id, gateId: params.gateId, result };
  }
}

/** Change requests through review, approval, rejection and cancellation, plus their read side. */
@ApiTags('change requests')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api')
export class ChangeRequestsController {
  constructor(
    private readonly sender: CommandSender,
    @Inject(EVENT_STORE) private readonly store: AuditableEventStore,
  ) {}

  @Post('change-requests')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Submit a change request; the caller is its author (changeRequests.submitChange)' })
  async submit(@Body() body: SubmitChangeDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, CHANGE_AUTHOR_ROLES, 'submitting a change request');
    const { kind, ...draft } = body;
    let changeRequestId = '';
    const result = await this.sender.send(request, principal, { ...CR, command: 'submitChange' }, (e) => {
      // Derived from the command id, so a retried Idempotency-Key names the same change request.
      changeRequestId = deterministicId('changeRequest', e.commandId);
      return { ...e, changeRequestId, kind, draft: { ...draft, author: principal.sub } };
    });
    return { changeRequestId, result };
  }

  @Post('change-requests/:id/review')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Start (caller becomes reviewer) or complete the review (changeRequests.startReview | completeReview)' })
  async review(@Param() params: IdParams, @Body() body: ReviewDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, REVIEWER_ROLES, 'reviewing a change request');
    const command = body.action === 'start' ? 'startReview' : 'completeReview';
    const result = await this.sender.send(request, principal, { ...CR, command }, (e) => ({
      ...e,
      changeRequestId: params.id,
      ...(body.action === 'complete' ? { notes: body.notes ?? '' } : {}),
    }));
    return { changeRequestId: params.id, result };
  }

  @Post('change-requests/:id/approvals')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Grant an approval in a role the caller holds; approver and roles come from the token (approvals.grant)' })
  async grant(@Param() params: IdParams, @Body() body: GrantApprovalDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, [body.role], `approving as ${body.role}`);
    const result = await this.sender.send(request, principal, { context: 'approvals', command: 'grant' }, (e) => ({
      commandId: e.commandId,
      correlationId: e.correlationId,
      changeRequestId: params.id,
      role: body.role,
      ...(body.comment !== undefined ? { comment: body.comment } : {}),
    }));
    return { changeRequestId: params.id, result };
  }

  @Post('change-requests/:id/approvals/revoke')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'Withdraw the caller’s own approval (approvals.revoke); after full approval the change goes back to awaiting approval and its booking is cancelled; refused once the deployment has started',
  })
  async revoke(@Param() params: IdParams, @Body() body: ReasonDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    const result = await this.sender.send(request, principal, { context: 'approvals', command: 'revoke' }, (e) => ({
      commandId: e.commandId,
      correlationId: e.correlationId,
      changeRequestId: params.id,
      reason: body.reason,
    }));
    return { changeRequestId: params.id, result };
  }

  @Post('change-requests/:id/rejections')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Turn a change down: as an approver (approvals.reject) or as its reviewer (changeRequests.rejectChange)' })
  async reject(@Param() params: IdParams, @Body() body: RejectDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    if (body.stage === 'review') {
      requireAnyRole(principal, REVIEWER_ROLES, 'rejecting a change request in review');
      const result = await this.sender.send(request, principal, { ...CR, command: 'rejectChange' }, (e) => ({ ...e, changeRequestId: params.id, reason: body.reason }));
      return { changeRequestId: params.id, result };
    }
    const result = await this.sender.send(request, principal, { context: 'approvals', command: 'reject' }, (e) => ({
      commandId: e.commandId,
      correlationId: e.correlationId,
      changeRequestId: params.id,
      reason: body.reason,
    }));
    return { changeRequestId: params.id, result };
  }

  @Post('change-requests/:id/validation/sign-off')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary:
      'Sign off the change’s post-deployment validation (changeRequests.signOffValidation); only in a role its environment’s postDeploymentValidation.signOff names, never by its author or CI initiator (403)',
  })
  async signOffValidation(@Param() params: IdParams, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    const result = await this.sender.send(request, principal, { ...CR, command: 'signOffValidation' }, (e) => ({ ...e, changeRequestId: params.id }));
    return { changeRequestId: params.id, result };
  }

  @Post('change-requests/:id/cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Cancel a change request before it is implemented (changeRequests.cancelChange)' })
  async cancel(@Param() params: IdParams, @Body() body: ReasonDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, CHANGE_AUTHOR_ROLES, 'cancelling a change request');
    const result = await this.sender.send(request, principal, { ...CR, command: 'cancelChange' }, (e) => ({ ...e, changeRequestId: params.id, reason: body.reason }));
    return { changeRequestId: params.id, result };
  }

  private query(view: string, filter: object): Promise<object> {
    return queryProjection(this.sender, view, filter);
  }

  @Post('change-requests/:id/close')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Close a validated, rolled-back or failed change (changeRequests.closeChange)' })
  async close(@Param() params: IdParams, @Body() body: CloseChangeDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, CHANGE_AUTHOR_ROLES, 'closing a change request');
    const result = await this.sender.send(request, principal, { ...CR, command: 'closeChange' }, (e) => ({ ...e, changeRequestId: params.id, ...body }));
    return { changeRequestId: params.id, result };
  }

  @Get('change-requests')
  @ApiOperation({ summary: 'Change requests, optionally by status and environment (projections)' })
  async list(@Query() query: ChangeRequestsQuery): Promise<object> {
    return this.query(PROJECTION_VIEWS.changeRequests, query);
  }

  @Get('change-requests/:id')
  @ApiOperation({ summary: 'One change request (changeRequests.getChange), its event history and its booking history (scheduled, refused with reasons and the next allowed start, due)' })
  async get(@Param() params: IdParams): Promise<object> {
    const changeRequest = await this.sender.dispatch({ ...CR, command: 'getChange' }, { changeRequestId: params.id });
    const history = await this.store.readStream(`changeRequest-${params.id}`);
    const schedule = await this.store.readStream(`schedule-${params.id}`);
    return { changeRequest, history: history.map(toEventView), schedule: schedule.map(toEventView) };
  }

  @Get('approvals/pending')
  @ApiOperation({ summary: 'Approval requests still missing a role, optionally one role (projections)' })
  async pending(@Query() query: PendingApprovalsQuery): Promise<object> {
    return this.query(PROJECTION_VIEWS.pendingApprovals, query);
  }
}

/** Deployment operations; each needs a role from `access.deploy` of the change's environment. */
@ApiTags('deployments')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api')
export class DeploymentsController {
  constructor(
    private readonly sender: CommandSender,
    @Inject(POLICY_REGISTRY) private readonly policies: PolicyRegistry,
  ) {}

  @Post('deployments/:crId/promote')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Promote a canary to its next step, or decide to go on after an inconclusive analysis paused it (reason and a policy decision role required) (deployments.promote)' })
  async promote(@Param() params: ChangeRequestIdParams, @Body() body: PromoteDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    await this.requireDeployAccessFor(params.crId, principal, 'promoting a deployment');
    // A rollout paused on an inconclusive analysis needs a reason and a decision role (checked by deployments).
    const result = await this.sender.send(request, principal, { context: 'deployments', command: 'promote' }, (e) => ({
      ...e,
      changeRequestId: params.crId,
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
    }));
    return { changeRequestId: params.crId, result };
  }

  @Post('deployments/:crId/abort')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Abort a running or paused deployment and restore the previous version (a paused one needs a policy decision role) (deployments.abort)' })
  async abort(@Param() params: ChangeRequestIdParams, @Body() body: ReasonDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    await this.requireDeployAccessFor(params.crId, principal, 'aborting a deployment');
    const result = await this.sender.send(request, principal, { context: 'deployments', command: 'abort' }, (e) => ({ ...e, changeRequestId: params.crId, reason: body.reason }));
    return { changeRequestId: params.crId, result };
  }

  @Post('deployments/:crId/watch/promote')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Accept a post-deployment watch paused by an inconclusive analysis (policy decision role, reason) (monitoring.decideWatch)' })
  async promoteWatch(@Param() params: ChangeRequestIdParams, @Body() body: ReasonDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.decideWatch('promote', params, body, request, principal);
  }

  @Post('deployments/:crId/watch/abort')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Abort a post-deployment watch paused by an inconclusive analysis: the deployment is rolled back (policy decision role, reason) (monitoring.decideWatch)' })
  async abortWatch(@Param() params: ChangeRequestIdParams, @Body() body: ReasonDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.decideWatch('abort', params, body, request, principal);
  }

  private async decideWatch(decision: 'promote' | 'abort', params: ChangeRequestIdParams, body: ReasonDto, request: FastifyRequest, principal: Principal): Promise<object> {
    await this.requireDeployAccessFor(params.crId, principal, `deciding on a paused watch (${decision})`);
    const result = await this.sender.send(request, principal, { context: 'monitoring', command: 'decideWatch' }, (e) => ({
      ...e,
      changeRequestId: params.crId,
      decision,
      reason: body.reason,
    }));
    return { changeRequestId: params.crId, result };
  }

  @Post('deployments/:crId/rollback')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Roll a deployment back by hand, within the policy’s manual window (deployments.rollback)' })
  async rollback(@Param() params: ChangeRequestIdParams, @Body() body: RollbackDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    await this.requireDeployAccessFor(params.crId, principal, 'rolling back a deployment');
    const result = await this.sender.send(request, principal, { context: 'deployments', command: 'rollback' }, (e) => ({
      ...e,
      changeRequestId: params.crId,
      reason: body.reason,
      initiator: 'manual',
      ...(body.evidence !== undefined ? { evidence: body.evidence } : {}),
      ...(body.incidentReviewRef !== undefined ? { incidentReviewRef: body.incidentReviewRef } : {}),
    }));
    return { changeRequestId: params.crId, result };
  }

  @Post('deployments/:crId/schedule')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Move a booked deployment to a requested instant (checked against windows, blackouts, freezes and conflicts) or to the next allowed slot (scheduling.reschedule)' })
  async reschedule(@Param() params: ChangeRequestIdParams, @Body() body: RescheduleDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    await this.requireDeployAccessFor(params.crId, principal, 'rescheduling a deployment');
    const result = await this.sender.send(request, principal, { context: 'scheduling', command: 'reschedule' }, (e) => ({
      ...e,
      changeRequestId: params.crId,
      reason: body.reason,
      ...(body.at !== undefined ? { at: body.at } : {}),
    }));
    return { changeRequestId: params.crId, result };
  }

  @Post('metrics/samples')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Push metric samples for a service’s watch (monitoring.recordSamples)' })
  async samples(@Body() body: MetricSamplesDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireDeployAccess(principal, this.policies.current, body.environment, 'pushing metric samples');
    return { result: await this.sender.send(request, principal, { context: 'monitoring', command: 'recordSamples' }, (e) => ({ ...e, ...body })) };
  }

  @Get('deployments/active')
  @ApiOperation({ summary: 'Deployments in progress with their step (projections)' })
  async active(): Promise<object> {
    return this.query(PROJECTION_VIEWS.activeDeployments, {});
  }

  @Get('schedule')
  @ApiOperation({ summary: 'Scheduled deployments, optionally of one environment (projections)' })
  async schedule(@Query() query: ScheduleQuery): Promise<object> {
    return this.query(PROJECTION_VIEWS.schedule, query);
  }

  @Get('versions')
  @ApiOperation({ summary: 'Which version of each service runs in each environment (projections)' })
  async versions(@Query() query: VersionsQuery): Promise<object> {
    return this.query(PROJECTION_VIEWS.versions, query);
  }

  private query(view: string, filter: object): Promise<object> {
    return queryProjection(this.sender, view, filter);
  }

  /** The change's environment decides who may operate its deployment (`access.deploy`). */
  private async requireDeployAccessFor(changeRequestId: string, principal: Principal, action: string): Promise<void> {
    const change = await this.sender.dispatch<ChangeViewReply>({ ...CR, command: 'getChange' }, { changeRequestId });
    const environments = change?.draft?.environments ?? [];
    if (environments.length === 0) requireAnyRole(principal, ['sre', 'release_engineer'], action);
    for (const environment of environments) requireDeployAccess(principal, this.policies.current, environment, action);
  }
}
