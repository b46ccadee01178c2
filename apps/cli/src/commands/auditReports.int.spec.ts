/**
 * The auditors' reports through the interfaces people use: a gateway on real PostgreSQL holding the
 * pinned Black Friday week history (libs/domain/src/audit/fixtures, appended as recorded, governance
 * times included), asked over HTTP and with the built `gatehouse` binary. Bad input answers 400
 * naming the field and writes nothing; readers without an audit role are refused.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fixedClock } from '@gatehouse/domain';
import { ANY, createEventStore } from '@gatehouse/eventstore';
import { type RunningGateway, readGatewayConfig, startGateway } from '@gatehouse/gateway';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { type CliIo, run as runCli } from '../index.js';
import { SignJWT } from 'jose';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const POLICIES = path.join(REPO_ROOT, 'deploy/policies');
const FIXTURE = path.join(REPO_ROOT, 'libs/domain/src/audit/fixtures/black-friday-week.ndjson');
const JWT_SECRET = 'audit-reports-test-secret-of-at-least-32-chars';
const BUILD_TIMEOUT_MS = 120_000;
const run = promisify(execFile);


// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;
const history: Json[] = readFileSync(FIXTURE, 'utf8').trim().split('\n').map((line) => JSON.parse(line));

const tokenFor = (sub: string, roles: string[]): Promise<string> =>
  new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));

describePostgres('auditors\' reports over HTTP and the built CLI', () => {
  const schema = isolatedSchema('audit_reports');
  let gateway: RunningGateway;
  let dataDir: string;
  const tokens: Record<string, string> = {};

  async function get(route: string, user: string | null = 'aud'): Promise<{ status: number; type: string; body: string }> {
    const response = await fetch(`${gateway.url}${route}`, { headers: user === null ? {} : { authorization: `Bearer ${tokens[user]}` } });
    return { status: response.status, type: response.headers.get('content-type') ?? '', body: await response.text() };
  }
  const json = async (route: string): Promise<Json> => {
    const reply = await get(route);
    if (reply.status !== 200) throw new Error(`${route} → ${reply.status} ${reply.body}`);
    return JSON.parse(reply.body);
  };
  const eventCount = async (): Promise<number> => (await json('/api/events?limit=1000')).events.length;
  /** The built binary, as an auditor runs it (a few calls: each costs a node start). */
  const built = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run('node', [path.join(REPO_ROOT, 'apps/cli/dist/main.js'), ...args], {
        cwd: dataDir,
        env: { ...process.env, NODE_OPTIONS: '', GATEHOUSE_URL: gateway.url, GATEHOUSE_TOKEN: tokens['aud'] },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  /** The same program in this process, for the many other calls. */
  const gatehouse = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { GATEHOUSE_URL: gateway.url, GATEHOUSE_TOKEN: tokens['aud'] }, cwd: dataDir, now: () => new Date() };
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  };

  beforeAll(async () => {
    for (const project of ['libs/domain', 'apps/cli']) {
      execFileSync('npm', ['run', 'build'], { cwd: path.join(REPO_ROOT, project), stdio: 'pipe', timeout: BUILD_TIMEOUT_MS });
    }
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-reports-'));
    // The recorded history, event by event in commit order, with the governance times it was recorded at.
    const store = await createEventStore({ databaseUrl: postgres.url, schema: schema.name });
    for (let start = 0; start < history.length; ) {
      // Consecutive events of one stream go in one append: the same commit order, fewer round trips.
      let end = start + 1;
      while (end < history.length && history[end].streamId === history[start].streamId) end += 1;
      const batch = history.slice(start, end).map((event) => ({ type: event.type, data: event.data, metadata: event.metadata }));
      await store.appendToStream(history[start].streamId, batch, { expectedVersion: ANY });
      start = end;
    }
    // The reports read the log, which holds events back behind any write transaction open on the server (another suite's, in CI).
    await visibleHead(store);
    await store.close();
    const config = readGatewayConfig({
      PORT: '0',
      DATABASE_URL: postgres.url,
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
      LOG_LEVEL: 'silent',
    });
    gateway = await startGateway(config, { clock: fixedClock('2026-12-06T12:00:00Z') });
    tokens['aud'] = await tokenFor('aud', ['auditor']);
    tokens['ana'] = await tokenFor('ana', ['developer']);
  }, BUILD_TIMEOUT_MS * 3);
  afterAll(async () => {
    await gateway?.close();
    await schema.drop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers the compliance report as JSON, CSV and Markdown, over HTTP and from the CLI', async () => {
    const report = await json('/api/audit/compliance?from=2026-11-16T00:00:00Z&to=2026-12-07T00:00:00Z');
    // The recorded version, and the repository's own when it differs (activated as this gateway started).
    const policyChanges = (await json('/api/events?limit=1000')).events.filter((e: Json) => e.type === 'PolicyVersionActivated').length;
    expect(policyChanges).toBeGreaterThanOrEqual(1);
    expect(report.summary).toMatchObject({ productionChanges: 4, separationOfDutiesViolations: 0, emergencyChanges: 1, rollbacks: 2, policyChanges });
    const vp = history.find((e) => e.type === 'ApprovalGranted' && e.data.role === 'vp_engineering');
    expect(report.emergencyChanges[0].vpApproval).toMatchObject({ approver: vp.data.approver, grantedAt: vp.metadata.occurredAt });

    const csv = await get('/api/audit/compliance?from=2026-11-16T00:00:00Z&to=2026-12-07T00:00:00Z&format=csv');
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.body.split('\r\n').filter((row) => row.startsWith('production_change,'))).toHaveLength(4);

    const cli = await built(['audit', 'compliance', '--from', '2026-11-16', '--to', '2026-12-07', '--format', 'csv', '--out', 'report.csv']);
    expect(cli).toMatchObject({ code: 0, stderr: '' });
    expect(await readFile(path.join(dataDir, 'report.csv'), 'utf8')).toBe(csv.body);
    const markdown = await gatehouse(['audit', 'compliance', '--from', '2026-11-16', '--to', '2026-12-07']);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain('# Compliance report 2026-11-16T00:00:00.000Z to 2026-12-07T00:00:00.000Z');
    expect(markdown.stdout).toMatch(/INC-7001 \(critical\) \| val at 2026-11-27T16:04:00.000Z \| overdue/);
  });

  it('answers DORA metrics over HTTP, the CLI and /metrics', async () => {
    const dora = await json('/api/audit/dora?from=2026-11-16T00:00:00Z&to=2026-12-07T00:00:00Z');
    const campaign = dora.lines.find((l: Json) => l.service === 'campaign-api' && l.environment === 'production');
    expect(campaign).toMatchObject({ deployments: 1, finishedDeployments: 2, failedDeployments: 1, changeFailureRate: 0.5 });
    const cli = await gatehouse(['audit', 'dora', '--from', '2026-11-16', '--to', '2026-12-07', '--format', 'json']);
    expect(JSON.parse(cli.stdout)).toEqual(dora);
    // /metrics covers the 30 days before the gateway's clock (2026-12-06T12:00Z): the whole history.
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('gatehouse_dora_change_failure_ratio{service="campaign-api",environment="production"} 0.5');
    expect(metrics).toContain('gatehouse_freeze_bypass_ratio{service="checkout-api",environment="production"} 0.5');
  });

  it('travels in time: production at 2026-11-27T16:00Z, by instant over HTTP and by position from the CLI', async () => {
    const state = await json('/api/audit/state?asOf=2026-11-27T16:00:00Z&environment=production');
    expect(state.running).toEqual([expect.objectContaining({ service: 'checkout-api', version: '3.4.0' })]);
    expect(state.awaitingApproval).toEqual([expect.objectContaining({ kind: 'emergency', missing: [{ role: 'vp_engineering', missing: 1 }] })]);
    expect(state.policy.policyVersion).toBe(history[0].data.policyVersion);
    const rollback = (await json('/api/events?type=DeploymentRolledBack')).events[0];
    const before = await gatehouse(['audit', 'state', '--as-of', String(BigInt(rollback.globalPosition) - 1n), '--format', 'json']);
    expect(JSON.parse(before.stdout).deploying).toEqual([expect.objectContaining({ service: 'campaign-api', version: '2.2.1' })]);
    const text = await gatehouse(['audit', 'state', '--as-of', '2026-12-04T00:00:00Z']);
    expect(text.stdout).toContain('- campaign-api 2.2.0 since 2026-12-03T10:05:00.000Z');
  });

  it('refuses bad input with 400 naming the field, and readers without an audit role, writing nothing', async () => {
    const before = await eventCount();
    const cases: [string, string][] = [
      ['/api/audit/compliance?from=2026-12-07T00:00:00Z&to=2026-11-16T00:00:00Z', 'from'],
      ['/api/audit/compliance?from=yesterday', 'from'],
      ['/api/audit/compliance?format=pdf', 'format'],
      ['/api/audit/dora?to=2026-13-01T00:00:00Z', 'to'],
      ['/api/audit/state?asOf=soon', 'asOf'],
      ['/api/audit/state?asOf=2026-11-27T16:00:00Z&environment=moon', 'environment'],
      ['/api/audit/state?environment=production', 'asOf'],
    ];
    for (const [route, field] of cases) {
      const reply = await get(route);
      expect([route, reply.status]).toEqual([route, 400]);
      expect(JSON.parse(reply.body).issues).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
    const documented = Object.keys(JSON.parse((await get('/docs/openapi.json', null)).body).paths);
    expect(documented).toEqual(expect.arrayContaining(['/api/audit/compliance', '/api/audit/dora', '/api/audit/state', '/api/audit/rederive']));
    expect((await get('/api/audit/compliance', null)).status).toBe(401);
    expect((await get('/api/audit/dora', 'ana')).status).toBe(403);
    expect(await eventCount()).toBe(before);
    const cli = await gatehouse(['audit', 'compliance', '--from', 'last week']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--from last week must be a date');
  });

  it('replays the period against proposed policies with the built CLI, from the gateway and from a replay export', async () => {
    // The proposal: production deploys on Thursdays only. Expected, by the calendar: each normal production booking on a Tuesday moves two days.
    const proposed = path.join(dataDir, 'proposed');
    await mkdir(proposed);
    for (const name of (await readdir(POLICIES)).filter((n) => n.endsWith('.yaml'))) {
      const contents = await readFile(path.join(POLICIES, name), 'utf8');
      await writeFile(path.join(proposed, name), name === 'production.yaml' ? contents.replace('days: [tue, thu]', 'days: [thu]') : contents);
    }
    const expectedDelayed = history
      .filter((e) => e.type === 'DeploymentScheduled' && e.data.environment === 'production' && e.data.changeType === 'normal' && new Date(e.data.scheduledFor).getUTCDay() === 2)
      .map((e) => e.data.changeRequestId);
    expect(expectedDelayed.length).toBeGreaterThan(0);

    const live = await gatehouse(['policy', 'whatif', '--policies', 'proposed', '--from', '2026-11-16', '--to', '2026-12-07', '--json']);
    expect(live).toMatchObject({ code: 0, stderr: '' });
    const report = JSON.parse(live.stdout);
    expect(report.changes.filter((c: Json) => c.verdict === 'delayed').map((c: Json) => [c.changeRequestId, c.delayMinutes])).toEqual(expectedDelayed.map((id) => [id, 48 * 60]));
    expect(report.changes.filter((c: Json) => c.verdict !== 'delayed').every((c: Json) => c.verdict === 'unchanged')).toBe(true);

    // Offline: the same answer from an export, with the table for people.
    expect((await fetch(`${gateway.url}/api/audit/tree-heads`, { method: 'POST', headers: { authorization: `Bearer ${tokens['aud']}` } })).status).toBe(201);
    expect((await gatehouse(['audit', 'replay', '--out', 'history.ndjson'])).code).toBe(0);
    const offline = await built(['policy', 'whatif', '--policies', 'proposed', '--from', '2026-11-16', '--to', '2026-12-07', '--log', 'history.ndjson', '--url', 'http://127.0.0.1:9']);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain(`| ${expectedDelayed[0]} | production |`);
    expect(offline.stdout).toContain('| delayed | 2.0 d |');
    expect((await gatehouse(['policy', 'whatif', '--policies', 'proposed', '--from', '2026-12-07', '--to', '2026-11-16'])).code).toBe(2);
  });

  // Last: it alters the log the other tests read.
  it('re-derives every decision: justified as recorded; an approval appended straight to the store is flagged at its position', async () => {
    const clean = await json('/api/audit/rederive');
    expect(clean).toMatchObject({ ok: true, findings: [] });
    expect(clean.checked.approval_quorum).toBe(history.filter((e) => e.type === 'ChangeFullyApproved').length);
    expect((await gatehouse(['audit', 'rederive'])).code).toBe(0);

    // Someone holding the database appends a second full approval for the hotfix's staging change, with no grants behind it.
    const fully = history.find((e) => e.type === 'ChangeFullyApproved' && e.data.subject.environment === 'staging');
    const store = await createEventStore({ databaseUrl: postgres.url, schema: schema.name });
    const { events: [forged] } = await store.appendToStream(fully.streamId, [{ type: 'ChangeFullyApproved', data: { ...fully.data, approvedAt: '2026-12-05T09:00:00.000Z' }, metadata: { actor: 'approvals', occurredAt: '2026-12-05T09:00:00.000Z' } }], { expectedVersion: ANY });
    // The log readers hold events back behind any write transaction open on the server (another suite's, in CI).
    await visibleHead(store);
    await store.close();

    const tampered = await json('/api/audit/rederive');
    expect(tampered.ok).toBe(false);
    expect(tampered.findings).toEqual([expect.objectContaining({ decision: 'approval_quorum', streamId: fully.streamId, position: forged!.globalPosition.toString() })]);
    const cli = await gatehouse(['audit', 'rederive']);
    expect(cli.code).toBe(4);
    expect(cli.stdout).toContain('1 decision(s) NOT justified');
    expect(cli.stdout).toContain(`| ${forged!.globalPosition} |`);
    // Up to the position before it, the log still holds.
    expect((await json(`/api/audit/rederive?until=${forged!.globalPosition - 1n}`)).ok).toBe(true);
    expect((await get('/api/audit/rederive?until=-1')).status).toBe(400);
  });
});
