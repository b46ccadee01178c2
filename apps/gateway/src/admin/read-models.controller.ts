import { Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PROJECTIONS_CONTEXT, READ_MODEL_ADMIN_ROLES } from '@gatehouse/contracts';
import type { Role } from '@gatehouse/policy';
import { AuthGuard, CurrentPrincipal } from '../auth/auth.guard.js';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';
import { CommandSender } from '../lifecycle/command-sender.js';

/** A rebuild reads the whole log: give it longer than a command's usual 5 s (about 20 s per million events measured). */
export const REBUILD_TIMEOUT_MS = 10 * 60_000;

/**
 * The projections' read models (change requests, approvals, schedule, versions...) are kept in tables with a
 * checkpoint. An SRE or release engineer can rebuild them from the whole log into fresh tables, swapped in once
 * complete; the views keep answering from the current ones meanwhile.
 */
@ApiTags('admin')
@ApiBearerAuth()
@UseGuards(AuthGuard)
@Controller('api/admin/read-models')
export class ReadModelsController {
  constructor(private readonly sender: CommandSender) {}

  @Post('rebuild')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Rebuild the read models from the whole log into fresh tables and swap them in (sre, release_engineer)' })
  async rebuild(@CurrentPrincipal() principal: Principal): Promise<object> {
    requireAnyRole(principal, READ_MODEL_ADMIN_ROLES as readonly Role[], 'rebuilding the read models');
    return { rebuilt: await this.sender.dispatch({ context: PROJECTIONS_CONTEXT, command: 'rebuild' }, {}, { subject: principal.sub, roles: principal.roles }, REBUILD_TIMEOUT_MS) };
  }
}
