import { readdirSync, readFileSync } from 'node:fs';
import {
  evaluateDeployment,
  getEnvironmentPolicy,
  loadPolicySet,
  parsePolicyFile,
  PolicySyntaxError,
  PolicyValidationError,
  UnknownEnvironmentError,
  type PolicyFile,
} from './index.js';

const POLICY_DIR = new URL('../../../deploy/policies/', import.meta.url);
const repoFiles = (): PolicyFile[] =>
  readdirSync(POLICY_DIR)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => ({ name, contents: readFileSync(new URL(name, POLICY_DIR), 'utf8') }));

const MINIMAL = `apiVersion: gatehouse/v1
kind: EnvironmentPolicy
environment: sandbox
purpose: Tests
clusters: []
regions: [local]
access:
  deploy: [developer]
frequency:
  mode: windowed
  description: Mondays 09:00-10:00
windows:
  - id: monday
    name: Monday
    days: [mon]
    start: "09:00"
    end: "10:00"
approvals:
  required: []
emergency:
  allowed: true
  approvals: []
rollback:
  automatic: {}
strategy:
  default: big-bang
  allowed: [big-bang]
monitoring:
  postDeploymentHours: 0
requirements: {}
`;

function issuesOf(run: () => unknown): PolicyValidationError['issues'] {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a PolicyValidationError');
}

