/**
 * Risk score of a change, stated with its factors so a reviewer sees why it is "high".
 * Additive model: each factor has a weight (points per level) and a level; contribution = weight × level.
 * Bands: < 30 low, < 55 medium, < 80 high, otherwise critical (max 125).
 */
export const IMPACTS = ['none', 'low', 'medium', 'high', 'system_wide'] as const;
export type Impact = (typeof IMPACTS)[number];
export const LIKELIHOODS = ['low', 'medium', 'high'] as const;
export type Likelihood = (typeof LIKELIHOODS)[number];
export const CHANGE_SIZES = ['small', 'medium', 'large'] as const;
export type ChangeSize = (typeof CHANGE_SIZES)[number];
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];
/** How exposed an environment is: internal (development), pre-production (staging), production. */
export type EnvironmentExposure = 'internal' | 'pre_production' | 'production';

export interface RiskInputs {
  impact: Impact;
  likelihood: Likelihood;
  includesMigration: boolean;
  /** The most exposed environment the change touches. */
  exposure: EnvironmentExposure;
  size: ChangeSize;
  /** Emergency change, or one deployed outside the environment's windows. */
  offWindowOrEmergency: boolean;
  security: boolean;
}

export interface RiskFactor {
  name: 'impact' | 'likelihood' | 'migration' | 'environment' | 'size' | 'off_window_or_emergency' | 'security';
  /** Points per level. */
  weight: number;
  /** The input level, as a number (0 = absent). */
  level: number;
  contribution: number;
  detail: string;
}

export interface RiskAssessment {
  score: number;
  level: RiskLevel;
  factors: RiskFactor[];
}

export const RISK_WEIGHTS = {
  impact: 10,
  likelihood: 10,
  migration: 15,
  environment: 5,
  size: 5,
  offWindowOrEmergency: 10,
  security: 10,
} as const;

/** Lower bounds (inclusive) of each band above low. */
export const RISK_BANDS: ReadonlyArray<readonly [RiskLevel, number]> = [
  ['critical', 80],
  ['high', 55],
  ['medium', 30],
];

const IMPACT_LEVEL: Record<Impact, number> = { none: 0, low: 1, medium: 2, high: 3, system_wide: 4 };
const LIKELIHOOD_LEVEL: Record<Likelihood, number> = { low: 1, medium: 2, high: 3 };
const EXPOSURE_LEVEL: Record<EnvironmentExposure, number> = { internal: 0, pre_production: 1, production: 2 };
const SIZE_LEVEL: Record<ChangeSize, number> = { small: 0, medium: 1, large: 2 };

export function assessRisk(inputs: RiskInputs): RiskAssessment {
  const factor = (name: RiskFactor['name'], weight: number, level: number, detail: string): RiskFactor => ({ name, weight, level, contribution: weight * level, detail });
  const factors: RiskFactor[] = [
    factor('impact', RISK_WEIGHTS.impact, IMPACT_LEVEL[inputs.impact], `impact ${inputs.impact}`),
    factor('likelihood', RISK_WEIGHTS.likelihood, LIKELIHOOD_LEVEL[inputs.likelihood], `likelihood ${inputs.likelihood}`),
    factor('migration', RISK_WEIGHTS.migration, inputs.includesMigration ? 1 : 0, inputs.includesMigration ? 'includes a database migration' : 'no migration'),
    factor('environment', RISK_WEIGHTS.environment, EXPOSURE_LEVEL[inputs.exposure], `reaches ${inputs.exposure.replace('_', '-')}`),
    factor('size', RISK_WEIGHTS.size, SIZE_LEVEL[inputs.size], `${inputs.size} change`),
    factor('off_window_or_emergency', RISK_WEIGHTS.offWindowOrEmergency, inputs.offWindowOrEmergency ? 1 : 0, inputs.offWindowOrEmergency ? 'emergency or outside deployment windows' : 'inside normal windows'),
    factor('security', RISK_WEIGHTS.security, inputs.security ? 1 : 0, inputs.security ? 'security-sensitive change' : 'not security-sensitive'),
  ];
  const score = factors.reduce((sum, f) => sum + f.contribution, 0);
  return { score, level: riskLevelFor(score), factors };
}

export function riskLevelFor(score: number): RiskLevel {
  return RISK_BANDS.find(([, min]) => score >= min)?.[0] ?? 'low';
}

export function mostExposed(exposures: readonly EnvironmentExposure[]): EnvironmentExposure {
  return exposures.reduce<EnvironmentExposure>((max, e) => (EXPOSURE_LEVEL[e] > EXPOSURE_LEVEL[max] ? e : max), 'internal');
}
