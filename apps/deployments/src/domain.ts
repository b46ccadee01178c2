// The deployment decider lives in libs/domain/src/deployment, which @gatehouse/domain's index does not export yet
// (its owner adds `export * from './deployment/index.js'`); until then it is imported from the folder itself.
export * from '../../../libs/domain/src/deployment/index.js';
