import { Body, Controller, Get, HttpCode, HttpStatus, Param, Patch, Put, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { FLAGS_CONTEXT } from '@gatehouse/contracts';
import { FlagName } from '@gatehouse/domain';
import type { FastifyRequest } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from './command-sender.js';

const IDEMPOTENCY_DOC = { name: 'Idempotency-Key', required: false, description: 'Retry-safe key: the same key returns the first outcome and sends nothing again' };
const FLAGS = { context: FLAGS_CONTEXT } as const;
const Environment = z.string().trim().min(1, 'name the environment, e.g. "production"').max(100);

class FlagParams extends createZodDto(z.strictObject({ name: FlagName })) {}
class ListFlagsQuery extends createZodDto(z.strictObject({ environment: Environment.optional() })) {}
class EvaluateFlagQuery extends createZodDto(
  z.strictObject({
    environment: Environment,
    userId: z.string().min(1).max(200).optional(),
    /** Repeat it for several segments (`segment=beta&segment=staff`) or separate them with commas. */
    segment: z.union([z.string().max(1_000), z.array(z.string().max(100)).max(50)]).optional(),
  }),
) {}
/**
 * The environment the setting is for, and the setting: `enabled`, `rollout` (immediate | percentage with
 * `percentage` 0-100 | user_segment with `userSegments` | gradual with `startAt` and optional `rampEndAt`),
 * optionally the flag's `description` and the `service` whose feature-flag deployments ramp it. The rest
 * is checked by the flags service, which names each bad field.
 */
class FlagSettingDto extends createZodDto(z.looseObject({ environment: Environment })) {}

/**
 * Feature flags as governed resources: changing one in an environment needs that environment's deploy roles
 * (the policy's `access.deploy`); every change is an event on `flag-<name>`; a feature-flag deployment ramps
 * the flags bound to its service through its plan's steps.
 */
@ApiTags('flags')
@ApiBearerAuth()
@ApiHeader(IDEMPOTENCY_DOC)
@UseGuards(AuthGuard)
@Controller('api/flags')
export class FlagsController {
  constructor(private readonly sender: CommandSender) {}

  @Get()
  @ApiOperation({ summary: 'Every feature flag with its setting per environment (flags.listFlags)' })
  async list(@Query() query: ListFlagsQuery): Promise<object> {
    return this.sender.dispatch({ ...FLAGS, command: 'listFlags' }, query.environment === undefined ? {} : { environment: query.environment });
  }

  @Get(':name')
  @ApiOperation({ summary: 'One feature flag (flags.getFlag)' })
  async get(@Param() params: FlagParams): Promise<object> {
    return { flag: await this.sender.dispatch({ ...FLAGS, command: 'getFlag' }, { name: params.name }) };
  }

  @Get(':name/evaluate')
  @ApiOperation({ summary: 'Is the flag on for this user (sticky murmur3 bucket) and these segments, in this environment? (flags.evaluateFlag)' })
  async evaluate(@Param() params: FlagParams, @Query() query: EvaluateFlagQuery): Promise<object> {
    const segments = (Array.isArray(query.segment) ? query.segment : (query.segment ?? '').split(',')).map((s) => s.trim()).filter((s) => s !== '');
    return this.sender.dispatch({ ...FLAGS, command: 'evaluateFlag' }, { name: params.name, environment: query.environment, ...(query.userId === undefined ? {} : { userId: query.userId }), segments });
  }

  @Put(':name')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Set the flag’s whole setting in an environment, creating the flag if new (the environment’s deploy roles) (flags.changeFlag)' })
  async replace(@Param() params: FlagParams, @Body() body: FlagSettingDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.change('replace', params.name, body, request, principal);
  }

  @Patch(':name')
  @ApiOperation({ summary: 'Change some fields of the flag’s setting in an environment (the environment’s deploy roles) (flags.changeFlag)' })
  async merge(@Param() params: FlagParams, @Body() body: FlagSettingDto, @Req() request: FastifyRequest, @CurrentPrincipal() principal: Principal): Promise<object> {
    return this.change('merge', params.name, body, request, principal);
  }

  private async change(mode: 'replace' | 'merge', name: string, body: FlagSettingDto, request: FastifyRequest, principal: Principal): Promise<object> {
    const { environment, ...change } = body as { environment: string } & Record<string, unknown>;
    return this.sender.send(request, principal, { ...FLAGS, command: 'changeFlag' }, (e) => ({ commandId: e.commandId, correlationId: e.correlationId, name, environment, mode, change }));
  }
}
