import { assessRisk, riskLevelFor, type RiskInputs } from './riskScore.js';

const quiet: RiskInputs = { impact: 'none', likelihood: 'low', includesMigration: false, exposure: 'internal', size: 'small', offWindowOrEmergency: false, security: false };

describe('risk score', () => {
  it('lists every factor with weight and contribution, summing to the score', () => {
    const risk = assessRisk({ impact: 'high', likelihood: 'medium', includesMigration: true, exposure: 'production', size: 'large', offWindowOrEmergency: true, security: true });
    expect(risk.factors.map((f) => [f.name, f.weight, f.contribution])).toEqual([
      ['impact', 10, 30],
      ['likelihood', 10, 20],
      ['migration', 15, 15],
      ['environment', 5, 10],
      ['size', 5, 10],
      ['off_window_or_emergency', 10, 10],
      ['security', 10, 10],
    ]);
    expect(risk.score).toBe(105);
    expect(risk.level).toBe('critical');
  });

  it('maps the quietest change to low', () => {
    expect(assessRisk(quiet)).toMatchObject({ score: 10, level: 'low' });
  });

  it('a migration alone lifts a low change to medium', () => {
    expect(assessRisk({ ...quiet, impact: 'low', includesMigration: true })).toMatchObject({ score: 35, level: 'medium' });
  });

  it.each([
    [29, 'low'],
    [30, 'medium'],
    [54, 'medium'],
    [55, 'high'],
    [79, 'high'],
    [80, 'critical'],
  ] as const)('score %i is %s (band edges)', (score, level) => {
    expect(riskLevelFor(score)).toBe(level);
  });
});
