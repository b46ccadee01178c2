import { readdirSync, readFileSync } from 'node:fs';
import {
  evaluateDeployment,
  InvalidEvaluationInputError,
  loadPolicySet,
  nextAllowedDeploymentTime,
  type Approval,
  type Decision,
  type DeploymentRequest,
} from './index.js';

const POLICY_DIR = new URL('../../../deploy/policies/', import.meta.url);
const policies = loadPolicySet(readdirSync(POLICY_DIR).map((name) => ({ name, contents: readFileSync(new URL(name, POLICY_DIR), 'utf8') })));

const PRODUCTION_TEAM: Approval[] = [
  { role: 'code_reviewer', approver: 'alice' },
  { role: 'tech_lead', approver: 'bob' },
  { role: 'sre', approver: 'carol' },
];
const HOTFIX_APPROVALS: Approval[] = [
  { role: 'tech_lead', approver: 'bob' },
  { role: 'sre', approver: 'carol' },
];
const VP: Approval = { role: 'vp_engineering', approver: 'victor' };

/** when: a change is evaluated for an environment at an instant. */
function when(environment: string, at: string, request: Partial<DeploymentRequest> = {}): Decision {
  return evaluateDeployment(policies, { environment, at: new Date(at), changeType: 'normal', ...request });
}
const denials = (decision: Decision) => decision.reasons.filter((r) => r.kind === 'deny');
const ruleIds = (decision: Decision) => denials(decision).map((r) => r.ruleId);

