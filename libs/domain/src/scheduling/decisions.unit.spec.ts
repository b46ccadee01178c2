import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySet } from '@gatehouse/policy';
import { decideBooking, decideMove, decideReplan, decideReschedule, decideStart } from './decisions.js';
import { emptySchedulingFacts, type GovernanceFact, majorReleasesOf, recordFact, type SchedulingFacts } from './governance.js';
import type { Booking } from './schedule.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const policySet = loadPolicySet(readdirSync(POLICIES).filter((f) => f.endsWith('.yaml')).map((name) => ({ name, contents: readFileSync(path.join(POLICIES, name), 'utf8') })));
const V = policySet.policyVersion;

/** Given these facts (folded into the governance read model as scheduling folds them). */
function given(facts: GovernanceFact[]): SchedulingFacts {
  const model = emptySchedulingFacts();
  facts.forEach((f) => recordFact(model, f));
  return model;
}
const released = (releaseId: string, service: string, releaseType = 'minor', changes: { kind: string; description: string }[] = []): GovernanceFact => ({
  type: 'ReleasePlanned',
  data: { releaseId, service, version: releaseType === 'major' ? '3.0.0' : '1.4.0', releaseType, changes },
});
const submitted = (changeRequestId: string, releaseId: string, environment: string, planned: string, kind: Booking['changeType'] = 'normal'): GovernanceFact => ({
  type: 'ChangeRequestSubmitted',
  data: { changeRequestId, kind, draft: { releaseId, environments: [environment], schedule: { planned }, author: 'ana', includesMigration: false, runbookRef: 'RB-1' } },
});
const booking = (changeRequestId: string, releaseId: string, service: string, environment: string, scheduledFor: string): Booking => ({
  changeRequestId,
  releaseId,
  service,
  version: '1.4.0',
  environment,
  changeType: 'normal',
  strategy: environment === 'production' ? 'canary' : 'rolling-update',
  scheduledFor,
  policyVersion: V,
});
const scheduled = (b: Booking): GovernanceFact => ({ type: 'DeploymentScheduled', data: { ...b, bookedAt: '2026-11-30T09:00:00.000Z' } });
const gate = (releaseId: string, gateId: string, status: 'passed' | 'failed'): GovernanceFact => ({
  type: 'GateResultRecorded',
  data: { releaseId, environment: 'production', result: { gateId, status, startedAt: '2026-11-30T08:00:00Z', finishedAt: '2026-11-30T08:10:00Z' } },
});
const TUESDAY_SLOT = '2026-12-01T10:00:00.000Z';
const prod = booking('cr-p', 'rel-a', 'campaign-api', 'production', TUESDAY_SLOT);

