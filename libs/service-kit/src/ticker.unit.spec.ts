import { startTicker } from './ticker.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('startTicker', () => {
  it('never overlaps runs, keeps ticking after a failure, and stop() waits for the run in progress', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const errors: unknown[] = [];
    const ticker = startTicker(
      2,
      async () => {
        runs += 1;
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await sleep(10);
        concurrent -= 1;
        if (runs === 1) throw new Error('first run fails');
      },
      (error) => errors.push(error),
    );
    await sleep(60);
    await ticker.stop();
    expect(concurrent).toBe(0);
    expect(maxConcurrent).toBe(1);
    expect(runs).toBeGreaterThan(1);
    expect(errors).toHaveLength(1);
    const after = runs;
    await sleep(20);
    expect(runs).toBe(after);
  });
});