describe('production windows and blackouts', () => {
  it('a normal change on Wed 2026-11-25 10:30Z is refused for Black Friday week; next allowed Tue 2026-12-01 10:00Z', () => {
    const decision = when('production', '2026-11-25T10:30:00Z');
    expect(decision.allowed).toBe(false);
    expect(denials(decision).map((r) => r.message)).toContain(
      "production is in blackout 'Black Friday week' until 2026-11-28T00:00Z; emergency changes need VP Engineering approval",
    );
    expect(decision.nextAllowedAt?.toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(decision.reasons.every((r) => r.policyVersion === policies.policyVersion)).toBe(true);
  });

  it('inside the Tuesday window outside any blackout a normal change is allowed', () => {
    const decision = when('production', '2026-12-01T10:30:00Z');
    expect(decision.allowed).toBe(true);
    expect(decision.nextAllowedAt).toBeUndefined();
    expect(decision.reasons.find((r) => r.kind === 'allow')?.message).toBe(
      "2026-12-01T10:30Z is inside production window 'Tuesday/Thursday release window' (open until 2026-12-01T12:00Z); no blackout or freeze applies",
    );
  });

  it('the window is half-open: 12:00Z is already closed, and the next opening is Thursday', () => {
    const decision = when('production', '2026-12-01T12:00:00Z');
    expect(ruleIds(decision)).toEqual(['production/windows/tue-thu-morning']);
    expect(decision.nextAllowedAt?.toISOString()).toBe('2026-12-03T10:00:00.000Z');
  });

  it.each([
    ['Q1', '2026-03-31T10:30:00Z', '2026-04-02T10:00:00.000Z'],
    ['Q2', '2026-06-30T10:30:00Z', '2026-07-02T10:00:00.000Z'],
    ['Q3', '2026-09-29T10:30:00Z', '2026-10-01T10:00:00.000Z'],
    ['Q4', '2026-12-29T10:30:00Z', '2027-01-05T10:00:00.000Z'], // Dec 31 is quarter end, Jan 1–3 New Year's weekend
  ])('%s 2026 end: a Tuesday in the last 3 days is refused (%s), next allowed %s', (_quarter, at, next) => {
    const decision = when('production', at);
    expect(ruleIds(decision)).toEqual(['production/blackouts/quarter-end']);
    expect(decision.nextAllowedAt?.toISOString()).toBe(next);
  });

  it('Thursday 2026-03-26, before the quarter-end blackout, is allowed', () => {
    expect(when('production', '2026-03-26T11:59:00Z').allowed).toBe(true);
  });

  it('Thanksgiving Thursday is refused by Black Friday week and the Thanksgiving weekend, which lasts until Monday', () => {
    const decision = when('production', '2026-11-26T10:30:00Z');
    expect(ruleIds(decision)).toEqual(['production/blackouts/black-friday-week', 'production/blackouts/us-holiday-weekends']);
    expect(denials(decision)[1]?.message).toBe(
      "production is in blackout 'Major US holiday weekends: Thanksgiving Day' until 2026-11-30T00:00Z; emergency changes need VP Engineering approval",
    );
  });

  it('July 4th 2026 falls on Saturday and is observed Friday: an emergency on Friday needs the VP for the Independence Day weekend', () => {
    const decision = when('production', '2026-07-03T15:00:00Z', { changeType: 'emergency', approvals: HOTFIX_APPROVALS });
    expect(decision.allowed).toBe(false);
    expect(denials(decision).map((r) => r.message)).toContain(
      "production is in blackout 'Major US holiday weekends: Independence Day' until 2026-07-06T00:00Z; emergency changes need VP Engineering approval to deploy now",
    );
  });

  it('Memorial Day weekend ends Monday night: Tuesday 2026-05-26 10:00Z is allowed', () => {
    expect(when('production', '2026-05-26T10:00:00Z').allowed).toBe(true);
    expect(ruleIds(when('production', '2026-05-25T10:00:00Z', { changeType: 'emergency' }))).toContain('production/blackouts/us-holiday-weekends');
  });
});

describe('emergency changes', () => {
  it('without VP Engineering an emergency in a blackout is refused, saying who must approve', () => {
    const decision = when('production', '2026-11-25T10:30:00Z', { changeType: 'emergency', approvals: HOTFIX_APPROVALS });
    expect(decision.allowed).toBe(false);
    expect(ruleIds(decision)).toEqual(['production/windows/tue-thu-morning', 'production/blackouts/black-friday-week', 'production/approvals/vp_engineering']);
    expect(denials(decision)[1]?.message).toBe(
      "production is in blackout 'Black Friday week' until 2026-11-28T00:00Z; emergency changes need VP Engineering approval to deploy now",
    );
    expect(decision.requiredApprovals.map((r) => r.role)).toEqual(['tech_lead', 'sre', 'vp_engineering']);
  });

  it('with VP Engineering, Tech Lead and SRE on call the same emergency is allowed, and the bypassed rules are recorded', () => {
    const decision = when('production', '2026-11-25T10:30:00Z', { changeType: 'emergency', approvals: [...HOTFIX_APPROVALS, VP] });
    expect(decision.allowed).toBe(true);
    expect(decision.reasons.filter((r) => r.message.startsWith('bypassed')).map((r) => r.ruleId)).toEqual([
      'production/windows/tue-thu-morning',
      'production/blackouts/black-friday-week',
    ]);
    expect(decision.reasons.find((r) => r.ruleId === 'production/emergency/window-bypass')?.kind).toBe('allow');
  });

  it('the VP alone is not enough: the expedited Tech Lead + SRE approvals are still required', () => {
    const decision = when('production', '2026-11-25T10:30:00Z', { changeType: 'emergency', approvals: [VP] });
    expect(ruleIds(decision)).toEqual(['production/approvals/tech_lead', 'production/approvals/sre']);
  });

  it('where the bypass role is also an emergency approver (staging: Tech Lead), one approval in that role fills both', () => {
    const decision = when('staging', '2026-11-27T15:30:00Z', { changeType: 'emergency', approvals: [{ role: 'tech_lead', approver: 'tess' }] });
    expect(decision.requiredApprovals).toEqual([{ role: 'tech_lead', count: 1, onCall: false }]);
    expect(decision.allowed).toBe(true);
    expect(decision.reasons.find((r) => r.ruleId === 'staging/emergency/window-bypass')?.kind).toBe('allow');
  });

  it('inside an open window and outside blackouts an emergency needs no VP', () => {
    const decision = when('production', '2026-12-03T11:00:00Z', { changeType: 'emergency', approvals: HOTFIX_APPROVALS });
    expect(decision.allowed).toBe(true);
    expect(decision.requiredApprovals.map((r) => r.role)).toEqual(['tech_lead', 'sre']);
  });
});

describe('staging', () => {
  const majorRelease = { scheduledAt: new Date('2026-06-10T14:00:00Z'), name: 'v3.0.0' };

  it('the daily 14:00–15:00 UTC slot is open', () => {
    expect(when('staging', '2026-06-09T14:10:00Z').allowed).toBe(true);
    expect(when('staging', '2026-06-09T15:00:00Z').nextAllowedAt?.toISOString()).toBe('2026-06-10T14:00:00.000Z');
  });

  it('given a major release on Jun 10 14:00Z, a change 2 days before is refused by the freeze until the release', () => {
    const decision = when('staging', '2026-06-09T14:10:00Z', { context: { majorReleases: [majorRelease] } });
    expect(ruleIds(decision)).toEqual(['staging/freezes/major-release-freeze']);
    expect(denials(decision)[0]?.message).toBe(
      "staging is in change freeze 'Change freeze before a major release (v3.0.0 at 2026-06-10T14:00Z)' until 2026-06-10T14:00Z; emergency changes need Tech Lead approval",
    );
    expect(decision.nextAllowedAt?.toISOString()).toBe('2026-06-10T14:00:00.000Z');
  });

  it('the freeze does not stop an emergency change (hotfix validation)', () => {
    expect(when('staging', '2026-06-09T14:10:00Z', { changeType: 'emergency', context: { majorReleases: [majorRelease] } }).allowed).toBe(true);
  });
});

describe('strategy and plan fit', () => {
  it('a canary starting at 11:00 does not fit the 10:00–12:00 window; next allowed is the next window start', () => {
    const decision = when('production', '2026-12-01T11:00:00Z', { strategy: 'canary' });
    expect(decision.allowed).toBe(false);
    expect(denials(decision)).toEqual([
      expect.objectContaining({
        ruleId: 'production/strategy/plan-fits-window',
        message:
          "canary plan takes 120 min (2026-12-01T11:00Z–2026-12-01T13:00Z) but window 'Tuesday/Thursday release window' closes at 2026-12-01T12:00Z; start early enough for the whole plan to fit",
      }),
    ]);
    expect(decision.nextAllowedAt?.toISOString()).toBe('2026-12-03T10:00:00.000Z');
    expect(decision.plan?.totalMinutes).toBe(120);
  });

  it('the canary fits when it starts at the window start; a 30-minute blue-green fits at 11:00', () => {
    expect(when('production', '2026-12-01T10:00:00Z', { strategy: 'canary' }).allowed).toBe(true);
    expect(when('production', '2026-12-01T11:00:00Z', { strategy: 'blue-green' }).allowed).toBe(true);
  });

  it('a strategy the environment does not allow is refused (no later time helps)', () => {
    const decision = when('production', '2026-12-01T10:00:00Z', { strategy: 'big-bang' });
    expect(denials(decision)).toEqual([expect.objectContaining({ ruleId: 'production/strategy/allowed', message: "strategy 'big-bang' is not allowed in production; use one of canary, blue-green (default canary)" })]);
    expect(decision.nextAllowedAt).toBeUndefined();
  });

  it('nextAllowedDeploymentTime with a strategy returns the first start where the whole plan fits', () => {
    expect(nextAllowedDeploymentTime(policies, 'production', new Date('2026-12-01T10:01:00Z'), { strategy: 'canary' })?.toISOString()).toBe('2026-12-03T10:00:00.000Z');
    expect(nextAllowedDeploymentTime(policies, 'production', new Date('2026-12-01T10:01:00Z'), { strategy: 'blue-green' })?.toISOString()).toBe('2026-12-01T10:01:00.000Z');
  });
});

describe('approvals and requirements', () => {
  const inWindow = '2026-12-01T10:30:00Z';

  it('Code Reviewer + Tech Lead + SRE by three people: allowed', () => {
    expect(when('production', inWindow, { approvals: PRODUCTION_TEAM, author: 'dave', hasRunbook: true }).allowed).toBe(true);
  });

  it('the author cannot approve their own change', () => {
    expect(ruleIds(when('production', inWindow, { approvals: PRODUCTION_TEAM, author: 'alice' }))).toEqual(['production/approvals/code_reviewer']);
  });

  it('one person cannot fill two required roles', () => {
    const approvals: Approval[] = [...PRODUCTION_TEAM.slice(0, 2), { role: 'sre', approver: 'bob' }];
    expect(ruleIds(when('production', inWindow, { approvals }))).toEqual(['production/approvals/sre']);
  });

  it('a database migration needs the separate DBA approval', () => {
    expect(ruleIds(when('production', inWindow, { approvals: PRODUCTION_TEAM, includesMigration: true }))).toEqual(['production/approvals/dba']);
    expect(when('production', inWindow, { approvals: [...PRODUCTION_TEAM, { role: 'dba', approver: 'erin' }], includesMigration: true }).allowed).toBe(true);
  });

  it('a change without runbook documentation is refused in production', () => {
    expect(ruleIds(when('production', inWindow, { hasRunbook: false }))).toEqual(['production/requirements/runbook']);
  });

  it('standard (pre-approved) changes need no approvals where the policy lists templates, but still respect windows', () => {
    expect(when('staging', '2026-12-02T14:30:00Z', { changeType: 'standard', approvals: [] }).allowed).toBe(true);
    expect(when('staging', '2026-12-02T10:30:00Z', { changeType: 'standard', approvals: [] }).allowed).toBe(false);
  });

  it('a standard change to production is not pre-approved: production’s policy lists no template', () => {
    const decision = when('production', inWindow, { changeType: 'standard', approvals: [] });
    expect(decision.allowed).toBe(false);
    expect(decision.requiredApprovals.map((r) => r.role)).toEqual(['code_reviewer', 'tech_lead', 'sre']);
  });

  it('staging needs Code Reviewer + Tech Lead; development needs only a code review and deploys any time', () => {
    expect(when('staging', '2026-12-02T14:30:00Z').requiredApprovals.map((r) => r.role)).toEqual(['code_reviewer', 'tech_lead']);
    const dev = when('development', '2026-11-26T03:17:00Z', { approvals: [{ role: 'code_reviewer', approver: 'alice' }] });
    expect(dev.allowed).toBe(true);
    expect(dev.requiredApprovals.map((r) => r.role)).toEqual(['code_reviewer']);
  });
});

describe('time zones in evaluation', () => {
  const berlin = loadPolicySet([
    {
      name: 'eu.yaml',
      contents: `apiVersion: gatehouse/v1
kind: EnvironmentPolicy
environment: eu
purpose: EU business hours
clusters: []
regions: [eu-central-1]
access: { deploy: [sre] }
frequency: { mode: windowed, description: weekdays 10:00-12:00 Berlin time }
windows:
  - { id: berlin-morning, name: Berlin morning, days: [mon, tue, wed, thu, fri], start: "10:00", end: "12:00", timeZone: Europe/Berlin }
approvals: { required: [] }
emergency: { allowed: false, approvals: [] }
rollback: { automatic: {} }
strategy: { default: big-bang, allowed: [big-bang] }
monitoring: { postDeploymentHours: 0 }
requirements: {}
`,
    },
  ]);

  it('before the switch to summer time (Fri 27 Mar) 08:30Z is 09:30 in Berlin: refused, next 09:00Z', () => {
    const decision = evaluateDeployment(berlin, { environment: 'eu', at: new Date('2026-03-27T08:30:00Z'), changeType: 'normal' });
    expect(decision.allowed).toBe(false);
    expect(decision.nextAllowedAt?.toISOString()).toBe('2026-03-27T09:00:00.000Z');
  });

  it('after the switch (Mon 30 Mar) 08:30Z is 10:30 in Berlin: allowed', () => {
    expect(evaluateDeployment(berlin, { environment: 'eu', at: new Date('2026-03-30T08:30:00Z'), changeType: 'normal' }).allowed).toBe(true);
  });

  it('an environment without an emergency path refuses emergencies outside its window', () => {
    const decision = evaluateDeployment(berlin, { environment: 'eu', at: new Date('2026-03-28T10:00:00Z'), changeType: 'emergency' });
    expect(ruleIds(decision)).toContain('eu/emergency/allowed');
  });
});

describe('bad evaluation input', () => {
  it('an invalid instant → InvalidEvaluationInputError naming the field', () => {
    expect(() => when('production', 'not-a-date')).toThrow(InvalidEvaluationInputError);
    expect(() => when('production', 'not-a-date')).toThrow('at: must be a valid instant');
  });

  it('an unknown change type or strategy → InvalidEvaluationInputError', () => {
    expect(() => when('production', '2026-12-01T10:00:00Z', { changeType: 'urgent' as never })).toThrow(InvalidEvaluationInputError);
    expect(() => when('production', '2026-12-01T10:00:00Z', { strategy: 'yolo' as never })).toThrow("strategy: must be one of rolling-update, blue-green, canary, feature-flag, big-bang; got 'yolo'");
  });
});

describe('continuous environments and the search horizon', () => {
  const continuous = (blackouts: string) =>
    loadPolicySet([
      {
        name: 'lab.yaml',
        contents: `apiVersion: gatehouse/v1
kind: EnvironmentPolicy
environment: lab
purpose: Continuous deployments with blackouts
clusters: []
regions: [local]
access: { deploy: [developer] }
frequency: { mode: continuous, description: any time }
approvals: { required: [] }
emergency: { allowed: true, approvals: [] }
rollback: { automatic: {} }
strategy: { default: big-bang, allowed: [big-bang], bigBang: { minutes: 10 } }
monitoring: { postDeploymentHours: 0 }
requirements: {}
blackouts:
${blackouts}`,
      },
    ]);

  it('a plan that would run into a blackout is refused; next allowed is when the blackout ends', () => {
    const lab = continuous('  - { id: migration, name: Datacenter migration, kind: fixed, from: "2026-05-02T08:00:00Z", to: "2026-05-03T20:00:00Z" }\n');
    const decision = evaluateDeployment(lab, { environment: 'lab', at: new Date('2026-05-02T07:55:00Z'), changeType: 'normal', strategy: 'big-bang' });
    expect(denials(decision)[0]?.message).toContain("but 'Datacenter migration' begins at 2026-05-02T08:00Z");
    expect(decision.nextAllowedAt?.toISOString()).toBe('2026-05-03T20:00:00.000Z');
  });

  it('when nothing opens within the horizon, there is no next allowed time', () => {
    const lab = continuous('  - { id: sunset, name: Sunset, kind: fixed, from: "2026-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z" }\n');
    const decision = evaluateDeployment(lab, { environment: 'lab', at: new Date('2026-05-02T07:55:00Z'), changeType: 'normal' });
    expect(decision.allowed).toBe(false);
    expect(decision.nextAllowedAt).toBeUndefined();
    expect(decision.reasons.find((r) => r.ruleId === 'lab/next-allowed')?.message).toBe('no allowed start in lab within 400 days');
  });
});

describe('release cadence (production: major quarterly in Q1/Q4, minor monthly, patch weekly, hotfix as needed)', () => {
  const TUESDAY = '2026-12-01T10:00:00Z';
  const history = [{ service: 'campaign-api', releaseType: 'minor', deployedAt: new Date('2026-11-19T10:00:00Z') }];
  const cadenceOf = (decision: Decision) => decision.reasons.filter((r) => r.ruleId.startsWith('production/cadence/'));

  it('given a minor release 12 days after the last one of the service, then the evaluation warns and names the next date', () => {
    const decision = when('production', TUESDAY, { release: { service: 'campaign-api', releaseType: 'minor' }, context: { releaseHistory: history } });
    expect(cadenceOf(decision)).toEqual([
      expect.objectContaining({
        ruleId: 'production/cadence/minor',
        kind: 'info',
        message: 'cadence warning (the policy warns, it does not refuse): campaign-api deployed a minor release to production at 2026-11-19T10:00Z; the cadence (Monthly - feature additions) allows one per 30 days, the next from 2026-12-19T10:00Z',
      }),
    ]);
    expect(decision.allowed).toBe(true);
  });

  it('given a policy that refuses, then the broken cadence is a deny; another service or a hotfix is not held back', () => {
    const production = policies.environments['production']!;
    const strict = { ...policies, environments: { ...policies.environments, production: { ...production, cadence: { ...production.cadence!, onViolation: 'refuse' as const } } } };
    const refused = evaluateDeployment(strict, { environment: 'production', at: new Date(TUESDAY), changeType: 'normal', release: { service: 'campaign-api', releaseType: 'minor' }, context: { releaseHistory: history } });
    expect(refused.allowed).toBe(false);
    expect(ruleIds(refused)).toEqual(['production/cadence/minor']);
    const other = evaluateDeployment(strict, { environment: 'production', at: new Date(TUESDAY), changeType: 'normal', release: { service: 'billing-api', releaseType: 'minor' }, context: { releaseHistory: history } });
    expect(cadenceOf(other)).toEqual([expect.objectContaining({ kind: 'allow' })]);
    const hotfix = evaluateDeployment(strict, { environment: 'production', at: new Date(TUESDAY), changeType: 'normal', release: { service: 'campaign-api', releaseType: 'hotfix' }, context: { releaseHistory: history } });
    expect(cadenceOf(hotfix)).toEqual([expect.objectContaining({ kind: 'allow' })]);
  });

  it('given a major release in Q2, then the cadence names the quarters it may deploy in', () => {
    const decision = when('production', '2026-05-05T10:00:00Z', { release: { service: 'search-api', releaseType: 'major' } });
    expect(cadenceOf(decision)[0]?.message).toMatch(/major releases deploy to production in Q1, Q4 \(Quarterly \(Q1, Q4\) - major features\); 2026-05-05T10:00Z is in Q2/);
  });

  it('given no release, then the cadence is not part of the decision', () => {
    expect(cadenceOf(when('production', TUESDAY))).toEqual([]);
  });
});
