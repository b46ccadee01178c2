/**
 * The BUILT `gatehouse` command (apps/cli/bin/gatehouse.js, as `npx gatehouse` runs it) against a whole
 * Gatehouse running in this process on PostgreSQL, driven as people and pipelines drive it: a release,
 * a change through review and approval to a deployment followed by `ci wait` and `deploy watch`,
 * refusals (exit 3) that write nothing, bad input (exit 2) that sends nothing, and the example
 * pipelines in examples/ run step by step as their YAML says.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settableClock, type SettableClock } from '@gatehouse/domain';
import { type RunningGatehouse, startGatehouse } from '@gatehouse/gatehouse';
import { readGatewayConfig } from '@gatehouse/gateway';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { SignJWT } from 'jose';
import YAML from 'yaml';
import { EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE } from './io.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(REPO_ROOT, 'apps/cli/bin/gatehouse.js');
const JWT_SECRET = 'cli-lifecycle-test-secret-of-32-chars-at-least';
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const BUILD_TIMEOUT_MS = 120_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are asserted field by field
type Json = any;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tokenFor = (sub: string, roles: string[]): Promise<string> =>
  new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));

describePostgres('the built gatehouse CLI against a running Gatehouse', () => {
  const schema = isolatedSchema('cli_lifecycle');
  let dataDir: string;
  let gatehouse: RunningGatehouse;
  let clock: SettableClock;
  let url: string;
  const tokens: Record<string, string> = {};

  /** Starts the built CLI as `user` (their token in GATEHOUSE_TOKEN), like a person in a shell; its output can be read while it runs. */
  function start(args: string[], options: { user?: string | null; env?: Record<string, string>; input?: string } = {}): { done: Promise<CliResult>; stdout: () => string } {
    const user = options.user === undefined ? 'ana' : options.user;
    let stdout = '';
    let stderr = '';
    const done = new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: dataDir,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dataDir,
          GATEHOUSE_URL: url,
          ...(user === null ? {} : { GATEHOUSE_TOKEN: tokens[user]! }),
          ...options.env,
        },
      });
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(options.input ?? '');
    });
    return { done, stdout: () => stdout };
  }

  function cli(args: string[], options: { user?: string | null; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
    return start(args, options).done;
  }

  async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function ok(args: string[], options: Parameters<typeof cli>[1] = {}): Promise<string> {
    const result = await cli(args, options);
    if (result.code !== EXIT_OK) throw new Error(`gatehouse ${args.join(' ')} → ${result.code}\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  async function api(method: string, route: string, user: string, body?: unknown): Promise<Json> {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${tokens[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return response.json();
  }

  /**
   * The head of the event log, to prove a refusal wrote nothing: once the log readers see every event appended so
   * far (they hold events back behind any write transaction open on the server, such as another suite's in CI).
   */
  async function head(): Promise<string> {
    return String(await visibleHead(gatehouse.gateway.store));
  }

  /**
   * The head once the log has stood still for a second: what earlier steps set off (a timer armed, a booking
   * cancelled after an abort) has been written, so a "nothing written" check sees only the commands it sends.
   */
  async function quietHead(): Promise<string> {
    let last = await head();
    let since = Date.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await head();
      if (now !== last) [last, since] = [now, Date.now()];
      else if (Date.now() - since >= 1_000) return last;
    }
  }

  /**
   * Moves governance time ten seconds every few milliseconds until `done` settles (or `enough` holds): deployments
   * progress while a CLI waits.
   */
  async function whileTimePasses<T>(done: Promise<T>, stepMs = 10_000, enough: () => Promise<boolean> = async () => false): Promise<T> {
    let settled = false;
    const driver = (async () => {
      while (!settled && !(await enough())) {
        clock.advance(stepMs);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    })();
    try {
      return await done;
    } finally {
      settled = true;
      await driver;
    }
  }

  /** A reviewer's part, through the HTTP API (the CLI's review and approve are checked in the lifecycle test). */
  async function reviewAndApproveOverHttp(changeId: string): Promise<void> {
    await api('POST', `/api/change-requests/${changeId}/review`, 'rui', { action: 'start' });
    await api('POST', `/api/change-requests/${changeId}/review`, 'rui', { action: 'complete', notes: 'looks right' });
    // Approvals are opened by a reaction to the completed review; a grant sent at once waits for it on the server.
    const granted = await api('POST', `/api/change-requests/${changeId}/approvals`, 'rui', { role: 'code_reviewer' });
    if (granted.result?.status === undefined) throw new Error(`approval of ${changeId}: ${JSON.stringify(granted)}`);
  }

  async function approveAs(changeId: string, user: string, role: string): Promise<void> {
    const granted = await api('POST', `/api/change-requests/${changeId}/approvals`, user, { role });
    if (granted.result?.status === undefined) throw new Error(`${role} approval of ${changeId} by ${user}: ${JSON.stringify(granted)}`);
  }

  /** Waits until the approved change is booked, then moves the clock to its booked start (never backwards), as its window comes. */
  async function untilBooked(changeId: string): Promise<void> {
    let booked: Json | undefined;
    await until(`the booking of ${changeId}`, async () => {
      booked = (await api('GET', '/api/schedule', 'aud')).items.find((item: Json) => item.changeRequestId === changeId);
      return booked !== undefined;
    });
    if (Date.parse(booked!.scheduledFor) > clock.now().getTime()) clock.set(booked!.scheduledFor);
  }

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build'], { cwd: path.join(REPO_ROOT, 'apps/cli'), stdio: 'pipe', timeout: BUILD_TIMEOUT_MS });
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-cli-'));
    const config = readGatewayConfig({
      PORT: '0',
      DATABASE_URL: postgres.url,
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: path.join(REPO_ROOT, 'deploy/policies'),
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
      LOG_LEVEL: 'silent',
    });
    clock = settableClock(MONDAY_MORNING);
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    url = gatehouse.gateway.url;
    for (const [user, roles] of Object.entries({ ana: ['developer'], rui: ['code_reviewer'], tess: ['tech_lead'], aud: ['auditor'], ci: ['developer'], sam: ['sre'] })) tokens[user] = await tokenFor(user, roles);
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await gatehouse?.close();
    await schema.drop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('login checks the pasted token before storing it, in a file only its owner can read', async () => {
    const refusedFile = path.join(dataDir, 'refused', 'config.json');
    const config = path.join(dataDir, 'login', 'config.json');
    const forged = `${tokens['ana']!.slice(0, -4)}AAAA`;
    const [refused, login] = await Promise.all([
      cli(['login', '--url', url], { user: null, input: forged, env: { GATEHOUSE_CONFIG: refusedFile } }),
      cli(['login', '--url', url], { user: null, input: `${tokens['ana']}\n`, env: { GATEHOUSE_CONFIG: config } }),
    ]);
    expect(refused.code).toBe(EXIT_BAD_INPUT);
    expect(refused.stderr).toMatch(/401/);
    await expect(stat(refusedFile)).rejects.toThrow(/ENOENT/);

    expect(login.code).toBe(EXIT_OK);
    expect(login.stdout).toContain('as ana (developer)');
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({ url, token: tokens['ana'] });
    // The stored login is used when neither --token nor GATEHOUSE_TOKEN is given.
    const clockNow = await cli(['clock', 'show', '--json'], { user: null, env: { GATEHOUSE_CONFIG: config, GATEHOUSE_URL: '' } });
    expect(JSON.parse(clockNow.stdout)).toMatchObject({ now: expect.stringMatching(/^2026-11-30T09:/) });
  });

  it('plans a release and reads it back: show, list and the release notes in the seeds’ format', async () => {
    const releaseId = (
      await ok([
        'release', 'create', '--service', 'campaign-api', '--version', '2.2.0', '--type', 'minor', '--title', 'Campaign scheduling', '--previous-version', '2.1.0',
        '--change', 'feature:Advanced campaign scheduling with time zones', '--change', 'fix:Unsubscribe links in Outlook', '--change', 'security:Rotate the SMTP credentials',
      ])
    ).trim();
    expect(releaseId).toMatch(/^[A-Za-z0-9_-]+$/);
    const [shown, listed, deployed, notes] = await Promise.all([
      ok(['release', 'show', releaseId, '--json']),
      ok(['release', 'list']),
      ok(['release', 'list', '--status', 'deployed', '--json']),
      ok(['release', 'notes', releaseId, '--product', 'PenguinMails']),
    ]);
    expect(JSON.parse(shown).release).toMatchObject({ releaseId, service: 'campaign-api', version: '2.2.0', title: 'Campaign scheduling', status: 'planned' });
    expect(JSON.parse(shown).history.map((e: Json) => e.type)).toEqual(['ReleasePlanned']);
    expect(listed).toMatch(new RegExp(`${releaseId}\\s+campaign-api\\s+2\\.2\\.0\\s+minor\\s+planned`));
    expect(JSON.parse(deployed).items).toEqual([]);
    expect(notes).toBe(
      [
        '# Release 2.2.0 - PenguinMails (November 30, 2026)',
        '',
        '## New Features',
        '- Advanced campaign scheduling with time zones',
        '',
        '## Bug Fixes',
        '- Unsubscribe links in Outlook',
        '',
        '## Security Updates',
        '- Rotate the SMTP credentials',
        '',
      ].join('\n'),
    );
  });

  it('answers exit 4 for what does not exist, 2 for bad input (sending nothing), 5 when the gateway is down', async () => {
    const before = await quietHead();
    const [missing, missingChange, badType, badInstant, badService, down] = await Promise.all([
      cli(['release', 'show', 'no-such-release']),
      cli(['cr', 'show', 'no-such-change']),
      cli(['release', 'create', '--service', 'campaign-api', '--version', '9.0.0', '--type', 'huge', '--title', 'x']),
      cli(['cr', 'submit', '--env', 'development', '--title', 't', '--description', 'd', '--planned', 'tomorrow']),
      // The gateway's own validation, named by field.
      cli(['release', 'create', '--service', 'Campaign API', '--version', '1.0.0', '--type', 'minor', '--title', 'x']),
      cli(['cr', 'list'], { env: { GATEHOUSE_URL: 'http://127.0.0.1:9' } }),
    ]);
    expect(missing.code).toBe(EXIT_NOT_FOUND);
    expect(missing.stderr).toMatch(/404/);
    expect(missingChange.code).toBe(EXIT_NOT_FOUND);
    expect(badType.code).toBe(EXIT_BAD_INPUT);
    expect(badType.stderr).toMatch(/--type.*huge/s);
    expect(badInstant.code).toBe(EXIT_BAD_INPUT);
    expect(badInstant.stderr).toMatch(/--planned 'tomorrow' must be an ISO-8601 instant/);
    expect(badService.code).toBe(EXIT_BAD_INPUT);
    expect(badService.stderr).toMatch(/400.*service/s);
    expect(down.code).toBe(EXIT_UNAVAILABLE);
    expect(down.stderr).toMatch(/cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
    expect(await head()).toBe(before);
  });

  it('takes a change from submission to deployed: refusals exit 3 and write nothing; ci wait and deploy watch follow it to the end', async () => {
    const { releaseId } = await api('POST', '/api/releases', 'ana', { service: 'mailer', version: '1.4.0', type: 'minor', title: 'Mailer 1.4', previousVersion: '1.3.0', changes: [{ kind: 'improvement', description: 'Batch sends' }] });
    await ok(['ci', 'publish', 'testgate', '--release', releaseId, '--env', 'development', '--gate', 'unit-tests', '--status', 'passed', '--source', 'ci/test'], { user: 'ci' });
    const changeId = (await ok(['cr', 'submit', '--env', 'development', '--release', releaseId, '--title', 'Mailer 1.4 to development', '--description', 'Batch sends'])).trim();

    // The author may not review their own change, and a developer cannot approve as code reviewer.
    const before = await quietHead();
    const [selfReview, notAReviewer, shown] = await Promise.all([cli(['review', 'start', changeId]), cli(['approve', changeId, '--role', 'code_reviewer']), ok(['cr', 'show', changeId, '--json'])]);
    expect(JSON.parse(shown).changeRequest).toMatchObject({ status: 'submitted', draft: { author: 'ana', schedule: { planned: expect.stringMatching(/^2026-11-30T09:/) } } });
    expect(selfReview.code).toBe(EXIT_REFUSED);
    expect(selfReview.stderr).toMatch(/403/);
    expect(notAReviewer.code).toBe(EXIT_REFUSED);
    expect(await head()).toBe(before);

    await ok(['review', 'start', changeId], { user: 'rui' });
    await ok(['review', 'complete', changeId, '--notes', 'plan, rollback and tests are sound'], { user: 'rui' });
    // Straight after the review, as a person would: approvals open the request a moment later, and the approval waits for it.
    expect(await ok(['approve', changeId, '--role', 'code_reviewer'], { user: 'rui' })).toMatch(/^approved .* as code_reviewer/);

    // Governance time stands still until both followers show the deployment running; then it moves.
    const wait = start(['ci', 'wait', changeId, '--interval', '0.05', '--timeout', '60'], { user: 'ci' });
    const watch = start(['deploy', 'watch', changeId, '--interval', '0.05', '--timeout', '60']);
    await until('both followers to show the running deployment', () => wait.stdout().includes('step 1/1') && watch.stdout().includes('step 1/1'));
    const [waited, watched] = await whileTimePasses(Promise.all([wait.done, watch.done]));
    expect(waited.stderr).toBe('');
    expect(waited.code).toBe(EXIT_OK);
    expect(waited.stdout).toContain(`${changeId} deployed to development`);
    expect(watched.code).toBe(EXIT_OK);
    expect(watched.stdout).toMatch(new RegExp(`${changeId} development 1\\.4\\.0: step 1/1 .+ \\(100% traffic\\)`));

    const notes = await api('GET', `/api/releases/${releaseId}/notes`, 'ana');
    expect(notes).toMatchObject({ releasedTo: 'development', sections: [{ heading: 'Technical Improvements', items: ['Batch sends'] }] });
  }, 120_000);

  it('ci wait exits 3 with the reason when the change is turned down, and the story shows who and why', async () => {
    const { releaseId } = await api('POST', '/api/releases', 'ana', { service: 'mailer', version: '1.5.0', type: 'minor', title: 'Mailer 1.5', previousVersion: '1.4.0' });
    const changeId = (await ok(['cr', 'submit', '--env', 'development', '--release', releaseId, '--title', 'Mailer 1.5', '--description', 'More batching'])).trim();
    await api('POST', `/api/change-requests/${changeId}/review`, 'rui', { action: 'start' });
    await ok(['reject', changeId, '--in-review', '--reason', 'no rollback test for the batch size change'], { user: 'rui' });
    const waited = await cli(['ci', 'wait', changeId, '--interval', '0.05', '--timeout', '10'], { user: 'ci' });
    const story = await ok(['cr', 'why', changeId], { user: 'aud' });
    expect(waited.code).toBe(EXIT_REFUSED);
    expect(waited.stderr).toContain(`${changeId} rejected:`);
    expect(waited.stderr).toContain('reason: no rollback test for the batch size change');
    expect(story).toContain('ChangeRequestRejected');
  });

  /** The change's status as the gateway reports it. */
  async function statusOf(changeId: string): Promise<string> {
    return (await api('GET', `/api/change-requests/${changeId}`, 'aud')).changeRequest.status;
  }

  /** A release of `service` submitted to development (planned now unless `planned`), reviewed and approved by rui; returns once it is booked. */
  async function approvedChange(service: string, version: string, previousVersion: string, planned?: string): Promise<string> {
    const { releaseId } = await api('POST', '/api/releases', 'ana', { service, version, type: 'minor', title: `${service} ${version}`, previousVersion });
    if (typeof releaseId !== 'string') throw new Error(`release ${service} ${version} was not created`);
    await ok(['ci', 'publish', 'testgate', '--release', releaseId, '--env', 'development', '--gate', 'unit-tests', '--status', 'passed', '--source', 'ci/test'], { user: 'ci' });
    const changeId = (await ok(['cr', 'submit', '--env', 'development', '--release', releaseId, '--title', `${service} ${version}`, '--description', 'cli operations', ...(planned === undefined ? [] : ['--planned', planned])])).trim();
    await reviewAndApproveOverHttp(changeId);
    await until(`${changeId} to be booked`, async () => ['scheduled', 'implementing'].includes(await statusOf(changeId)));
    return changeId;
  }

  /**
   * Deploys an approved development change to the end, as `ci wait` follows it while governance time passes, then
   * waits for its close: `ci wait` returns once the change is deployed, and its validation and close follow.
   */
  async function deployed(changeId: string): Promise<void> {
    const waited = await whileTimePasses(cli(['ci', 'wait', changeId, '--interval', '0.05', '--timeout', '60'], { user: 'ci' }));
    if (waited.code !== EXIT_OK) throw new Error(`ci wait ${changeId} → ${waited.code}\n${waited.stderr}`);
    await until(`${changeId} to close`, async () => (await statusOf(changeId)) === 'closed');
  }

  it('schedule moves a booking (to an instant, or to the next slot with --json) and revoke withdraws an approval; refusals exit 3 and write nothing', async () => {
    const inThreeDays = new Date(clock.now().getTime() + 3 * 24 * 60 * MINUTE).toISOString();
    const changeId = await approvedChange('newsletter', '1.1.0', '1.0.0', inThreeDays);
    expect(await statusOf(changeId)).toBe('scheduled');

    const before = await quietHead();
    const [badAt, missing, past, notAnApprover, noReason, auditorMoves] = await Promise.all([
      cli(['schedule', changeId, '--reason', 'later', '--at', 'next week']),
      cli(['schedule', 'no-such-change', '--reason', 'later']),
      cli(['schedule', changeId, '--reason', 'earlier', '--at', '2020-01-01T10:00:00Z']),
      cli(['revoke', changeId, '--reason', 'changed my mind']),
      cli(['revoke', changeId], { user: 'rui' }),
      cli(['schedule', changeId, '--reason', 'later'], { user: 'aud' }),
    ]);
    expect(badAt.code).toBe(EXIT_BAD_INPUT);
    expect(badAt.stderr).toMatch(/--at 'next week' must be an ISO-8601 instant/);
    expect(missing.code).toBe(EXIT_NOT_FOUND);
    expect(past.code).toBe(EXIT_REFUSED);
    expect(past.stderr).toMatch(/past/i);
    expect(notAnApprover.code).toBe(EXIT_REFUSED);
    expect(notAnApprover.stderr).toMatch(/422: ana has no standing approval to revoke/);
    expect(noReason.code).toBe(EXIT_BAD_INPUT);
    expect(noReason.stderr).toMatch(/--reason/);
    expect(auditorMoves.code).toBe(EXIT_REFUSED);
    expect(auditorMoves.stderr).toMatch(/403/);
    expect(await head()).toBe(before);

    const inFourDays = `${new Date(clock.now().getTime() + 4 * 24 * 60 * MINUTE).toISOString().slice(0, 10)}T10:00:00.000Z`;
    expect(await ok(['schedule', changeId, '--reason', 'align with the newsletter launch', '--at', inFourDays])).toBe(`${changeId} booked for ${inFourDays}\n`);
    const nextSlot = JSON.parse(await ok(['schedule', changeId, '--reason', 'as soon as allowed', '--json']));
    expect(nextSlot).toMatchObject({ changeRequestId: changeId, booking: { type: 'DeploymentRescheduled', data: { scheduledFor: expect.any(String) } } });
    expect(Date.parse(nextSlot.booking.data.scheduledFor)).toBeGreaterThan(clock.now().getTime());

    const revoked = JSON.parse(await ok(['revoke', changeId, '--reason', 'the newsletter copy changed', '--json'], { user: 'rui' }));
    expect(revoked).toMatchObject({ changeRequestId: changeId });
    const approval = (await api('GET', `/api/streams/approval-${changeId}`, 'aud')).events;
    expect(approval.at(-1)).toMatchObject({ type: 'ApprovalRevoked', data: { approver: 'rui', role: 'code_reviewer', reason: 'the newsletter copy changed' } });
    await until(`${changeId} to wait for approval again`, async () => (await statusOf(changeId)) === 'awaiting_approval');
  }, 120_000);

  it('rollback, promote and abort operate deployments: by role, in state, with --json; refusals exit 3, unknown changes 4', async () => {
    await deployed(await approvedChange('digest', '1.1.0', '1.0.0'));
    const second = await approvedChange('digest', '1.2.0', '1.1.0');
    await deployed(second);

    const before = await quietHead();
    const [auditorRollsBack, noReason, missing, promoteDone, abortDone] = await Promise.all([
      cli(['rollback', second, '--reason', 'slow digests'], { user: 'aud' }),
      cli(['rollback', second]),
      cli(['rollback', 'no-such-change', '--reason', 'x']),
      cli(['promote', second]),
      cli(['abort', second, '--reason', 'too late']),
    ]);
    expect(auditorRollsBack.code).toBe(EXIT_REFUSED);
    expect(auditorRollsBack.stderr).toMatch(/403/);
    expect(noReason.code).toBe(EXIT_BAD_INPUT);
    expect(missing.code).toBe(EXIT_NOT_FOUND);
    expect(promoteDone.code).toBe(EXIT_REFUSED);
    expect(abortDone.code).toBe(EXIT_REFUSED);
    expect(await head()).toBe(before);

    const rolledBack = JSON.parse(await ok(['rollback', second, '--reason', 'digests arrive twice', '--json']));
    expect(rolledBack).toMatchObject({ changeRequestId: second });
    await until('digest 1.1.0 to run in development again', async () => (await api('GET', '/api/versions?service=digest&environment=development', 'ana')).items[0]?.version === '1.1.0');
    const deployment = (await api('GET', `/api/streams/deployment-${second}`, 'aud')).events.filter((e: Json) => e.type === 'DeploymentRolledBack');
    expect(deployment).toEqual([expect.objectContaining({ data: expect.objectContaining({ initiator: 'manual', reason: 'digests arrive twice' }) })]);

    // While a rollout runs (governance time stands still) it can be promoted to its next step (here the last) or aborted.
    const third = await approvedChange('digest', '1.3.0', '1.1.0');
    await until(`${third} to be deploying`, async () => (await statusOf(third)) === 'implementing');
    expect(JSON.parse(await ok(['promote', third, '--json']))).toMatchObject({ changeRequestId: third });
    await until('digest 1.3.0 to run in development', async () => (await api('GET', '/api/versions?service=digest&environment=development', 'ana')).items[0]?.version === '1.3.0');
    const fourth = await approvedChange('digest', '1.4.0', '1.3.0');
    await until(`${fourth} to be deploying`, async () => (await statusOf(fourth)) === 'implementing');
    expect(await ok(['abort', fourth, '--reason', 'the digest template is wrong'])).toMatch(new RegExp(`^aborted ${fourth}`));
    const aborted = (await api('GET', `/api/streams/deployment-${fourth}`, 'aud')).events.map((e: Json) => e.type);
    expect(aborted).toContain('DeploymentAborted');
    expect((await api('GET', '/api/versions?service=digest&environment=development', 'ana')).items[0]?.version).toBe('1.3.0');
  }, 180_000);

  it('hotfix opens the lane, shows it, and its steps refuse what the rules forbid (exit 3, nothing written); bad input exits 2, unknown 4, down 5', async () => {
    const before = await quietHead();
    const [developerOpens, badSeverity, missing, down] = await Promise.all([
      cli(['hotfix', 'open', '--incident', 'INC-42', '--service', 'mailer', '--severity', 'critical']),
      cli(['hotfix', 'open', '--incident', 'INC-42', '--service', 'mailer', '--severity', 'apocalyptic'], { user: 'sam' }),
      cli(['hotfix', 'show', 'no-such-hotfix'], { user: 'sam' }),
      cli(['hotfix', 'show', 'no-such-hotfix'], { user: 'sam', env: { GATEHOUSE_URL: 'http://127.0.0.1:9' } }),
    ]);
    expect(developerOpens.code).toBe(EXIT_REFUSED);
    expect(developerOpens.stderr).toMatch(/403/);
    expect(badSeverity.code).toBe(EXIT_BAD_INPUT);
    expect(badSeverity.stderr).toMatch(/--severity.*apocalyptic/s);
    expect(missing.code).toBe(EXIT_NOT_FOUND);
    expect(down.code).toBe(EXIT_UNAVAILABLE);
    expect(await head()).toBe(before);

    const hotfixId = (await ok(['hotfix', 'open', '--incident', 'INC-42', '--service', 'mailer', '--severity', 'critical'], { user: 'sam' })).trim();
    expect(hotfixId).toMatch(/^[A-Za-z0-9_-]+$/);
    const shown = JSON.parse(await ok(['hotfix', 'show', hotfixId, '--json'], { user: 'sam' }));
    expect(shown.hotfix).toMatchObject({ hotfixId, status: 'identified', incident: { incidentId: 'INC-42', service: 'mailer', severity: 'critical', reportedBy: 'sam' }, branch: null });
    expect(shown.history.map((e: Json) => e.type)).toEqual(['IncidentIdentified']);

    const opened = await quietHead();
    const [wrongTag, validateFirst, reviewFirst, badOutcome] = await Promise.all([
      // Production runs no mailer: no tag can be one production runs.
      cli(['hotfix', 'branch', hotfixId, '--branch', 'hotfix/INC-42', '--from-tag', 'v1.4.0'], { user: 'sam' }),
      cli(['hotfix', 'validate', hotfixId, '--release', 'no-such-release'], { user: 'sam' }),
      cli(['hotfix', 'review', hotfixId, '--ref', 'PIR-42'], { user: 'sam' }),
      cli(['hotfix', 'validated', hotfixId, '--outcome', 'maybe'], { user: 'sam' }),
    ]);
    expect(wrongTag.code).toBe(EXIT_REFUSED);
    expect(wrongTag.stderr).toMatch(/production/);
    expect(validateFirst.code).toBe(EXIT_NOT_FOUND);
    expect(validateFirst.stderr).toMatch(/no-such-release/);
    expect(reviewFirst.code).toBe(EXIT_REFUSED);
    expect(badOutcome.code).toBe(EXIT_BAD_INPUT);
    expect(await head()).toBe(opened);
  }, 120_000);

  describe.each(['github-actions.yml', 'gitlab-ci.yml'])('examples/%s', (file) => {
    it('runs as written: publishes the build and the test gate, deploys to development, promotes to staging and reports its post-deployment checks', async () => {
      const steps = pipelineSteps(YAML.parse(await readFile(path.join(REPO_ROOT, 'examples', file), 'utf8')), file);
      expect(steps.filter((s) => s.waits)).toHaveLength(2);
      // Each example's service, so both book staging's daily window (one deployment of a service per window).
      const service = file.startsWith('github') ? 'notifier' : 'digest';
      // The service's checkout, whose smoke and integration tests pass (the pipeline runs them with npm).
      const checkout = await mkdtemp(path.join(dataDir, `${service}-`));
      await writeFile(path.join(checkout, 'package.json'), JSON.stringify({ name: service, version: '3.0.0', private: true, scripts: { 'test:smoke': 'echo smoke ok', 'test:integration': 'echo integration ok' } }));
      const env = {
        PATH: `${path.join(REPO_ROOT, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}`,
        HOME: dataDir,
        GATEHOUSE_URL: url,
        GATEHOUSE_TOKEN: tokens['ci']!,
        SERVICE: service,
        VERSION: '3.0.0',
        PREVIOUS_VERSION: '2.9.0',
        GITHUB_ACTOR: 'octocat',
        GITHUB_REPOSITORY: `penguinmails/${service}`,
        GITLAB_USER_LOGIN: 'octocat',
        CI_PROJECT_URL: `https://gitlab.example.com/penguinmails/${service}`,
        GITHUB_OUTPUT: path.join(dataDir, `${file}.output`),
      };
      const outputs: Record<string, string> = {};
      const deployed: Record<string, string> = {};
      for (const step of steps) {
        const run = (script: string) => runScript(script, { ...env, ...outputs }, checkout);
        if (!step.waits) {
          const result = await run(step.script);
          if (result.code !== 0) throw new Error(`${file} step "${step.name}" → ${result.code}\n${result.stderr}${result.stdout}`);
          Object.assign(outputs, await readOutputs(env.GITHUB_OUTPUT), exportsOf(result.stdout));
          continue;
        }
        // The pipeline waits; reviewers approve the change it opened, and time passes until it is deployed.
        const changeId = outputs[step.waits];
        expect(changeId).toMatch(/^[A-Za-z0-9_-]+$/);
        const environment = (await api('GET', `/api/change-requests/${changeId}`, 'aud')).changeRequest.draft.environments[0] as string;
        const waiting = run(step.script);
        await reviewAndApproveOverHttp(changeId!);
        // Staging also asks its tech lead, and deploys in its daily window: time moves to the booking.
        if (environment === 'staging') await approveAs(changeId!, 'tess', 'tech_lead');
        await untilBooked(changeId!);
        // Time stops once it is deployed: the post-deployment checks run in the pipeline's next step, within
        // the validation's time (time racing on while the wait polls would time the validation out first).
        const result = await whileTimePasses(waiting, MINUTE, async () => ['validating', 'validated', 'closed'].includes(await statusOf(changeId!)));
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain(`${changeId} deployed to ${environment}`);
        const change = await api('GET', `/api/change-requests/${changeId}`, 'aud');
        expect(change.changeRequest.draft).toMatchObject({ author: 'ci', initiator: 'octocat' });
        deployed[environment] = changeId!;
      }
      expect(Object.keys(deployed).sort()).toEqual(['development', 'staging']);
      // The pipeline reported staging's checks: the change holds both results, reported by the CI identity.
      const staging = await api('GET', `/api/change-requests/${deployed['staging']}`, 'aud');
      const checks = staging.history.filter((e: Json) => e.type === 'PostDeploymentCheckRecorded').map((e: Json) => [e.data.check, e.data.status, e.data.reportedBy]);
      expect(checks.sort()).toEqual([
        ['integration', 'passed', 'ci'],
        ['smoke', 'passed', 'ci'],
      ]);
      // With both checks passed in time, the change is validated once its post-deployment watch has passed (then closed).
      const validated = async () => (await api('GET', `/api/change-requests/${deployed['staging']}`, 'aud')).history.some((e: Json) => e.type === 'ChangeValidated');
      await whileTimePasses(until(`${deployed['staging']} validated`, validated, 60_000), MINUTE);
    }, 180_000);
  });
});