describe('start decision: the policy and the gates at the moment the timer fires', () => {
  it('given no gate results, when the slot comes, then the start is blocked naming every required gate', () => {
    const decision = decideStart(policySet, given([released('rel-a', 'campaign-api'), scheduled(prod)]), prod, TUESDAY_SLOT, new Date(TUESDAY_SLOT));
    expect(decision.decision).toBe('block');
    const reasons = decision.decision === 'block' ? decision.reasons.join('\n') : '';
    expect(reasons).toMatch(/production\/testingGates\/integration-tests: Integration Tests is required but has not run/);
    expect(reasons).toMatch(/production\/testingGates\/security-tests/);
    expect(reasons).not.toMatch(/performance-tests/); // optional: informs, never stops
  });

  it('given a failed warn gate, then blocked until overridden; given the override, then it starts', () => {
    const passedBlocking = [gate('rel-a', 'integration-tests', 'passed'), gate('rel-a', 'security-tests', 'passed'), gate('rel-a', 'e2e-tests', 'failed')];
    const facts = given([released('rel-a', 'campaign-api'), scheduled(prod), ...passedBlocking]);
    const blocked = decideStart(policySet, facts, prod, TUESDAY_SLOT, new Date(TUESDAY_SLOT));
    expect(blocked).toEqual({ decision: 'block', reasons: [expect.stringMatching(/^production\/testingGates\/e2e-tests: E2E Tests failed; deploy only after an override/)] });
    recordFact(facts, { type: 'WarnGateOverridden', data: { releaseId: 'rel-a', environment: 'production', override: { gateId: 'e2e-tests', actor: 'tess', reason: 'flaky login journey', at: '2026-11-30T09:00:00Z' } } });
    expect(decideStart(policySet, facts, prod, TUESDAY_SLOT, new Date(TUESDAY_SLOT)).decision).toBe('start');
  });

  it('given a timer that fires after the window closed, then re-booked into the next allowed slot with the reason', () => {
    const staging = booking('cr-s', 'rel-b', 'billing-api', 'staging', '2026-12-03T14:00:00.000Z');
    const facts = given([released('rel-b', 'billing-api'), submitted('cr-s', 'rel-b', 'staging', '2026-12-03T09:00:00Z'), scheduled(staging)]);
    const decision = decideStart(policySet, facts, staging, staging.scheduledFor, new Date('2026-12-03T16:00:00Z'));
    expect(decision).toMatchObject({ decision: 'rebook', scheduledFor: new Date('2026-12-04T14:00:00Z') });
    expect(decision.decision === 'rebook' && decision.reason).toMatch(/^missed slot 2026-12-03T14:00:00.000Z: the start came at 2026-12-03T16:00Z, when staging\/windows\/daily-1400/);
  });

  it('given a timer armed for a slot the booking has left, then nothing starts', () => {
    expect(decideStart(policySet, given([released('rel-a', 'campaign-api'), scheduled(prod)]), prod, '2026-11-26T10:00:00Z', new Date(TUESDAY_SLOT))).toEqual({ decision: 'stale' });
  });
});

