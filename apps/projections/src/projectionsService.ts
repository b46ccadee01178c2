import { PROJECTIONS_CONTEXT } from '@gatehouse/contracts';
import { nestService, type ServiceDefinition } from '@gatehouse/service-kit';
import { Module } from '@nestjs/common';
import { LiveReadModel, ProjectionsController } from './projections.controller.js';

@Module({ controllers: [ProjectionsController], providers: [LiveReadModel] })
export class ProjectionsModule {}

/**
 * Projections: ops read models over the whole log, served by `projections.query` (projections.controller.ts:
 * `@MessagePattern` for the query, `@EventPattern` for the live replay subscription).
 */
export const projectionsService: ServiceDefinition = nestService(PROJECTIONS_CONTEXT, ProjectionsModule);
