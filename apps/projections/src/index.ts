export { ProjectionsModule, projectionsService } from './projectionsService.js';
export { FOLDING_SEMI_SPACE_MB, sizeHeapForFolding } from './heap.js';
export { answerQuery, queryReadModel, type ReadModelQuery } from './query.js';
export { CHANGE_STREAM_CATEGORIES, historyEntryOf, readChangeHistory } from './changeHistory.js';
export * from './readModel.js';
export { ReadModelTables, CheckpointMovedError, REBUILD_ROWS_PER_STATEMENT, WRITE_BATCH_EVENTS, type ReadModelState } from './readModelTables.js';
export { ReadModelKeeper, type RebuildReport } from './readModelKeeper.js';
export { RebuildForbiddenError } from './projectionsService.js';
export { ProjectionQueryPayload, PROJECTIONS_CONTEXT, type ProjectionQueryResult, type ProjectionView } from '@gatehouse/contracts';
