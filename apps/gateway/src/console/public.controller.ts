import { Controller, Get, Inject, Param, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Clock } from '@gatehouse/domain';
import type { EventStore } from '@gatehouse/eventstore';
import { getEnvironmentPolicy } from '@gatehouse/policy';
import type { PolicyRegistry } from '@gatehouse/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { CommandSender } from '../lifecycle/command-sender.js';
import { CLOCK, EVENT_STORE, POLICY_REGISTRY } from '../tokens.js';
import { calendarFeed, FEED_TTL_SECONDS } from './calendar-feed.js';
import { outagesOf, type PublicStatus, publicStatus } from './public-status.js';
import { readModels } from './read-models.js';

/** The public status page is answered from this cache: no sign-in, so no log scan per visitor. */
export const STATUS_CACHE_MS = 10_000;

class CalendarFeedParams extends createZodDto(z.strictObject({ environment: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be an environment name such as "production"') })) {}

/**
 * What needs no sign-in: calendar feeds (calendar apps cannot send a bearer token; windows and blackouts
 * are public like the policies) and the status page (times and kinds only: no people, no reasons).
 */
@ApiTags('public')
@Controller('api')
export class PublicController {
  private statusCache: { at: number; status: Promise<PublicStatus> } | undefined;

  constructor(
    private readonly sender: CommandSender,
    @Inject(POLICY_REGISTRY) private readonly policies: PolicyRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  @Get('calendar/:environment.ics')
  @ApiProduces('text/calendar')
  @ApiOperation({ summary: 'RFC 5545 iCalendar feed of an environment: deployment windows, blackouts, freezes and booked changes with their console links (subscribe from Google Calendar, Outlook, Apple Calendar)' })
  async calendar(@Param() params: CalendarFeedParams, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const policy = getEnvironmentPolicy(this.policies.current, params.environment);
    const bookings = await readModels.schedule(this.sender, { environment: params.environment });
    const feed = calendarFeed({ policy, bookings, now: this.clock.now(), consoleUrl: `${request.protocol}://${request.host}` });
    // Set only once the feed exists: a refusal (unknown environment) stays a JSON error.
    void reply.header('content-type', 'text/calendar; charset=utf-8').header('cache-control', `public, max-age=${FEED_TTL_SECONDS}`);
    return feed;
  }

  @Get('status')
  @ApiOperation({ summary: 'Public status of production: per-service status, incident history (hotfix lanes, rollbacks), maintenance schedule (booked windows), uptime over 30 days; no names, reasons or ids' })
  async status(): Promise<PublicStatus> {
    const wall = Date.now();
    if (this.statusCache === undefined || wall - this.statusCache.at > STATUS_CACHE_MS) {
      const status = this.computeStatus();
      this.statusCache = { at: wall, status };
      status.catch(() => (this.statusCache = undefined));
    }
    return this.statusCache.status;
  }

  private async computeStatus(): Promise<PublicStatus> {
    const current = this.policies.current;
    const environment = current.promotionOrder.at(-1) ?? 'production';
    const policy = getEnvironmentPolicy(current, environment);
    const [versions, deployments, bookings, outages] = await Promise.all([
      readModels.versions(this.sender, { environment }),
      readModels.activeDeployments(this.sender),
      readModels.schedule(this.sender, { environment }),
      outagesOf(this.store, environment),
    ]);
    return publicStatus({ policy, now: this.clock.now(), versions, deployments, bookings, outages });
  }
}
