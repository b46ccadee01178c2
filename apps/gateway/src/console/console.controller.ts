import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Clock } from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { ROLES } from '@gatehouse/policy';
import type { PolicyRegistry } from '@gatehouse/service-kit';
import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from '../lifecycle/command-sender.js';
import { IdParams } from '../lifecycle/dtos.js';
import { CLOCK, EVENT_STORE, POLICY_REGISTRY } from '../tokens.js';
import { type ApprovalDryRun, approvalDryRun } from './approval-dry-run.js';
import { type EnvironmentOverview, environmentsOverview } from './environment-overview.js';
import { readModels } from './read-models.js';

class ApprovalDryRunDto extends createZodDto(z.strictObject({ role: z.enum(ROLES) })) {}

/** What the console reads beyond the lifecycle endpoints: who the caller is, what runs where, whether an approval would hold. */
@ApiTags('console')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api')
export class ConsoleController {
  constructor(
    private readonly sender: CommandSender,
    @Inject(POLICY_REGISTRY) private readonly policies: PolicyRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get('session')
  @ApiOperation({ summary: 'Who the bearer token says the caller is: subject, name, roles and expiry (the console signs in with it)' })
  session(@Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): { subject: string; name: string; roles: readonly string[]; expiresAt: string | null } {
    // AuthGuard verified the token already; only its expiry is read back from it.
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const exp = token === undefined ? undefined : decodeJwt(token).exp;
    return { subject: principal.sub, name: principal.name, roles: principal.roles, expiresAt: exp === undefined ? null : new Date(exp * 1000).toISOString() };
  }

  @Get('environments')
  @ApiOperation({ summary: 'Every environment: what version runs where (clusters, regions), health, current and next window, blackout or freeze in force with its reason and end' })
  async environments(): Promise<{ asOf: string; policyVersion: string; environments: EnvironmentOverview[] }> {
    const now = this.clock.now();
    const [versions, deployments, changes] = await Promise.all([readModels.versions(this.sender), readModels.activeDeployments(this.sender), readModels.changes(this.sender, { status: 'rolled_back' })]);
    const current = this.policies.current;
    return { asOf: now.toISOString(), policyVersion: current.policyVersion, environments: environmentsOverview(current, now, { versions, deployments, changes }) };
  }

  @Post('change-requests/:id/approvals/dry-run')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Would an approval in this role by the caller be accepted now? The approvals decider run on the stored facts, without writing anything' })
  async approvalDryRun(@Param() params: IdParams, @Body() body: ApprovalDryRunDto, @CurrentPrincipal() principal: Principal): Promise<ApprovalDryRun> {
    return approvalDryRun(this.store, { changeRequestId: params.id, role: body.role, principal, now: this.clock.now() });
  }
}