/** A step that runs the gatehouse CLI (not one that installs it). */
const CALLS_GATEHOUSE = /\bgatehouse (ci|release|cr|review|approve) /;

interface Step {
  name: string;
  script: string;
  /** For a `gatehouse ci wait "$VAR"` step: the variable holding the change it waits for. */
  waits: string | undefined;
}

const WAITS_FOR = /gatehouse ci wait "\$([A-Z_]+)"/;

/** The shell steps of a GitHub Actions workflow (jobs.*.steps[].run) or a GitLab CI file (jobs' script lines), in order. */
function pipelineSteps(document: Json, file: string): Step[] {
  const steps: Step[] = [];
  if (file.startsWith('github')) {
    for (const job of Object.values(document.jobs) as Json[]) {
      for (const step of job.steps ?? []) {
        // The happy path: steps that run when the ones before succeeded (not the `if: failure()` reports).
        const runsOnSuccess = step.if === undefined || step.if === 'success()';
        if (typeof step.run === 'string' && CALLS_GATEHOUSE.test(step.run) && runsOnSuccess) steps.push({ name: step.name ?? step.run, script: step.run, waits: WAITS_FOR.exec(step.run)?.[1] });
      }
    }
  } else {
    const stages: string[] = document.stages ?? [];
    const jobs = Object.entries(document).filter(([name, job]) => !name.startsWith('.') && typeof job === 'object' && job !== null && Array.isArray((job as Json).script) && (job as Json).when !== 'on_failure') as [string, Json][];
    jobs.sort(([, a], [, b]) => stages.indexOf(a.stage) - stages.indexOf(b.stage));
    for (const [name, job] of jobs) {
      const script = (job.script as string[]).join('\n');
      if (CALLS_GATEHOUSE.test(script)) steps.push({ name, script, waits: WAITS_FOR.exec(script)?.[1] });
    }
  }
  return steps;
}

function runScript(script: string, env: Record<string, string>, cwd: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // No stdin: Debian's bash reads /etc/bash.bashrc when its stdin is a socket (it takes it for rshd).
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** GitHub's step outputs: NAME=value lines appended to $GITHUB_OUTPUT. */
async function readOutputs(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** GitLab passes values between jobs as dotenv artifacts; its example echoes NAME=value lines to build.env and the log. */
function exportsOf(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.split('\n').filter((l) => /^[A-Z_]+=\S+$/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
