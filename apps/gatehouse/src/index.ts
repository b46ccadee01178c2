export { startGatehouse, type RunningGatehouse, type StartGatehouseOptions } from './gatehouse.js';
