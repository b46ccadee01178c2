import { Body, Controller, ForbiddenException, Get, HttpCode, HttpStatus, Inject, Put, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Clock } from '@gatehouse/domain';
import { ClockControlDisabledError, type ClockControl, type ClockSetReport, clockSetting } from '@gatehouse/service-kit';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { CLOCK, CLOCK_CONTROL } from '../tokens.js';
import type { Role } from '@gatehouse/policy';

/** Who may move the clock where clock control is on: the people who run deployments. */
export const CLOCK_ROLES: readonly Role[] = ['release_engineer', 'sre'];

class SetClockDto extends createZodDto(
  z.strictObject({
    at: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. "2026-11-27T15:00:00Z"' }),
    /** false (default): time stands still at `at` until moved again; true: it runs on from `at`. */
    running: z.boolean().default(false),
  }),
) {}

/**
 * The clock every rule reads. Reading it is open to any caller; moving it (demos, end-to-end tests)
 * needs GATEHOUSE_CLOCK_CONTROL=on and a release engineer or SRE, and moves every process of the system.
 */
@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api/admin/clock')
export class ClockController {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CLOCK_CONTROL) private readonly control: ClockControl | null,
  ) {}

  @Get()
  @ApiOperation({ summary: 'What time it is for Gatehouse, and whether the clock can be moved' })
  read(): object {
    return { now: this.clock.now().toISOString(), control: this.control === null ? 'off' : 'on', setting: this.control?.clock.setting ?? null };
  }

  @Put()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Move the clock of every process (GATEHOUSE_CLOCK_CONTROL=on only); answers which processes applied it' })
  async set(@Body() body: SetClockDto, @CurrentPrincipal() principal: Principal): Promise<ClockSetReport & { now: string }> {
    if (this.control === null) {
      const error = new ClockControlDisabledError();
      throw new ForbiddenException({ error: error.name, message: error.message });
    }
    requireAnyRole(principal, CLOCK_ROLES, 'moving the clock');
    const report = await this.control.set(clockSetting(body.at, body.running, this.control.clock.reference));
    return { ...report, now: this.clock.now().toISOString() };
  }
}