describe('loading the repository policies', () => {
  it('loads every environment and orders the promotion path', () => {
    const set = loadPolicySet(repoFiles());
    expect(Object.keys(set.environments).sort()).toEqual(['development', 'dr', 'local', 'production', 'qa', 'staging']);
    expect(set.promotionOrder).toEqual(['development', 'staging', 'production']);
    expect(set.policyVersion).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('expresses the seed rules for production', () => {
    const production = getEnvironmentPolicy(loadPolicySet(repoFiles()), 'production');
    expect(production.clusters.map((c) => c.name)).toEqual(['prod-k8s-cluster-01', 'prod-k8s-cluster-02', 'prod-k8s-cluster-03', 'prod-k8s-cluster-04']);
    expect(production.regions).toEqual(['us-west-2', 'us-east-1', 'eu-west-1']);
    expect(production.approvals.required.map((r) => r.role)).toEqual(['code_reviewer', 'tech_lead', 'sre']);
    expect(production.approvals.migrationApproval?.role).toBe('dba');
    expect(production.emergency).toMatchObject({ windowBypassRole: 'vp_engineering', slaMinutes: 120, postIncidentReviewWithinHours: 24, stagingValidationMaxMinutes: 30 });
    expect(production.rollback).toMatchObject({ manualWindowMinutes: 240, beyondWindow: 'incident_review' });
    expect(production.rollback.automatic.triggers.map((t) => [t.metric, t.threshold, t.durationSeconds, t.action, t.cooldownMinutes])).toEqual([
      ['error_rate', 0.01, 300, 'rollback', 60],
      ['error_rate', 0.1, 300, 'rollback', 60],
      ['response_time_p95', 5, 180, 'alert', 30],
    ]);
    expect(production.strategy.canary).toEqual({ steps: [5, 25, 100], totalMinutes: 120 });
    expect(production.testingGates.map((g) => g.name)).toEqual(['Integration Tests', 'E2E Tests', 'Performance Tests', 'Security Tests']);
    expect(production.monitoring.postDeploymentHours).toBe(24);
    expect(production.requirements).toEqual({ runbook: true, migrationApproval: true });
  });

  it('keeps the policy version when only formatting and comments change, and changes it when a rule changes', () => {
    const files = repoFiles();
    const reformatted = files.map((f) => ({ ...f, contents: `# reviewed\n${f.contents}\n\n` }));
    const changed = files.map((f) => (f.name === 'production.yaml' ? { ...f, contents: f.contents.replace('lastDays: 3', 'lastDays: 4') } : f));
    expect(loadPolicySet(reformatted).policyVersion).toBe(loadPolicySet(files).policyVersion);
    expect(loadPolicySet(changed).policyVersion).not.toBe(loadPolicySet(files).policyVersion);
  });
});

describe('bad policy files get named errors with file, path and reason', () => {
  it('malformed YAML → PolicySyntaxError with the line', () => {
    const broken = MINIMAL.replace('regions: [local]', 'regions: [local');
    expect(() => parsePolicyFile('sandbox.yaml', broken)).toThrow(PolicySyntaxError);
    const [issue] = issuesOf(() => parsePolicyFile('sandbox.yaml', broken));
    expect(issue).toMatchObject({ file: 'sandbox.yaml' });
    expect(issue?.line).toBe(7); // the flow sequence opened on line 6 is never closed
  });

  it('a window ending before it starts → windows[0].end, with its line', () => {
    const issues = issuesOf(() => parsePolicyFile('sandbox.yaml', MINIMAL.replace('end: "10:00"', 'end: "08:00"')));
    expect(issues).toEqual([expect.objectContaining({ file: 'sandbox.yaml', path: 'windows[0].end', problem: 'window end must be after its start', line: 17 })]);
  });

  it('analysis without a rollback trigger to analyse → monitoring.analysis; with one, accepted', () => {
    const analysis = 'monitoring:\n  postDeploymentHours: 0\n  analysis:\n    minSamplesPerMetric: 5\n    decisionRoles: [sre]\n    decisionTimeoutMinutes: 60';
    const withAnalysis = MINIMAL.replace('monitoring:\n  postDeploymentHours: 0', analysis);
    expect(issuesOf(() => parsePolicyFile('sandbox.yaml', withAnalysis))).toEqual([expect.objectContaining({ path: 'monitoring.analysis', problem: expect.stringContaining('rollback') })]);
    const trigger = 'automatic:\n    triggers:\n      - { id: errors, metric: error_rate, operator: ">", threshold: 0.01, durationSeconds: 300, action: rollback, cooldownMinutes: 60 }';
    expect(parsePolicyFile('sandbox.yaml', withAnalysis.replace('automatic: {}', trigger)).monitoring.analysis).toEqual({ minSamplesPerMetric: 5, decisionRoles: ['sre'], decisionTimeoutMinutes: 60 });
    expect(issuesOf(() => parsePolicyFile('sandbox.yaml', withAnalysis.replace('decisionRoles: [sre]', 'decisionRoles: []')))).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'monitoring.analysis.decisionRoles' })]));
  });

  it('post-deployment validation: no checks, a duplicate check, an unknown onTimeout or sign-off role → the field; a sound one, accepted with defaults', () => {
    const withValidation = (block: string) => () => parsePolicyFile('sandbox.yaml', `${MINIMAL}postDeploymentValidation:\n${block}`);
    expect(issuesOf(withValidation('  checks: []\n  timeoutMinutes: 30\n'))).toEqual([expect.objectContaining({ path: 'postDeploymentValidation.checks', problem: expect.stringContaining('name at least one check') })]);
    expect(issuesOf(withValidation('  checks: [{name: smoke}, {name: smoke}]\n  timeoutMinutes: 30\n'))).toEqual([expect.objectContaining({ path: 'postDeploymentValidation.checks', problem: 'check names must be unique' })]);
    expect(issuesOf(withValidation('  checks: [{name: smoke}]\n  timeoutMinutes: 30\n  onTimeout: shrug\n'))).toEqual([expect.objectContaining({ path: 'postDeploymentValidation.onTimeout' })]);
    expect(issuesOf(withValidation('  checks: [{name: smoke}]\n  timeoutMinutes: 0\n  signOff: {roles: [wizard]}\n')).map((i) => i.path).sort()).toEqual(['postDeploymentValidation.signOff.roles[0]', 'postDeploymentValidation.timeoutMinutes']);
    expect(withValidation('  checks: [{name: smoke}, {name: integration, required: false}]\n  timeoutMinutes: 30\n  signOff: {roles: [qa]}\n')().postDeploymentValidation).toEqual({
      checks: [{ name: 'smoke', required: true }, { name: 'integration', required: false }],
      timeoutMinutes: 30,
      onTimeout: 'fail',
      signOff: { roles: ['qa'], optional: false },
    });
  });

  it('an unknown time zone → windows[0].timeZone', () => {
    const issues = issuesOf(() => parsePolicyFile('sandbox.yaml', MINIMAL.replace('end: "10:00"', 'end: "10:00"\n    timeZone: Mars/Olympus')));
    expect(issues).toEqual([expect.objectContaining({ path: 'windows[0].timeZone', problem: expect.stringContaining('IANA time zone') })]);
  });

  it('a blackout ending before it starts → blackouts[0].to', () => {
    const withBlackout = `${MINIMAL}blackouts:\n  - id: launch\n    name: Launch\n    kind: fixed\n    from: 2026-05-02T00:00:00Z\n    to: 2026-05-01T00:00:00Z\n`;
    expect(issuesOf(() => parsePolicyFile('sandbox.yaml', withBlackout))).toEqual([expect.objectContaining({ path: 'blackouts[0].to' })]);
  });

  it('an impossible yearly day → blackouts[0].to', () => {
    const withBlackout = `${MINIMAL}blackouts:\n  - id: spring\n    name: Spring\n    kind: yearly\n    from: "02-01"\n    to: "02-30"\n`;
    expect(issuesOf(() => parsePolicyFile('sandbox.yaml', withBlackout))).toEqual([expect.objectContaining({ path: 'blackouts[0].to', problem: expect.stringContaining('exists') })]);
  });

  it('cross-file rules: unknown promotesFrom, file name mismatch, duplicate rule ids, misspelt holiday', () => {
    const files = [
      { name: 'sandbox.yaml', contents: `${MINIMAL}promotesFrom: nowhere\n` },
      { name: 'other.yaml', contents: MINIMAL.replace('environment: sandbox', 'environment: elsewhere') },
      {
        name: 'dup.yaml',
        contents: `${MINIMAL.replace('environment: sandbox', 'environment: dup')}blackouts:\n  - id: monday\n    name: Clash\n    kind: quarter_end\n    lastDays: 1\n  - id: holidays\n    name: Holidays\n    kind: holiday_weekends\n    calendar: { country: US }\n    holidays: [Thanksgiving]\n`,
      },
    ];
    const issues = issuesOf(() => loadPolicySet(files));
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'sandbox.yaml', path: 'promotesFrom', problem: "promotes from unknown environment 'nowhere'" }),
        expect.objectContaining({ file: 'other.yaml', path: 'environment', problem: "environment 'elsewhere' must match the file name 'other'" }),
        expect.objectContaining({ file: 'dup.yaml', path: 'blackouts[0].id', problem: "duplicate rule id 'monday' (first used at windows[0].id)" }),
        expect.objectContaining({ file: 'dup.yaml', path: 'blackouts[1].holidays[0]', problem: expect.stringContaining("'Thanksgiving' is not a holiday of calendar US") }),
      ]),
    );
  });

  it('a promotion cycle is refused', () => {
    const a = { name: 'a.yaml', contents: `${MINIMAL.replace('environment: sandbox', 'environment: a')}promotesFrom: b\n` };
    const b = { name: 'b.yaml', contents: `${MINIMAL.replace('environment: sandbox', 'environment: b')}promotesFrom: a\n` };
    expect(issuesOf(() => loadPolicySet([a, b]))).toEqual(expect.arrayContaining([expect.objectContaining({ file: 'a.yaml', path: 'promotesFrom', problem: 'promotion cycle: a <- b <- a' })]));
  });

  it('collects the problems of every file before throwing', () => {
    const files = [
      { name: 'one.yaml', contents: 'environment: [' },
      { name: 'two.yaml', contents: MINIMAL.replace('environment: sandbox', 'environment: two').replace('purpose: Tests\n', '') },
    ];
    const issues = issuesOf(() => loadPolicySet(files));
    expect(issues.map((i) => [i.file, i.path])).toEqual([
      ['one.yaml', ''],
      ['two.yaml', 'purpose'],
    ]);
  });

  it('an unknown environment → UnknownEnvironmentError naming the known ones', () => {
    const set = loadPolicySet(repoFiles());
    const evaluate = () => evaluateDeployment(set, { environment: 'prod', at: new Date('2026-11-24T10:00:00Z'), changeType: 'normal' });
    expect(evaluate).toThrow(UnknownEnvironmentError);
    expect(evaluate).toThrow("unknown environment 'prod'; known environments: development, dr, local, production, qa, staging");
  });
});
