// The scheduling deciders live in libs/domain/src/scheduling, which @gatehouse/domain's index does not export yet
// (its owner adds `export * from './scheduling/index.js'`); until then they are imported from the folder itself.
export * from '../../../libs/domain/src/scheduling/index.js';
