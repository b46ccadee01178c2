import type { TestingGate } from '@gatehouse/policy';
import { DeciderSpecification } from '@gatehouse/testing';
import { ReasonRequiredError } from '../errors.js';
import { evaluateTestingGates, GateNotOverridableError, gateRecordDecider, UnknownGateError, type GateResult } from './testingGates.js';

/** The seeds' staging gates. */
const stagingGates: TestingGate[] = [
  { id: 'integration-tests', name: 'Integration Tests', environment: 'staging', tests: ['api-tests', 'database-tests'], required: true, timeoutMinutes: 20, onFailure: 'block' },
  { id: 'e2e-tests', name: 'E2E Tests', environment: 'staging', tests: ['user-journey-tests', 'critical-path-tests'], required: true, timeoutMinutes: 30, onFailure: 'warn' },
  { id: 'performance-tests', name: 'Performance Tests', environment: 'staging', tests: ['load-tests', 'stress-tests'], required: false, timeoutMinutes: 60, onFailure: 'warn' },
  { id: 'security-tests', name: 'Security Tests', environment: 'staging', tests: ['sast', 'dast', 'dependency-scan'], required: true, timeoutMinutes: 15, onFailure: 'block' },
];
const NOW = new Date('2026-03-30T14:00:00Z'); // quarter-end week 2026
const started = '2026-03-30T13:00:00Z';
const passed = (gateId: string): GateResult => ({ gateId, status: 'passed', startedAt: started, finishedAt: '2026-03-30T13:10:00Z' });
const allPassed = stagingGates.map((g) => passed(g.id));
const effects = (verdict: ReturnType<typeof evaluateTestingGates>) => Object.fromEntries(verdict.reasons.map((r) => [r.gateId, r.effect]));

describe('testing gates: evaluation', () => {
  it('all gates passed → allowed, with a reason per gate', () => {
    const verdict = evaluateTestingGates({ gates: stagingGates, results: allPassed, now: NOW });
    expect(verdict.allowed).toBe(true);
    expect(verdict.reasons).toHaveLength(4);
  });

  it('a failed block gate blocks', () => {
    const verdict = evaluateTestingGates({ gates: stagingGates, results: [...allPassed, { gateId: 'security-tests', status: 'failed', startedAt: '2026-03-30T13:30:00Z' }], now: NOW });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons.find((r) => r.gateId === 'security-tests')).toMatchObject({ outcome: 'failed', effect: 'blocks' });
  });

  it('the latest result of a gate counts (a re-run that passed unblocks)', () => {
    const rerun = [{ gateId: 'security-tests', status: 'failed' as const, startedAt: '2026-03-30T12:00:00Z' }, ...allPassed];
    expect(evaluateTestingGates({ gates: stagingGates, results: rerun, now: NOW }).allowed).toBe(true);
  });

  it('a gate still running past its timeout counts as failed', () => {
    const results = [...allPassed.filter((r) => r.gateId !== 'integration-tests'), { gateId: 'integration-tests', status: 'running' as const, startedAt: '2026-03-30T13:39:00Z' }];
    const verdict = evaluateTestingGates({ gates: stagingGates, results, now: NOW });
    expect(verdict.reasons[0]).toMatchObject({ outcome: 'timed_out', effect: 'blocks' });
    expect(verdict.reasons[0]?.message).toContain('timed out after 20 min');
    // one minute earlier it was still within its timeout: pending, still not allowed to deploy
    const pending = evaluateTestingGates({ gates: stagingGates, results, now: new Date('2026-03-30T13:59:00Z') });
    expect(pending.reasons[0]).toMatchObject({ outcome: 'running', effect: 'pending' });
    expect(pending.allowed).toBe(false);
  });

  it('a required gate with no result blocks as "not run"; an optional one is info', () => {
    const verdict = evaluateTestingGates({ gates: stagingGates, results: [passed('integration-tests'), passed('e2e-tests')], now: NOW });
    expect(effects(verdict)).toEqual({ 'integration-tests': 'ok', 'e2e-tests': 'ok', 'performance-tests': 'info', 'security-tests': 'blocks' });
    expect(verdict.reasons[3]?.message).toBe('Security Tests is required but has not run');
  });

  it('a failed warn gate blocks until overridden, then shows who overrode it and why', () => {
    const results = [...allPassed, { gateId: 'e2e-tests', status: 'failed' as const, startedAt: '2026-03-30T13:20:00Z' }];
    const blocked = evaluateTestingGates({ gates: stagingGates, results, now: NOW });
    expect(blocked.allowed).toBe(false);
    expect(effects(blocked)['e2e-tests']).toBe('needs_override');
    const override = { gateId: 'e2e-tests', actor: 'tom', reason: 'flaky Safari journey, tracked in QA-91', at: '2026-03-30T13:50:00Z' };
    const overridden = evaluateTestingGates({ gates: stagingGates, results, overrides: [override], now: NOW });
    expect(overridden.allowed).toBe(true);
    expect(overridden.reasons[1]).toMatchObject({ effect: 'overridden', override });
  });

  it('an ignore gate failing is informational only', () => {
    const gates = [{ ...stagingGates[2]!, onFailure: 'ignore' as const }];
    const verdict = evaluateTestingGates({ gates, results: [{ gateId: 'performance-tests', status: 'timed_out', startedAt: started }], now: NOW });
    expect(verdict).toMatchObject({ allowed: true, reasons: [{ effect: 'info', outcome: 'timed_out' }] });
  });
});

describe('testing gates: recording results and overrides', () => {
  const spec = DeciderSpecification.for(gateRecordDecider);
  const override = (gateId: string, reason: string) =>
    ({ type: 'OverrideWarnGate', data: { releaseId: 'rel-1', environment: 'staging', gates: stagingGates, gateId, actor: 'tom', reason, now: NOW } }) as const;

  it('records an override of a warn gate with actor and reason', () => {
    spec
      .given([])
      .when(override('e2e-tests', 'flaky, tracked in QA-91'))
      .then([{ type: 'WarnGateOverridden', data: { releaseId: 'rel-1', environment: 'staging', override: { gateId: 'e2e-tests', actor: 'tom', reason: 'flaky, tracked in QA-91', at: NOW.toISOString() } } }]);
  });

  it('refuses an override without a reason', () => {
    spec.given([]).when(override('e2e-tests', '   ')).thenThrows(ReasonRequiredError, (e) => e.action === 'overriding E2E Tests');
  });

  it('refuses overriding a block gate', () => {
    spec.given([]).when(override('security-tests', 'ship it')).thenThrows(GateNotOverridableError, (e) => e.onFailure === 'block');
  });

  it('refuses results for a gate the environment does not have', () => {
    spec
      .given([])
      .when({ type: 'RecordGateResult', data: { releaseId: 'rel-1', environment: 'staging', gates: stagingGates, result: { gateId: 'unit-tests', status: 'passed', startedAt: started } } })
      .thenThrows(UnknownGateError, (e) => e.gateId === 'unit-tests');
  });
});