describe('major releases and the staging freeze', () => {
  const major = booking('cr-m', 'rel-m', 'search-api', 'production', '2026-12-08T10:00:00.000Z');
  const stagingMonday = booking('cr-s', 'rel-b', 'billing-api', 'staging', '2026-12-07T14:00:00.000Z');
  const before = [released('rel-b', 'billing-api'), submitted('cr-s', 'rel-b', 'staging', '2026-12-07T13:00:00Z'), scheduled(stagingMonday), released('rel-m', 'search-api', 'major')];

  it('given a major release booked to production, then it is a freeze date; planned and withdrawn changes count as they stand', () => {
    const facts = given([...before, submitted('cr-m', 'rel-m', 'production', '2026-12-08T09:00:00Z'), scheduled(major)]);
    expect(majorReleasesOf(facts)).toEqual([{ scheduledAt: new Date('2026-12-08T10:00:00Z'), name: 'major release search-api 3.0.0 (booked)' }]);
    const plannedOnly = given([...before, submitted('cr-m2', 'rel-m', 'production', '2026-12-10T10:00:00Z')]);
    expect(majorReleasesOf(plannedOnly)).toEqual([{ scheduledAt: new Date('2026-12-10T10:00:00Z'), name: 'major release search-api 3.0.0 (planned)' }]);
    recordFact(plannedOnly, { type: 'ChangeCancelled', data: { changeRequestId: 'cr-m2' } });
    expect(majorReleasesOf(plannedOnly)).toEqual([]);
  });

  it('given staging work booked inside the freeze of a major release booked later, then the re-plan moves it past the release, saying why', () => {
    const facts = given([...before, scheduled(major)]);
    const steps = decideReplan(policySet, facts, new Date('2026-12-04T16:00:00Z'), 'major release search-api 3.0.0 booked');
    expect(steps).toEqual([expect.objectContaining({ changeRequestId: 'cr-s', decision: 'move', scheduledFor: new Date('2026-12-08T14:00:00Z') })]);
    expect(steps[0]?.decision === 'move' && steps[0].reason).toMatch(/^major release search-api 3.0.0 booked: 2026-12-07T14:00:00.000Z is no longer allowed \(staging\/freezes\/major-release-freeze: staging is in change freeze/);
  });

  it('given the major release booked, then neither a booking nor a move lands in the freeze', () => {
    const facts = given([...before.slice(0, 2), released('rel-m', 'search-api', 'major'), scheduled(major), submitted('cr-n', 'rel-b', 'staging', '2026-12-06T13:00:00Z')]);
    const booked = decideBooking(policySet, facts, 'cr-n', new Date('2026-12-04T16:00:00Z'));
    expect(booked).toMatchObject({ decision: 'book', booking: { scheduledFor: '2026-12-08T14:00:00.000Z' } });
    const move = decideMove(policySet, facts, stagingMonday, new Date('2026-12-07T14:00:00Z'), new Date('2026-12-04T16:00:00Z'));
    expect(move.allowed).toBe(false);
    expect(!move.allowed && move.reasons.join()).toMatch(/staging\/freezes\/major-release-freeze/);
    const past = decideMove(policySet, facts, stagingMonday, new Date('2026-12-03T14:00:00Z'), new Date('2026-12-04T16:00:00Z'));
    expect(past).toMatchObject({ allowed: false, reasons: [expect.stringMatching(/^staging\/schedule\/not-in-the-past: 2026-12-03T14:00Z has passed/)] });
  });

  it('given the major release went out, then its production change no longer counts as planned', () => {
    const facts = given([...before, submitted('cr-m', 'rel-m', 'production', '2026-12-08T09:00:00Z'), scheduled(major)]);
    recordFact(facts, { type: 'DeploymentDue', data: { changeRequestId: 'cr-m', releaseId: 'rel-m', service: 'search-api', version: '3.0.0', environment: 'production', changeType: 'normal', strategy: 'canary', dueAt: major.scheduledFor } });
    expect(majorReleasesOf(facts)).toEqual([]);
  });
});

describe('release cadence at booking', () => {
  const lastMinor: GovernanceFact[] = [
    released('rel-old', 'campaign-api'),
    scheduled(booking('cr-old', 'rel-old', 'campaign-api', 'production', '2026-11-19T10:00:00.000Z')),
    { type: 'DeploymentDue', data: { changeRequestId: 'cr-old', releaseId: 'rel-old', service: 'campaign-api', version: '1.4.0', environment: 'production', changeType: 'normal', strategy: 'canary', dueAt: '2026-11-19T10:00:00.000Z' } },
    released('rel-a', 'campaign-api'),
    submitted('cr-p', 'rel-a', 'production', '2026-11-30T09:00:00Z'),
  ];
  const NOW = new Date('2026-11-30T09:00:00Z');

  it('given a minor release of the service 12 days ago and a policy that warns, then booked with the cadence warning on the booking', () => {
    const decision = decideBooking(policySet, given(lastMinor), 'cr-p', NOW);
    expect(decision).toMatchObject({ decision: 'book', booking: { scheduledFor: '2026-12-01T10:00:00.000Z', warnings: [expect.stringMatching(/^production\/cadence\/minor: cadence warning/)] } });
  });

  it('given a policy that refuses a broken cadence, then the booking is refused with the rule named', () => {
    const production = policySet.environments['production']!;
    const strict = { ...policySet, environments: { ...policySet.environments, production: { ...production, cadence: { ...production.cadence!, onViolation: 'refuse' as const } } } };
    const decision = decideBooking(strict, given(lastMinor), 'cr-p', NOW);
    expect(decision).toMatchObject({ decision: 'refuse', reasons: [expect.stringMatching(/^production\/cadence\/minor: campaign-api deployed a minor release to production at 2026-11-19T10:00Z/)] });
  });
});

describe('reschedule decision', () => {
  const facts = () => given([released('rel-a', 'campaign-api'), scheduled(prod)]);
  const NOW = new Date('2026-11-30T09:00:00Z');

  it('given no time, then the next allowed slot after the current window', () => {
    expect(decideReschedule(policySet, facts(), prod, undefined, NOW)).toEqual({ allowed: true, scheduledFor: new Date('2026-12-03T10:00:00Z'), windowId: 'tue-thu-morning', policyVersion: V });
  });

  it('given a time in the closed hours, then refused with the window rule and the next allowed start', () => {
    const decision = decideReschedule(policySet, facts(), prod, new Date('2026-12-02T10:00:00Z'), NOW);
    expect(decision).toMatchObject({ allowed: false, requestedAt: new Date('2026-12-02T10:00:00Z'), nextAllowedAt: new Date('2026-12-03T10:00:00Z') });
    expect(!decision.allowed && decision.reasons[0]).toMatch(/^production\/windows\/tue-thu-morning: /);
  });
});
