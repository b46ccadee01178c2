/**
 * Feature flags (issue 10, "Feature flags, reachable") through the HTTP API and the CLI of the one-process
 * Gatehouse: who may change a flag where (the policy's deploy roles), bad input named by field, sticky
 * bucketing, and a feature-flag deployment ramping its service's flag step by step and turning it off when
 * rolled back. Every refusal is checked for the events it did not write.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SettableClock, settableClock } from '@gatehouse/domain';
import { readGatewayConfig } from '@gatehouse/gateway';
import { SignJWT } from 'jose';
import murmur from 'murmurhash';
import { type RunningGatehouse, startGatehouse } from './gatehouse.js';
import { approvalRequested } from './test-support/approvals.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const POLICIES = path.join(ROOT, 'deploy/policies');
/** The built CLI, run as a user runs it (`npm run build` first). */
const CLI = path.join(ROOT, 'apps/cli/dist/main.js');
const JWT_SECRET = 'feature-flags-secret-of-at-least-32-chars';
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Users the bucketing property is checked over. */
const USERS = 300;
/** Evaluations in flight at once. */
const CONCURRENCY = 20;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function tokenFor(sub: string, roles: string[]): Promise<string> {
  return new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('feature flags through the HTTP API and the CLI', () => {
  let dataDir: string;
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-flags-'));
    // The policy as shipped, except that development deploys with the feature-flag strategy (10 → 50 → 100 % over 30 min).
    const policies = path.join(dataDir, 'policies');
    await cp(POLICIES, policies, { recursive: true });
    const development = path.join(policies, 'development.yaml');
    const text = await readFile(development, 'utf8');
    await writeFile(development, text.replace('  default: big-bang\n', '  default: feature-flag\n  featureFlag:\n    steps: [10, 50, 100]\n    totalMinutes: 30\n'));
    clock = settableClock(MONDAY_MORNING);
    const config = readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: policies, GATEHOUSE_JWT_SECRET: JWT_SECRET, LOG_LEVEL: process.env['DEBUG_FLAGS'] ? 'warn' : 'silent' });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    tokens.sam = await tokenFor('sam', ['sre']);
    tokens.ana = await tokenFor('ana', ['developer', 'code_reviewer']);
    tokens.rui = await tokenFor('rui', ['code_reviewer']);
    tokens.aud = await tokenFor('aud', ['auditor']);
  }, 120_000);
  afterAll(async () => {
    await gatehouse?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: string, url: string, user: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${gatehouse.gateway.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${tokens[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }
  async function ok(method: string, url: string, user: string, body?: unknown): Promise<Json> {
    const response = await call(method, url, user, body);
    if (response.status >= 300) throw new Error(`${method} ${url} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }
  const flagEvents = async (name: string): Promise<Json[]> => (await ok('GET', `/api/streams/flag-${name}`, 'aud')).events;
  const countOf = async (type: string): Promise<number> => (await ok('GET', `/api/events?type=${type}&limit=1000`, 'aud')).events.length;
  function gatehouseCli(args: string[], user: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, GATEHOUSE_URL: gatehouse.gateway.url, GATEHOUSE_TOKEN: tokens[user] };
    return new Promise((resolve) => {
      const started = Date.now();
      execFile(process.execPath, [CLI, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) => {
        if (process.env['DEBUG_FLAGS']) process.stderr.write(`gatehouse ${args.join(' ')}: ${Date.now() - started} ms, ${String(error?.code ?? 0)} ${stderr}\n`);
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      });
    });
  }

  it('changes a flag only with the environment’s deploy roles, names bad fields, and writes nothing when it refuses', async () => {
    const created = await ok('PUT', '/api/flags/new-checkout', 'sam', { environment: 'production', description: 'The new checkout', enabled: true, rollout: { strategy: 'percentage', percentage: 30 } });
    expect(created).toMatchObject({ events: ['FeatureFlagChanged'], flag: { name: 'new-checkout', environments: { production: { enabled: true, rollout: { strategy: 'percentage', percentage: 30 }, changedBy: 'sam' } } } });
    const changes = await countOf('FeatureFlagChanged');

    // A developer may operate development, not production (deploy/policies: access.deploy).
    const developer = await call('PATCH', '/api/flags/new-checkout', 'ana', { environment: 'production', rollout: { strategy: 'immediate' } });
    expect(developer).toMatchObject({ status: 403, body: { error: 'FlagChangeForbiddenError' } });
    expect(developer.body.message).toContain('sre, release_engineer');
    expect(await ok('PUT', '/api/flags/new-checkout', 'ana', { environment: 'development', enabled: true, rollout: { strategy: 'immediate' } })).toMatchObject({ events: ['FeatureFlagChanged'] });

    const refusals: Array<[string, string, unknown, number, string]> = [
      ['PUT', '/api/flags/new-checkout', { environment: 'production', enabled: 'yes', rollout: { strategy: 'percentage', percentage: 130 } }, 400, 'rollout.percentage'],
      ['PUT', '/api/flags/new-checkout', { environment: 'production', enabled: true, rollout: { strategy: 'canary' } }, 400, 'rollout.strategy'],
      ['PUT', '/api/flags/new-checkout', { environment: 'production', enabled: true, rollout: { strategy: 'gradual', startAt: '2026-12-02T00:00:00Z', rampEndAt: '2026-12-01T00:00:00Z' } }, 400, 'rollout.rampEndAt'],
      ['PUT', '/api/flags/new-checkout', { enabled: true, rollout: { strategy: 'immediate' } }, 400, 'environment'],
      ['PUT', '/api/flags/Not%20A%20Name', { environment: 'production', enabled: true, rollout: { strategy: 'immediate' } }, 400, 'name'],
      ['PUT', '/api/flags/new-checkout', { environment: 'moon', enabled: true, rollout: { strategy: 'immediate' } }, 404, 'moon'],
      ['PATCH', '/api/flags/new-checkout', { environment: 'dr', enabled: true }, 404, 'PUT'],
      ['PATCH', '/api/flags/new-checkout', { environment: 'production', colour: 'red' }, 400, 'colour'],
    ];
    for (const [method, url, body, status, named] of refusals) {
      const refused = await call(method, url, 'sam', body);
      expect({ url, body, status: refused.status }).toEqual({ url, body, status });
      expect(JSON.stringify(refused.body)).toContain(named);
    }
    expect(await countOf('FeatureFlagChanged')).toBe(changes + 1);
    // The same setting again is not a change.
    expect(await ok('PATCH', '/api/flags/new-checkout', 'sam', { environment: 'production', enabled: true })).toMatchObject({ events: [] });
    expect((await flagEvents('new-checkout')).map((e: Json) => [e.type, e.data.environment, e.metadata.actor])).toEqual([
      ['FeatureFlagChanged', 'production', 'sam'],
      ['FeatureFlagChanged', 'development', 'ana'],
    ]);
    expect((await ok('GET', '/api/flags', 'aud')).flags.map((f: Json) => f.name)).toContain('new-checkout');
    expect((await ok('GET', '/api/flags/new-checkout', 'aud')).flag.environments.development.rollout).toEqual({ strategy: 'immediate' });
    expect(await call('GET', '/api/flags/no-such-flag', 'aud')).toMatchObject({ status: 404 });
  });

  it('buckets users stickily (same user, same answer; about the percentage of users on) and honours segments and dates', async () => {
    const evaluate = async (userId: string): Promise<Json> => ok('GET', `/api/flags/new-checkout/evaluate?environment=production&userId=${userId}`, 'aud');
    const evaluateAll = async (userIds: string[]): Promise<Json[]> => {
      const replies: Json[] = [];
      for (let i = 0; i < userIds.length; i += CONCURRENCY) replies.push(...(await Promise.all(userIds.slice(i, i + CONCURRENCY).map(evaluate))));
      return replies;
    };
    const users = Array.from({ length: USERS }, (_, i) => `user-${i}`);
    const answers = new Map<string, boolean>();
    for (const reply of await evaluateAll(users)) {
      // The bucket is Unleash's: murmur3("<flag>:<user>") % 100 + 1, independent of the server's state.
      expect(reply.bucket).toBe((murmur.v3(new TextEncoder().encode(`new-checkout:${reply.userId}`), 0) % 100) + 1);
      answers.set(reply.userId, reply.enabled);
    }
    for (const reply of await evaluateAll(users.filter((_, i) => i % 10 === 0))) expect(reply.enabled).toBe(answers.get(reply.userId));
    const share = [...answers.values()].filter(Boolean).length / USERS;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.38);
    // Raised to 60 %: everyone on at 30 % stays on (the same bucket), more join.
    await ok('PATCH', '/api/flags/new-checkout', 'sam', { environment: 'production', rollout: { strategy: 'percentage', percentage: 60 } });
    let wider = 0;
    for (const reply of await evaluateAll(users.filter((_, i) => i % 3 === 0))) {
      if (answers.get(reply.userId)) expect(reply.enabled).toBe(true);
      if (reply.enabled) wider += 1;
    }
    expect(wider / (USERS / 3)).toBeGreaterThan(share);

    await ok('PUT', '/api/flags/beta-banner', 'sam', { environment: 'production', enabled: true, rollout: { strategy: 'user_segment', userSegments: ['beta-testers', 'staff'] } });
    expect(await ok('GET', '/api/flags/beta-banner/evaluate?environment=production&userId=u1&segment=staff', 'aud')).toMatchObject({ enabled: true, reason: 'user is in segment staff' });
    expect(await ok('GET', '/api/flags/beta-banner/evaluate?environment=production&userId=u1&segment=enterprise', 'aud')).toMatchObject({ enabled: false });
    expect(await ok('GET', '/api/flags/beta-banner/evaluate?environment=staging&userId=u1&segment=staff', 'aud')).toMatchObject({ enabled: false, reason: 'flag has no setting in staging' });
    expect(await call('GET', '/api/flags/beta-banner/evaluate?userId=u1', 'aud')).toMatchObject({ status: 400 });

    // Gradual by date, on the injectable clock.
    const startAt = new Date(clock.now().getTime() + HOUR).toISOString();
    await ok('PUT', '/api/flags/winter-theme', 'sam', { environment: 'production', enabled: true, rollout: { strategy: 'gradual', startAt } });
    expect((await ok('GET', '/api/flags/winter-theme/evaluate?environment=production&userId=u1', 'aud')).enabled).toBe(false);
    clock.advance(HOUR);
    expect((await ok('GET', '/api/flags/winter-theme/evaluate?environment=production&userId=u1', 'aud')).enabled).toBe(true);
  }, 60_000);

  it('serves gatehouse flags list|show|set|evaluate', async () => {
    const set = await gatehouseCli(['flags', 'set', 'dark-mode', '--environment', 'production', '--on', '--rollout', 'percentage', '--percentage', '100', '--description', 'Dark mode'], 'sam');
    expect(set).toMatchObject({ code: 0, stdout: expect.stringContaining('FeatureFlagChanged') });
    expect(set.stdout).toContain('production\ton\tpercentage 100%\tsam');
    const refused = await gatehouseCli(['flags', 'set', 'dark-mode', '--environment', 'production', '--off', '--patch'], 'ana');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('403 FlagChangeForbiddenError');
    expect((await gatehouseCli(['flags', 'list', '--environment', 'production'], 'aud')).stdout).toMatch(/dark-mode\n {2}production\ton\tpercentage 100%/);
    expect((await gatehouseCli(['flags', 'show', 'dark-mode'], 'aud')).stdout).toContain('dark-mode: Dark mode');
    expect(await gatehouseCli(['flags', 'evaluate', 'dark-mode', '--environment', 'production', '--user', 'u9'], 'aud')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^on\tbucket \d+ vs 100 %/) });
    expect((await flagEvents('dark-mode')).length).toBe(1);
    // Five processes of the real binary: about a second each on an idle machine, far more on a busy one.
  }, 120_000);

  it('ramps the service’s flag through a feature-flag deployment’s steps (intent, then effect) and turns it off on rollback', async () => {
    await ok('PUT', '/api/flags/smart-send', 'ana', { environment: 'development', service: 'campaign-api', description: 'Smart send times', enabled: false, rollout: { strategy: 'immediate' } });
    const { releaseId } = await ok('POST', '/api/releases', 'ana', {
      service: 'campaign-api',
      version: '2.10.0',
      type: 'minor',
      title: 'Smart send',
      previousVersion: '2.9.0',
      changes: [{ kind: 'feature', description: 'Smart send times behind a flag' }],
    });
    const at = clock.now().toISOString();
    await ok('POST', '/api/ingest', 'ana', {
      specversion: '1.0',
      id: `${releaseId}-development-unit-tests`,
      source: 'ci/tests',
      type: 'gatehouse.testgate.result',
      data: { release: { releaseId }, environment: 'development', gateId: 'unit-tests', status: 'passed', startedAt: at, finishedAt: at },
    });
    const { changeRequestId } = await ok('POST', '/api/change-requests', 'ana', {
      kind: 'normal',
      title: 'campaign-api 2.10.0 to development',
      description: 'Smart send',
      type: 'enhancement',
      priority: 'medium',
      impact: 'low',
      risk: 'low',
      environments: ['development'],
      schedule: { planned: at, duration: 60 },
      implementationPlan: 'Ship dark, ramp the flag',
      rollbackPlan: 'Turn the flag off',
      testingPlan: 'Unit suites',
      releaseId,
    });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'fine' });
    await approvalRequested((stream) => ok('GET', `/api/streams/${stream}`, 'aud'), changeRequestId);
    await ok('POST', `/api/change-requests/${changeRequestId}/approvals`, 'rui', { role: 'code_reviewer' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const deployment = (await ok('GET', `/api/streams/deployment-${changeRequestId}`, 'aud')).events.map((e: Json) => e.type);
      if (deployment.includes('DeploymentSucceeded')) break;
      if (Date.now() > deadline) throw new Error(`deployment did not finish: ${deployment.join(', ')}`);
      clock.advance(MINUTE);
      await pause(60);
    }
    const ramps = (await flagEvents('smart-send')).filter((e: Json) => e.type === 'FeatureFlagRamped');
    expect(ramps.map((e: Json) => [e.data.stepIndex, e.data.percentage, e.data.enabled])).toEqual([
      [0, 0, true],
      [1, 10, true],
      [2, 50, true],
      [3, 100, true],
    ]);
    // Each ramp follows the step's intent in the deployment stream and precedes its recorded outcome.
    const deployment = (await ok('GET', `/api/streams/deployment-${changeRequestId}`, 'aud')).events as Json[];
    for (const ramp of ramps) {
      const intent = deployment.find((e) => e.type === 'DeploymentStepStarted' && e.data.index === ramp.data.stepIndex);
      const outcome = deployment.find((e) => e.type === 'DeploymentStepApplied' && e.data.index === ramp.data.stepIndex);
      expect(BigInt(intent.globalPosition)).toBeLessThan(BigInt(ramp.globalPosition));
      expect(BigInt(ramp.globalPosition)).toBeLessThan(BigInt(outcome.globalPosition));
    }
    expect((await ok('GET', '/api/flags/smart-send/evaluate?environment=development&userId=u1', 'aud')).enabled).toBe(true);

    await ok('POST', `/api/deployments/${changeRequestId}/rollback`, 'ana', { reason: 'smart send mis-times campaigns' });
    const until = Date.now() + 20_000;
    while (!(await flagEvents('smart-send')).some((e: Json) => e.type === 'FeatureFlagTurnedOff')) {
      if (Date.now() > until) throw new Error('the rollback did not turn the flag off');
      await pause(50);
    }
    expect((await ok('GET', '/api/flags/smart-send/evaluate?environment=development&userId=u1', 'aud')).enabled).toBe(false);
    expect((await flagEvents('smart-send')).filter((e: Json) => e.type === 'FeatureFlagTurnedOff')).toHaveLength(1);

    // Nobody but the deployments service ramps a flag: a person sending the command is refused and nothing is written.
    const before = (await flagEvents('smart-send')).length;
    const forged = await gatehouse.services.commandsAs({ subject: 'ana', roles: ['developer'] }).send('flags', 'rampFlags', {
      commandId: 'forged-ramp', deploymentId: 'd-forged', changeRequestId, service: 'campaign-api', environment: 'development', stepIndex: 0, percentage: 100,
    }).catch((error: unknown) => error);
    expect(String(forged)).toContain('only the deployments service ramps flags');
    expect((await flagEvents('smart-send')).length).toBe(before);
  }, 90_000);
});
