import { jestConfig } from '../../jest.preset.js';

// Each suite starts whole systems (up to eight processes): one suite at a time, with room for clock-driven lifecycles.
export default jestConfig({ testTimeout: 300_000 });
