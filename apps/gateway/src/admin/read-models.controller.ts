import { Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MONITORING_CONTEXT, PROJECTIONS_CONTEXT, READ_MODEL_ADMIN_ROLES } from '@gatehouse/contracts';
import type { Role } from '@gatehouse/policy';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from '../lifecycle/command-sender.js';

/** A rebuild reads the whole log: give it longer than a command's usual 5 s (about 20 s per million events measured). */
export const REBUILD_TIMEOUT_MS = 10 * 60_000;

/**
 * The projections' read models (change requests, approvals, schedule, versions...) and the monitoring service's
 * watch index are kept in tables with a checkpoint. An SRE or release engineer can rebuild both from the whole
 * log, swapped in once complete; the views and the watches keep answering from the current ones meanwhile.
 */
@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api/admin/read-models')
export class ReadModelsController {
  constructor(private readonly sender: CommandSender) {}

  @Post('rebuild')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Rebuild the read models and monitoring's watch index from the whole log and swap them in (sre, release_engineer)" })
  async rebuild(@CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, READ_MODEL_ADMIN_ROLES as readonly Role[], 'rebuilding the read models');
    const caller = { subject: principal.sub, roles: principal.roles };
    // Two services, two independent rebuilds: run side by side.
    const [rebuilt, watchIndex] = await Promise.all([
      this.sender.dispatch({ context: PROJECTIONS_CONTEXT, command: 'rebuild' }, {}, caller, REBUILD_TIMEOUT_MS),
      this.sender.dispatch({ context: MONITORING_CONTEXT, command: 'rebuildWatchIndex' }, {}, caller, REBUILD_TIMEOUT_MS),
    ]);
    return { rebuilt, watchIndex };
  }
}
