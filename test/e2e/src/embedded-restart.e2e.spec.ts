/**
 * `npm start`'s one process (apps/gatehouse: PGlite in its data folder, the in-process bus), killed with
 * SIGKILL while lifecycles are in flight and started again on the same data folder, three times: right after
 * the development approvals land (bookings and starts in flight), during the development deployments, and
 * during the staging rolling updates. Every lifecycle still ends, nothing happens twice (one booking, one
 * deployment, each step applied to the sandbox cluster once), nothing is dead-lettered, the hash chains
 * verify, and a timer armed before the first kill (a release prerequisite's deadline) fires once after the
 * restarts, when the clock reaches it.
 *
 * The process is the built one (`node apps/gatehouse/dist/main.js`, what `npm start` runs), on its own port
 * and data folder. Its clock starts at GATEHOUSE_CLOCK and is pinned through the admin endpoint; a restart
 * starts it where the test had it, as a person restarting a demo would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { entryPoint, freePort, GatehouseClient, HOUR, type Json, type ManagedProcess, MINUTE, REPO_ROOT, SEED_VALIDATION_CHECKS, startProcess, TICK_INTERVAL_MS } from '@gatehouse/testing';
import { draft, passGates, review } from './scenarios.js';

const MONDAY_MORNING = '2026-11-30T09:00:00.000Z';
const STAGING_SLOT = '2026-11-30T14:00:00.000Z';
const PREREQUISITE_DEADLINE = '2026-11-30T12:00:00.000Z';
const SERVICES = ['mailer-api', 'billing-api', 'search-api'];

describe('npm start killed with kill -9 mid-flight and restarted on its data folder', () => {
  let dir = '';
  let gatehouse: ManagedProcess;
  let client: GatehouseClient;
  const env: Record<string, string> = {};
  const restarts: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-e2e-restart-'));
    const jwtSecret = randomBytes(24).toString('hex');
    Object.assign(env, {
      GATEHOUSE_DATA_DIR: path.join(dir, 'data'),
      GATEHOUSE_POLICIES: path.join(REPO_ROOT, 'deploy', 'policies'),
      GATEHOUSE_SANDBOX_STATE: path.join(dir, 'sandbox.json'),
      GATEHOUSE_CLOCK: MONDAY_MORNING,
      GATEHOUSE_CLOCK_CONTROL: 'on',
      GATEHOUSE_TICK_INTERVAL_MS: String(TICK_INTERVAL_MS),
      GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
      GATEHOUSE_JWT_SECRET: jwtSecret,
      LOG_LEVEL: process.env['DEBUG_E2E'] === '1' ? 'info' : 'warn',
    });
    // `env` is read at every (re)start: a restart takes the clock the test last set.
    gatehouse = await startProcess({ name: 'gatehouse', entry: entryPoint('gatehouse'), env, unset: ['DATABASE_URL', 'NATS_URL'], port: await freePort(), logFile: path.join(dir, 'gatehouse.log'), startTimeoutMs: 120_000 });
    client = new GatehouseClient(gatehouse.url, jwtSecret, MONDAY_MORNING);
    await client.setClock(MONDAY_MORNING);
  }, 180_000);

  afterAll(async () => {
    await gatehouse?.stop();
    if (process.env['DEBUG_E2E'] !== '1') await rm(dir, { recursive: true, force: true });
  });

  /** kill -9, then the same command on the same data folder, its clock starting where the test had it and pinned a minute on. */
  async function crashAndRestart(): Promise<void> {
    await gatehouse.kill('SIGKILL');
    env['GATEHOUSE_CLOCK'] = client.now.toISOString();
    const started = Date.now();
    await gatehouse.restart();
    restarts.push(Date.now() - started);
    await client.advance(MINUTE);
  }

  const statusOf = (changeRequestId: string) => client.changeStatus(changeRequestId);
  const count = async (streamId: string, type: string) => (await client.eventTypes(streamId)).filter((t) => t === type).length;

  /** Moves the clock `step` at a time until every change is `wanted`. */
  /** `validation`: the post-deployment checks CI reports passed for each change once it is validating. */
  async function advanceUntilAll(changes: string[], wanted: string, step: number, limit: number, validation?: readonly string[]): Promise<void> {
    const until = client.now.getTime() + limit;
    const reported = new Set<string>();
    for (;;) {
      const statuses = await Promise.all(changes.map(statusOf));
      if (statuses.every((s) => s === wanted)) return;
      for (const [i, change] of changes.entries()) {
        if (validation === undefined || statuses[i] !== 'validating' || reported.has(change)) continue;
        await client.publishValidation(change, validation);
        reported.add(change);
      }
      if (client.now.getTime() > until) throw new Error(`not every change ${wanted} by ${client.now.toISOString()}: ${changes.map((c, i) => `${c} ${statuses[i]}`).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 400));
      await client.advance(step);
    }
  }

  async function submitted(environment: string, releaseId: string): Promise<string> {
    await passGates(client, releaseId, environment);
    return (await client.ok('POST', '/api/change-requests', 'ana', draft(client, environment, releaseId))).changeRequestId;
  }

  async function approved(changeRequestId: string, approvers: [string, string][]): Promise<void> {
    await client.waitFor(`approval request of ${changeRequestId}`, async () => (await client.events(`approval-${changeRequestId}`)).length > 0);
    for (const [user, role] of approvers) await client.ok('POST', `/api/change-requests/${changeRequestId}/approvals`, user, { role });
  }

  /** Steps the sandbox cluster applied for the change's deployment, in order. */
  async function appliedSteps(changeRequestId: string): Promise<number[]> {
    const { SandboxTarget } = await import('@gatehouse/deployments');
    const started = (await client.events(`deployment-${changeRequestId}`)).find((e: Json) => e.type === 'DeploymentStarted');
    return SandboxTarget.operationsIn(env['GATEHOUSE_SANDBOX_STATE']!)
      .filter((op) => op.kind === 'apply' && op.step.deploymentId === started?.data.deploymentId)
      .map((op) => (op.kind === 'apply' ? op.step.index : -1));
  }

  it('ends every development and staging lifecycle once, with no dead letter, and fires the armed timer once', async () => {
    const releases: string[] = [];
    for (const service of SERVICES) {
      const body = { service, version: '1.1.0', type: 'minor', title: `${service} 1.1.0`, previousVersion: '1.0.0', changes: [{ kind: 'feature', description: `feature of ${service}` }] };
      releases.push((await client.ok('POST', '/api/releases', 'ana', body)).releaseId);
    }
    // A timer armed before any crash: a prerequisite of another release (an open one holds its changes' approval)
    // falls overdue at noon, hours of clock time later.
    const planned = { service: 'gateway-api', version: '2.0.0', type: 'major', title: 'gateway-api 2.0.0', previousVersion: '1.9.0', changes: [{ kind: 'feature', description: 'new endpoints' }] };
    const plannedRelease: string = (await client.ok('POST', '/api/releases', 'ana', planned)).releaseId;
    const prerequisite = { prerequisiteId: 'dns-cutover', type: 'infrastructure', description: 'DNS records for the new endpoints', owner: 'sam', deadline: PREREQUISITE_DEADLINE };
    await client.ok('POST', `/api/releases/${plannedRelease}/prerequisites`, 'rel', prerequisite);
    const timerStream = `workflowTimer-releasePlan-${plannedRelease}:overdue:dns-cutover`;
    await client.waitFor('the prerequisite deadline to be armed', async () => (await client.eventTypes(timerStream)).includes('TimerArmed'));

    // Development: approved, then killed while bookings and starts are in flight.
    const development = await Promise.all(releases.map((releaseId) => submitted('development', releaseId)));
    for (const change of development) await review(client, change);
    for (const change of development) await approved(change, [['rui', 'code_reviewer']]);
    await crashAndRestart();

    // Killed again once the deployments run.
    await client.waitFor('a development deployment to start', async () => (await Promise.all(development.map((c) => count(`deployment-${c}`, 'DeploymentStarted')))).some((n) => n > 0), { timeoutMs: 60_000, intervalMs: 200 });
    await crashAndRestart();
    await advanceUntilAll(development, 'closed', 5 * MINUTE, 3 * HOUR);

    // Staging: booked into the 14:00 slot; the clock jumps there (past the prerequisite's deadline) and the process dies mid-rollout.
    const staging = await Promise.all(releases.map((releaseId) => submitted('staging', releaseId)));
    for (const change of staging) await review(client, change);
    for (const change of staging) await approved(change, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await advanceUntilAll(staging, 'scheduled', MINUTE, 30 * MINUTE);
    expect(await count(`releasePlan-${plannedRelease}`, 'ReleasePrerequisiteOverdue')).toBe(0);
    await client.setClock(STAGING_SLOT);
    await client.waitFor('a staging rollout to be under way', async () => (await Promise.all(staging.map((c) => count(`deployment-${c}`, 'DeploymentStepStarted')))).some((n) => n > 0), { timeoutMs: 60_000, intervalMs: 200 });
    await crashAndRestart();
    await advanceUntilAll(staging, 'closed', 10 * MINUTE, 4 * HOUR, SEED_VALIDATION_CHECKS);

    // Each change: one booking, one deployment, every step applied to the cluster once, closed once.
    const found = [];
    for (const change of [...development, ...staging]) {
      const deployment = await client.events(`deployment-${change}`);
      found.push({
        change,
        booked: await count(`schedule-${change}`, 'DeploymentScheduled'),
        started: deployment.filter((e: Json) => e.type === 'DeploymentStarted').length,
        succeeded: deployment.filter((e: Json) => e.type === 'DeploymentSucceeded').length,
        closed: await count(`changeRequest-${change}`, 'ChangeClosed'),
        applied: await appliedSteps(change),
        completed: deployment.filter((e: Json) => e.type === 'DeploymentStepCompleted').map((e: Json) => e.data.index as number),
      });
    }
    const once = (steps: number[]) => ({ booked: 1, started: 1, succeeded: 1, closed: 1, applied: steps, completed: steps });
    expect(found).toEqual([...development.map((change) => ({ change, ...once([0]) })), ...staging.map((change) => ({ change, ...once([0, 1, 2, 3]) }))]);

    // The timer armed before the first kill fired once, after the restarts, and its fact is recorded once.
    await client.waitFor('the prerequisite timer to fire', async () => (await client.eventTypes(timerStream)).includes('TimerFired'));
    expect(await client.eventTypes(timerStream)).toEqual(['TimerArmed', 'TimerFired']);
    const overdue = (await client.events(`releasePlan-${plannedRelease}`)).filter((e: Json) => e.type === 'ReleasePrerequisiteOverdue');
    expect(overdue).toHaveLength(1);
    expect(overdue[0].data).toMatchObject({ prerequisiteId: 'dns-cutover', deadline: PREREQUISITE_DEADLINE });
    expect(Date.parse(overdue[0].data.detectedAt)).toBeGreaterThanOrEqual(Date.parse(PREREQUISITE_DEADLINE));

    expect((await client.ok('GET', '/api/admin/dead-letters', 'sam')).deadLetters).toEqual([]);
    expect((await client.ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
    expect(restarts).toHaveLength(3);
    console.log(`embedded restart: ${found.length} lifecycles closed across 3 kill -9 (restarts took ${restarts.join(', ')} ms)`);
  }, 300_000);
});
