export { ProjectionsModule, projectionsService } from './projectionsService.js';
export { queryReadModel } from './query.js';
export * from './readModel.js';
export { ProjectionQueryPayload, PROJECTIONS_CONTEXT, type ProjectionQueryResult, type ProjectionView } from '@gatehouse/contracts';
