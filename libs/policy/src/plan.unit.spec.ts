import { DEFAULT_CANARY, interval, planDeployment, planFitsWindow, StrategyPolicy } from './index.js';

const start = new Date('2026-12-01T10:00:00Z');
const steps = (plan: ReturnType<typeof planDeployment>) => plan.steps.map((s) => [s.trafficPercent, s.startOffsetMinutes, s.durationMinutes, s.analysis]);

const productionStrategy = StrategyPolicy.parse({
  default: 'canary',
  allowed: ['canary', 'blue-green'],
  canary: { steps: [5, 25, 100], totalMinutes: 120 },
  blueGreen: { warmupMinutes: 15, verifyMinutes: 15 },
  rollingUpdate: { batches: 4, minutesPerBatch: 10 },
  featureFlag: { steps: [10, 50, 100], totalMinutes: 60 },
  bigBang: { minutes: 10 },
});

describe('planDeployment', () => {
  it('canary 5% → 25% → 100% over 120 min: three 40-minute steps, each analysed', () => {
    const plan = planDeployment(productionStrategy, 'canary', { start });
    expect(steps(plan)).toEqual([
      [5, 0, 40, true],
      [25, 40, 40, true],
      [100, 80, 40, true],
    ]);
    expect(plan.totalMinutes).toBe(120);
    expect(plan.end.toISOString()).toBe('2026-12-01T12:00:00.000Z');
  });

  it('blue-green: deploy and warm up green, verify, switch all traffic, keep blue for rollback', () => {
    const plan = planDeployment(productionStrategy, 'blue-green', { start });
    expect(plan.steps.map((s) => s.name)).toEqual(['deploy green and warm up', 'verify green (smoke tests, health checks)', 'switch traffic from blue to green', 'keep blue idle for rollback']);
    expect(steps(plan)).toEqual([
      [0, 0, 15, false],
      [0, 15, 15, true],
      [100, 30, 0, true],
      [100, 30, 0, false],
    ]);
    expect(plan.totalMinutes).toBe(30);
  });

  it('rolling update replaces instances batch by batch', () => {
    expect(steps(planDeployment(productionStrategy, 'rolling-update', { start }))).toEqual([
      [25, 0, 10, true],
      [50, 10, 10, true],
      [75, 20, 10, true],
      [100, 30, 10, true],
    ]);
  });

  it('feature flag ships dark, then opens the flag step by step', () => {
    expect(steps(planDeployment(productionStrategy, 'feature-flag', { start }))).toEqual([
      [0, 0, 0, false],
      [10, 0, 20, true],
      [50, 20, 20, true],
      [100, 40, 20, true],
    ]);
  });

  it('big bang is one step', () => {
    expect(steps(planDeployment(productionStrategy, 'big-bang', { start }))).toEqual([[100, 0, 10, true]]);
  });

  it('an unconfigured strategy uses the named defaults; uneven minutes go to the last step', () => {
    const bare = StrategyPolicy.parse({ default: 'canary', allowed: ['canary'] });
    expect(planDeployment(bare, 'canary', { start }).totalMinutes).toBe(DEFAULT_CANARY.totalMinutes);
    const uneven = StrategyPolicy.parse({ default: 'canary', allowed: ['canary'], canary: { steps: [10, 100], totalMinutes: 45 } });
    expect(steps(planDeployment(uneven, 'canary', { start }))).toEqual([
      [10, 0, 22, true],
      [100, 22, 23, true],
    ]);
  });
});

describe('planFitsWindow', () => {
  const window = interval(Date.parse('2026-12-01T10:00:00Z'), Date.parse('2026-12-01T12:00:00Z'));

  it('a 120-minute canary starting at the window start fits exactly (the window is half-open)', () => {
    expect(planFitsWindow(planDeployment(productionStrategy, 'canary', { start }), window)).toBe(true);
  });

  it('the same canary starting at 11:00 does not fit', () => {
    expect(planFitsWindow(planDeployment(productionStrategy, 'canary', { start: new Date('2026-12-01T11:00:00Z') }), window)).toBe(false);
  });

  it('a plan starting before the window does not fit', () => {
    expect(planFitsWindow(planDeployment(productionStrategy, 'big-bang', { start: new Date('2026-12-01T09:55:00Z') }), window)).toBe(false);
  });
});
