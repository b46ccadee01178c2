import { PROJECTIONS_CONTEXT, READ_MODEL_ADMIN_ROLES } from '@gatehouse/contracts';
import { DomainError } from '@gatehouse/domain';
import { nestService, type ServiceDefinition } from '@gatehouse/service-kit';
import { Module } from '@nestjs/common';
import { KeptReadModels, ProjectionsController } from './projections.controller.js';

@Module({ controllers: [ProjectionsController], providers: [KeptReadModels] })
export class ProjectionsModule {}

/**
 * Projections: ops read models over the whole log, served by `projections.query`. The models are kept in
 * tables of the service's own schema in the store's database with a checkpoint (readModelTables.ts), and
 * cached in memory: a start loads the tables and folds only the events after the checkpoint, then follows
 * the log. `projections.rebuild` (sre, release_engineer) rebuilds them from the whole log into fresh tables.
 * Declared in projections.controller.ts: the `@MessagePattern`s of both commands, and the keeper as a provider
 * started before the service listens and stopped with the module.
 */
export const projectionsService: ServiceDefinition = nestService(PROJECTIONS_CONTEXT, ProjectionsModule);

/** The caller holds none of READ_MODEL_ADMIN_ROLES; nothing was rebuilt. */
export class RebuildForbiddenError extends DomainError {
  override readonly name = 'RebuildForbiddenError';
  readonly code = 'REBUILD_FORBIDDEN' as const;
  constructor(readonly subject: string) {
    super(`${subject} may not rebuild the read models: it takes one of the roles ${READ_MODEL_ADMIN_ROLES.join(', ')}`);
  }
}
