import type { Provider, Type } from '@nestjs/common';
import type { CommandBus } from '@gatehouse/bus';
import { AUTH_OPTIONS, AuthGuard, type AuthOptions } from '../auth/auth.guard.js';
import { IngestController } from '../ingest/ingest.controller.js';
import { COMMAND_BUS, CommandSender } from './command-sender.js';
import { ChangeRequestsController, DeploymentsController, ReleasesController } from './lifecycle.controllers.js';
import { FlagsController } from './flags.controller.js';
import { OnCallRosterController } from './on-call.controller.js';
import { ReleasePlanController } from './release-plan.controller.js';
import { ReleaseReadsController } from './release-reads.controller.js';

/** The authenticated command side of the API: lifecycle endpoints and CI ingestion, over the command bus. */
export const LIFECYCLE_CONTROLLERS: Type<unknown>[] = [ReleasesController, ReleaseReadsController, ChangeRequestsController, DeploymentsController, IngestController, OnCallRosterController, FlagsController, ReleasePlanController];

export function lifecycleProviders({ commands, auth }: { commands: CommandBus; auth: AuthOptions }): Provider[] {
  return [{ provide: COMMAND_BUS, useValue: commands }, { provide: AUTH_OPTIONS, useValue: auth }, AuthGuard, CommandSender];
}
