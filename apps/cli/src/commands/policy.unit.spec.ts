import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED, run, type CliIo } from '../index.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const PINNED_NOW = new Date('2026-12-01T10:15:00Z');

/** A CLI run with captured output, the repository as working directory and a pinned clock. */
async function gatehouse(argv: string[], overrides: Partial<CliIo> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: {},
    cwd: REPO_ROOT,
    now: () => PINNED_NOW,
    ...overrides,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

describe('gatehouse policy evaluate', () => {
  it('refuses a normal production change in Black Friday week with exit 3, the reason and the next allowed time', async () => {
    const { code, stdout, stderr } = await gatehouse(['policy', 'evaluate', '--env', 'production', '--at', '2026-11-25T10:30:00Z']);
    expect(code).toBe(EXIT_REFUSED);
    expect(stdout).toContain('REFUSED: normal deployment to production at 2026-11-25T10:30Z');
    expect(stdout).toContain("production is in blackout 'Black Friday week' until 2026-11-28T00:00Z; emergency changes need VP Engineering approval");
    expect(stdout).toContain('next allowed: 2026-12-01T10:00Z');
    expect(stderr).toBe('');
  });

  it('allows a change inside the window with exit 0; --at defaults to the clock', async () => {
    const { code, stdout } = await gatehouse(['policy', 'evaluate', '--env', 'production']);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('ALLOWED: normal deployment to production at 2026-12-01T10:15Z');
  });

  it('with --strategy prints the plan and whether it fits', async () => {
    const { code, stdout } = await gatehouse(['policy', 'evaluate', '--env', 'production', '--at', '2026-12-01T11:00:00Z', '--strategy', 'canary']);
    expect(code).toBe(EXIT_REFUSED);
    expect(stdout).toContain('plan: canary, 120 min, 2026-12-01T11:00Z – 2026-12-01T13:00Z; fits: no');
    expect(stdout).toContain('next allowed: 2026-12-03T10:00Z');
  });

  it('an emergency with VP Engineering, Tech Lead and SRE approvals is allowed during the blackout', async () => {
    const approvals = ['--approval', 'vp_engineering:victor', '--approval', 'tech_lead:bob', '--approval', 'sre:carol'];
    const { code } = await gatehouse(['policy', 'evaluate', '--env', 'production', '--at', '2026-11-25T10:30:00Z', '--type', 'emergency', ...approvals]);
    expect(code).toBe(EXIT_OK);
  });

  it('--json prints the decision with planFits and ISO instants', async () => {
    const { code, stdout } = await gatehouse(['policy', 'evaluate', '--env', 'production', '--at', '2026-12-01T10:00:00Z', '--strategy', 'canary', '--json']);
    expect(code).toBe(EXIT_OK);
    const decision = JSON.parse(stdout);
    expect(decision).toMatchObject({ environment: 'production', allowed: true, planFits: true, at: '2026-12-01T10:00:00.000Z' });
    expect(decision.plan.steps.map((s: { trafficPercent: number }) => s.trafficPercent)).toEqual([5, 25, 100]);
    expect(decision.policyVersion).toMatch(/^sha256:/);
  });

  it('a staging change during the freeze before a --major-release is refused', async () => {
    const { code, stdout } = await gatehouse(['policy', 'evaluate', '--env', 'staging', '--at', '2026-06-09T14:10:00Z', '--major-release', '2026-06-10T14:00:00Z']);
    expect(code).toBe(EXIT_REFUSED);
    expect(stdout).toContain("staging is in change freeze 'Change freeze before a major release");
  });

  it.each([
    [['--env', 'prod', '--at', '2026-11-25T10:30:00Z'], "error: unknown environment 'prod'; known environments: development, dr, local, production, qa, staging"],
    [['--env', 'production', '--at', '25/11/2026'], "error: --at: '25/11/2026' is not an ISO-8601 instant with a zone, e.g. 2026-11-25T10:30:00Z"],
    [['--env', 'production', '--at', '2026-11-25T10:30:00'], 'is not an ISO-8601 instant with a zone'],
    [['--env', 'production', '--type', 'urgent'], "argument 'urgent' is invalid"],
    [['--env', 'production', '--approval', 'boss:victor'], "error: --approval: 'boss:victor' must be role:person"],
    [['--at', '2026-11-25T10:30:00Z'], "required option '--env <environment>' not specified"],
  ])('bad input %j → exit 2 with a clear message on stderr', async (args, message) => {
    const { code, stdout, stderr } = await gatehouse(['policy', 'evaluate', ...args]);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toContain(message);
    expect(stdout).toBe('');
  });
});

describe('gatehouse policy calendar', () => {
  it('lists the allowed windows and blocked periods between two dates (the --to date included)', async () => {
    const { code, stdout } = await gatehouse(['policy', 'calendar', '--env', 'production', '--from', '2026-11-01', '--to', '2026-12-31']);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('production calendar 2026-11-01T00:00Z – 2027-01-01T00:00Z');
    expect(stdout).toContain('allowed (14):');
    expect(stdout).toContain('  2026-11-19T10:00Z – 2026-11-19T12:00Z  Thu');
    expect(stdout).not.toContain('2026-11-24T10:00Z');
    expect(stdout).toContain('  2026-11-20T00:00Z – 2026-11-28T00:00Z  Black Friday week [black-friday-week]');
    expect(stdout).toContain('  2026-11-26T00:00Z – 2026-11-30T00:00Z  Major US holiday weekends: Thanksgiving Day [us-holiday-weekends]');
  });

  it('--json gives the same calendar as data', async () => {
    const { stdout } = await gatehouse(['policy', 'calendar', '--env', 'production', '--from', '2026-11-01', '--to', '2026-11-30', '--json']);
    const calendar = JSON.parse(stdout);
    expect(calendar.allowed[0]).toEqual({ start: '2026-11-03T10:00:00.000Z', end: '2026-11-03T12:00:00.000Z' });
    expect(calendar.blocked.map((b: { ruleId: string }) => b.ruleId)).toEqual(['black-friday-week', 'us-holiday-weekends']);
  });

  it('rejects an impossible date and a reversed range with exit 2', async () => {
    expect((await gatehouse(['policy', 'calendar', '--env', 'production', '--from', '2026-02-30', '--to', '2026-03-31'])).stderr).toContain("--from: '2026-02-30' is not a valid date");
    const reversed = await gatehouse(['policy', 'calendar', '--env', 'production', '--from', '2026-12-31', '--to', '2026-11-01']);
    expect(reversed.code).toBe(EXIT_BAD_INPUT);
    expect(reversed.stderr).toContain('--to 2026-11-01 must be after --from 2026-12-31');
  });
});

describe('gatehouse policy validate', () => {
  it('accepts the repository policies (default directory) with exit 0', async () => {
    const { code, stdout } = await gatehouse(['policy', 'validate']);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('valid: 6 environments');
    expect(stdout).toContain('promotion path: development → staging → production');
  });

  it('reports every problem with file, line and path, exit 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-policies-'));
    const production = readFileSync(path.join(REPO_ROOT, 'deploy/policies/production.yaml'), 'utf8');
    writeFileSync(path.join(dir, 'production.yaml'), production.replace('end: "12:00"', 'end: "09:00"').replace('promotesFrom: staging', 'promotesFrom: stagin'));
    writeFileSync(path.join(dir, 'broken.yaml'), 'environment: [broken\n');
    const { code, stderr } = await gatehouse(['policy', 'validate', dir]);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toContain('broken.yaml:2:');
    expect(stderr).toMatch(/production\.yaml:\d+: windows\[0\]\.end: window end must be after its start/);
    expect(stderr).not.toContain('stagin'); // schema errors stop a file before its cross-file checks
  });

  it('refuses a cluster outside the environment\'s regions (deployment waves follow regions), naming the cluster, exit 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-policies-'));
    for (const name of ['development.yaml', 'staging.yaml']) writeFileSync(path.join(dir, name), readFileSync(path.join(REPO_ROOT, 'deploy/policies', name), 'utf8'));
    const production = readFileSync(path.join(REPO_ROOT, 'deploy/policies/production.yaml'), 'utf8');
    writeFileSync(path.join(dir, 'production.yaml'), production.replace('region: eu-west-1', 'region: ap-south-1'));
    const { code, stderr } = await gatehouse(['policy', 'validate', dir]);
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toMatch(/production\.yaml:\d+: clusters\[3\]\.region: cluster 'prod-k8s-cluster-04' is in region 'ap-south-1', which is not one of the environment's regions \(us-west-2, us-east-1, eu-west-1\)/);
  });

  it('uses $GATEHOUSE_POLICIES and reports a missing directory with exit 2', async () => {
    const { code, stderr } = await gatehouse(['policy', 'validate'], { env: { GATEHOUSE_POLICIES: '/nonexistent/policies' } });
    expect(code).toBe(EXIT_BAD_INPUT);
    expect(stderr).toContain('cannot read policies directory /nonexistent/policies (ENOENT); pass --policies <dir> or set GATEHOUSE_POLICIES');
  });
});

describe('gatehouse', () => {
  it('--help exits 0 and lists the policy group', async () => {
    const { code, stdout } = await gatehouse(['--help']);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('policy');
  });

  it('an unknown command exits 2', async () => {
    expect((await gatehouse(['deploy-everything'])).code).toBe(EXIT_BAD_INPUT);
  });
});
