import { jestConfig } from '../../jest.preset.js';

// Each suite starts whole systems (up to eight processes), with room for clock-driven lifecycles; run-tests.sh runs
// most of them two at a time and the timing-under-stress ones (kill storm, outages) alone.
export default jestConfig({ testTimeout: 300_000 });
