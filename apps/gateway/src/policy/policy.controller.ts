import { BadRequestException, Body, Controller, Get, HttpCode, HttpStatus, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Clock } from '@gatehouse/domain';
import {
  CADENCE_RELEASE_TYPES,
  CHANGE_TYPES,
  DEPLOYMENT_STRATEGIES,
  type Decision,
  type EnvironmentCalendar,
  environmentCalendar,
  type EnvironmentPolicy,
  evaluateDeployment,
  getEnvironmentPolicy,
  interval,
  MS_PER_DAY,
  ROLES,
} from '@gatehouse/policy';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { CLOCK, POLICY_REGISTRY } from '../tokens.js';
import type { PolicyHistoryEntry, PolicyRegistry } from '@gatehouse/service-kit';

/** A calendar query may span at most this many days (a year and a bit, like the evaluation horizon). */
const MAX_CALENDAR_DAYS = 400;
const Instant = z.iso.datetime({ offset: true });
const EnvironmentName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"');
const MajorReleases = z.array(z.strictObject({ scheduledAt: Instant, name: z.string().min(1).optional() })).max(100);
const ServiceName = z.string().min(1).max(100);
const ReleaseTypeName = z.enum(CADENCE_RELEASE_TYPES);
const ReleaseHistory = z.array(z.strictObject({ service: ServiceName, releaseType: ReleaseTypeName, deployedAt: Instant })).max(500);

class EvaluateDeploymentDto extends createZodDto(
  z.strictObject({
    environment: EnvironmentName,
    at: Instant.optional().describe('when the deployment would start; default now'),
    changeType: z.enum(CHANGE_TYPES).default('normal'),
    strategy: z.enum(DEPLOYMENT_STRATEGIES).optional(),
    approvals: z.array(z.strictObject({ role: z.enum(ROLES), approver: z.string().min(1).max(200) })).max(50).optional(),
    author: z.string().min(1).max(200).optional(),
    includesMigration: z.boolean().optional(),
    hasRunbook: z.boolean().optional(),
    release: z.strictObject({ service: ServiceName, releaseType: ReleaseTypeName }).optional().describe('checks the release cadence against context.releaseHistory'),
    context: z.strictObject({ majorReleases: MajorReleases.optional(), releaseHistory: ReleaseHistory.optional() }).optional(),
  }),
) {}

class CalendarQuery extends createZodDto(
  z
    .strictObject({
      environment: EnvironmentName,
      from: Instant,
      to: Instant,
      changeType: z.enum(CHANGE_TYPES).default('normal'),
    })
    .refine((q) => Date.parse(q.to) > Date.parse(q.from), { message: 'must be after from', path: ['to'] })
    .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= MAX_CALENDAR_DAYS * MS_PER_DAY, {
      message: `the range may span at most ${MAX_CALENDAR_DAYS} days`,
      path: ['to'],
    }),
) {}

class EnvironmentParams extends createZodDto(z.strictObject({ environment: EnvironmentName })) {}
class VersionAtQuery extends createZodDto(z.strictObject({ at: Instant })) {}

@ApiTags('policy')
@Controller('api')
export class PolicyController {
  constructor(
    @Inject(POLICY_REGISTRY) private readonly registry: PolicyRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('policies')
  @ApiOperation({ summary: 'The active policy version, its environments and the history of activations' })
  list(): { policyVersion: string; promotionOrder: readonly string[]; environments: object[]; history: readonly PolicyHistoryEntry[] } {
    const { policyVersion, promotionOrder, environments } = this.registry.current;
    return {
      policyVersion,
      promotionOrder,
      environments: Object.values(environments).map((p) => ({
        environment: p.environment,
        purpose: p.purpose,
        optional: p.optional,
        promotesFrom: p.promotesFrom ?? null,
        frequency: p.frequency.description,
      })),
      history: this.registry.entries(),
    };
  }

  @Get('policies/history')
  @ApiOperation({ summary: 'Which policy version was in force at an instant' })
  versionAt(@Query() query: VersionAtQuery): PolicyHistoryEntry {
    const entry = this.registry.versionAt(new Date(query.at));
    if (!entry) throw new BadRequestException({ error: 'NoPolicyInForce', message: `no policy version was active at ${query.at}` });
    return entry;
  }

  @Get('policies/:environment')
  @ApiOperation({ summary: 'One environment policy as validated (defaults applied)' })
  environment(@Param() params: EnvironmentParams): EnvironmentPolicy {
    return getEnvironmentPolicy(this.registry.current, params.environment);
  }

  @Post('policy/evaluate')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'May a deployment start? The decision with every reason and, when refused, the next allowed time' })
  evaluate(@Body() body: EvaluateDeploymentDto): Decision {
    const { at, context, ...rest } = body;
    return evaluateDeployment(this.registry.current, {
      ...rest,
      at: at ? new Date(at) : this.clock.now(),
      context: {
        ...(context?.majorReleases ? { majorReleases: context.majorReleases.map((r) => ({ ...r, scheduledAt: new Date(r.scheduledAt) })) } : {}),
        ...(context?.releaseHistory ? { releaseHistory: context.releaseHistory.map((r) => ({ ...r, deployedAt: new Date(r.deployedAt) })) } : {}),
      },
    });
  }

  @Get('policy/calendar')
  @ApiOperation({ summary: 'Window openings, blocked periods and allowed intervals of an environment' })
  calendar(@Query() query: CalendarQuery): EnvironmentCalendar {
    const policy = getEnvironmentPolicy(this.registry.current, query.environment);
    return environmentCalendar(policy, interval(new Date(query.from), new Date(query.to)), { changeType: query.changeType });
  }
}
