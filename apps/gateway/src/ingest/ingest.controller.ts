import { Body, Controller, Get, HttpCode, HttpStatus, Inject, NotFoundException, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { INGEST_EVENT_TYPES, type IngestEventType, ingestJsonSchema } from '@gatehouse/contracts';
import { RequestValidationError } from '@gatehouse/service-kit';
import type { FastifyRequest } from 'fastify';
import { AUTH_OPTIONS, AuthGuard, type AuthOptions, CurrentPrincipal, DEFAULT_CI_INITIATOR_CLAIM } from '../auth/auth.guard.js';
import { INGEST_ROLES, requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from '../lifecycle/command-sender.js';
import { initiatorClaimOf, mapIngestEvent } from './ingest-mapping.js';

@ApiTags('ingest')
@Controller('api/ingest')
export class IngestController {
  private readonly initiatorClaim: string;

  constructor(
    private readonly sender: CommandSender,
    @Inject(AUTH_OPTIONS) auth: AuthOptions,
  ) {
    this.initiatorClaim = auth.ciInitiatorClaim ?? DEFAULT_CI_INITIATOR_CLAIM;
  }

  /**
   * CI's release facts. Needs a token with `release_engineer` or `developer` (CI tokens carry one of
   * them); idempotent by the CloudEvent's (source, id), so no Idempotency-Key is needed. A deployment request's
   * initiator is the token's initiator claim when it carries one (a contradicting body `initiator` is refused).
   */
  @Post()
  @UseGuards(AuthGuard)
  @ApiBearerAuth()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Ingest one CloudEvent 1.0 (structured JSON) of a type listed at /api/ingest/schemas' })
  @ApiBody({ description: 'A CloudEvent; its JSON Schema is served at /api/ingest/schemas/{type}', schema: { type: 'object' } })
  async ingest(@Body() body: unknown, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, INGEST_ROLES, 'ingesting CI release facts');
    const initiatorClaim = initiatorClaimOf(principal.claims, this.initiatorClaim);
    const mapping = mapIngestEvent(body, { actor: principal.sub, correlationId: String(request.id), ...(initiatorClaim === undefined ? {} : { initiatorClaim }) });
    if (!mapping.ok) throw new RequestValidationError(mapping.issues);
    const result = await this.sender.dispatch(mapping.command, mapping.command.payload, { subject: principal.sub, roles: principal.roles });
    return { type: mapping.type, commandId: mapping.commandId, command: `${mapping.command.context}.${mapping.command.command}`, result };
  }

  @Get('schemas')
  @ApiOperation({ summary: 'The ingest types and where their JSON Schemas are (public)' })
  list(): { schemas: { type: IngestEventType; url: string }[] } {
    return { schemas: INGEST_EVENT_TYPES.map((type) => ({ type, url: `/api/ingest/schemas/${type}` })) };
  }

  @Get('schemas/:type')
  @ApiOperation({ summary: 'JSON Schema (draft 2020-12) of one ingest type, generated from the zod contract (public)' })
  schema(@Param('type') type: string): Record<string, unknown> {
    if (!(INGEST_EVENT_TYPES as readonly string[]).includes(type)) {
      throw new NotFoundException({ error: 'UnknownIngestType', message: `no ingest type '${type}'; known: ${INGEST_EVENT_TYPES.join(', ')}` });
    }
    return ingestJsonSchema(type as IngestEventType);
  }
}
