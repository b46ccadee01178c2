/**
 * The whole system in one process (what `npm start` runs), driven only through the HTTP API,
 * with the clock fast-forwarded: a release goes development → staging → production.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SettableClock, settableClock } from '@gatehouse/domain';
import { readGatewayConfig } from '@gatehouse/gateway';
import { validationResults } from '@gatehouse/testing';
import { SignJWT } from 'jose';
import { type RunningGatehouse, startGatehouse } from './gatehouse.js';
import { approvalRequested } from './test-support/approvals.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const JWT_SECRET = 'lifecycle-test-secret-of-at-least-32-characters';
/** Monday after Thanksgiving weekend, 09:00 UTC: staging's 14:00 slot is today, production's next window Tuesday 10:00. */
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function tokenFor(sub: string, roles: string[]): Promise<string> {
  return new SignJWT({ roles, name: sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    // The test clock runs weeks ahead of the real one; tokens are checked against real time.
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

describe('one-process Gatehouse through its HTTP API', () => {
  let dataDir: string;
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-lifecycle-'));
    clock = settableClock(MONDAY_MORNING);
    const config = readGatewayConfig({
      PORT: '0',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: process.env['DEBUG_LIFECYCLE'] ? 'warn' : 'silent',
    });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    tokens.ana = await tokenFor('ana', ['developer']);
    tokens.rui = await tokenFor('rui', ['code_reviewer']);
    tokens.tess = await tokenFor('tess', ['tech_lead']);
    tokens.sam = await tokenFor('sam', ['sre']);
    // The audit log (/api/events, /api/streams, /api/audit/verify) is for auditor-like roles only.
    tokens.aud = await tokenFor('aud', ['auditor']);
  }, 120_000); // a new data folder: initdb runs in a child process first (~30 s on a busy two-core machine)
  afterAll(async () => {
    await gatehouse?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: 'GET' | 'POST', url: string, user: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${gatehouse.gateway.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${tokens[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }

  async function ok(method: 'GET' | 'POST', url: string, user: string, body?: unknown): Promise<Json> {
    const response = await call(method, url, user, body);
    if (response.status >= 300) throw new Error(`${method} ${url} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  const statusOf = async (changeRequestId: string): Promise<string> =>
    (await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.status;

  /**
   * Moves the clock in steps, giving the services real time to react, until the change reaches the status.
   * `scrape`: a metric source pushes one healthy error_rate sample for that service and environment at every
   * step (production analyses every canary step and the watch, and too few samples pauses the rollout).
   */
  async function advanceUntilStatus(
    changeRequestId: string,
    wanted: string,
    { step = 5 * MINUTE, limit = 3 * 24 * HOUR, scrape }: { step?: number; limit?: number; scrape?: { service: string; environment: string } } = {},
  ): Promise<void> {
    const start = clock.now().getTime();
    for (;;) {
      if (scrape !== undefined) {
        // Refused (422 NoActiveWatchError) before the deployment starts and after its watch ends: nothing to watch then.
        const pushed = await call('POST', '/api/metrics/samples', 'sam', { ...scrape, samples: [{ metric: 'error_rate', at: clock.now().toISOString(), value: 0.001 }] });
        if (pushed.status !== 200 && pushed.body?.error !== 'NoActiveWatchError') throw new Error(`samples refused: ${pushed.status} ${JSON.stringify(pushed.body)}`);
      }
      const status = await statusOf(changeRequestId);
      if (process.env['DEBUG_LIFECYCLE']) process.stderr.write(`${clock.now().toISOString()} ${changeRequestId.slice(0, 8)} ${status} (want ${wanted})\n`);
      if (status === wanted) return;
      if (clock.now().getTime() - start > limit) {
        const watch = await ok('GET', `/api/streams/watch-${changeRequestId}`, 'aud');
        const deployment = await ok('GET', `/api/streams/deployment-${changeRequestId}`, 'aud');
        const summary = [...deployment.events, ...watch.events].map((e: Json) => `${e.type} ${JSON.stringify(e.data).slice(0, 300)}`);
        throw new Error(`change ${changeRequestId} stuck in '${status}', wanted '${wanted}':\n${summary.join('\n')}`);
      }
      clock.advance(step);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
  }

  function draft(environment: string, releaseId: string, extra: object = {}) {
    return {
      kind: 'normal',
      title: `campaign-api 2.2.0 to ${environment}`,
      description: 'Scheduling with time zones',
      type: 'enhancement',
      priority: 'medium',
      impact: 'low',
      risk: 'low',
      environments: [environment],
      schedule: { planned: clock.now().toISOString(), duration: 120 },
      implementationPlan: 'Roll out the new image',
      rollbackPlan: 'Roll back to 2.1.0',
      testingPlan: 'Staging suites and canary analysis',
      releaseId,
      ...extra,
    };
  }

  async function reviewAndApprove(changeRequestId: string, approvers: [user: string, role: string][]): Promise<void> {
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'looks right' });
    await approvalRequested((stream) => ok('GET', `/api/streams/${stream}`, 'aud'), changeRequestId);
    for (const [user, role] of approvers) await ok('POST', `/api/change-requests/${changeRequestId}/approvals`, user, { role });
  }

  /** The environment's testing gates (deploy/policies), as CI would report them passed before a change goes there. */
  const GATES: Record<string, string[]> = { development: ['unit-tests'], production: ['integration-tests', 'e2e-tests', 'performance-tests', 'security-tests'] };
  async function passGates(releaseId: string, environment: string): Promise<void> {
    const at = clock.now().toISOString();
    for (const gateId of GATES[environment] ?? []) {
      const data = { release: { releaseId }, environment, gateId, status: 'passed', startedAt: at, finishedAt: at };
      await ok('POST', '/api/ingest', 'ana', { specversion: '1.0', id: `${releaseId}-${environment}-${gateId}`, source: 'ci/tests', type: 'gatehouse.testgate.result', data });
    }
  }

  /** CI reports the change's post-deployment checks passed (the seed policies ask for them in staging and production). */
  async function publishValidation(changeRequestId: string): Promise<void> {
    for (const event of validationResults(changeRequestId)) await ok('POST', '/api/ingest', 'ana', event);
  }

  async function submit(environment: string, releaseId: string, extra: object = {}): Promise<string> {
    await passGates(releaseId, environment);
    return (await ok('POST', '/api/change-requests', 'ana', draft(environment, releaseId, extra))).changeRequestId;
  }

  /** Development and staging, approved and closed: what production's progression rule asks for first. */
  async function throughStaging(releaseId: string): Promise<void> {
    const dev = await submit('development', releaseId);
    await reviewAndApprove(dev, [['rui', 'code_reviewer']]);
    await advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });
    const staging = await submit('staging', releaseId);
    await reviewAndApprove(staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await advanceUntilStatus(staging, 'validating', { step: 10 * MINUTE, limit: 2 * 24 * HOUR });
    await publishValidation(staging);
    await advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 2 * 24 * HOUR });
  }

  it('takes a release from development through staging to a production canary, every step in the log', async () => {
    const { releaseId } = await ok('POST', '/api/releases', 'ana', {
      service: 'campaign-api',
      version: '2.2.0',
      type: 'minor',
      title: 'Campaign scheduling',
      previousVersion: '2.1.0',
      changes: [{ kind: 'feature', description: 'Advanced campaign scheduling with time zones' }],
    });

    // Production before staging is refused with its reason, and nothing is written for it.
    const early = await call('POST', '/api/change-requests', 'ana', draft('production', releaseId, { runbookRef: 'RB-42' }));
    expect(early.status).toBeGreaterThanOrEqual(400);
    expect(early.status).toBeLessThan(500);
    expect(JSON.stringify(early.body)).toMatch(/staging/);

    // Development: code review is the only approval; continuous deployment.
    await passGates(releaseId, 'development');
    const dev = (await ok('POST', '/api/change-requests', 'ana', draft('development', releaseId))).changeRequestId;
    await reviewAndApprove(dev, [['rui', 'code_reviewer']]);
    await advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });

    // Staging: code review + tech lead; booked into the daily 14:00 UTC slot.
    await passGates(releaseId, 'staging');
    const staging = (await ok('POST', '/api/change-requests', 'ana', draft('staging', releaseId))).changeRequestId;
    const selfApproval = await call('POST', `/api/change-requests/${staging}/approvals`, 'ana', { role: 'code_reviewer' });
    expect(selfApproval.status).toBe(403);
    await reviewAndApprove(staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await advanceUntilStatus(staging, 'scheduled', { step: MINUTE });
    const stagingSchedule = await ok('GET', '/api/schedule?environment=staging', 'ana');
    expect(stagingSchedule.items).toEqual(expect.arrayContaining([expect.objectContaining({ changeRequestId: staging, scheduledFor: '2026-11-30T14:00:00.000Z' })]));
    await advanceUntilStatus(staging, 'validating');
    // Deployed: CI reports the smoke and integration checks staging asks for; with both, its watch validates it.
    await publishValidation(staging);
    await advanceUntilStatus(staging, 'closed');

    // Production: code review + tech lead + SRE, runbook; next Tue/Thu window, canary 5 → 25 → 100 %, 24 h watch.
    await passGates(releaseId, 'production');
    const production = (await ok('POST', '/api/change-requests', 'ana', draft('production', releaseId, { runbookRef: 'RB-42' }))).changeRequestId;
    await reviewAndApprove(production, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    expect(await statusOf(production)).toBe('awaiting_approval');
    await ok('POST', `/api/change-requests/${production}/approvals`, 'sam', { role: 'sre' });
    await advanceUntilStatus(production, 'scheduled', { step: MINUTE });
    const productionSchedule = await ok('GET', '/api/schedule?environment=production', 'ana');
    expect(productionSchedule.items).toEqual(expect.arrayContaining([expect.objectContaining({ changeRequestId: production, scheduledFor: '2026-12-01T10:00:00.000Z' })]));
    const scrape = { service: 'campaign-api', environment: 'production' };
    await advanceUntilStatus(production, 'implementing', { step: 10 * MINUTE, scrape });
    await advanceUntilStatus(production, 'validating', { step: 5 * MINUTE, scrape });
    await publishValidation(production);
    const versions = await ok('GET', '/api/versions?service=campaign-api', 'ana');
    expect(versions.items).toEqual(expect.arrayContaining([expect.objectContaining({ environment: 'production', version: '2.2.0' })]));
    await advanceUntilStatus(production, 'closed', { step: HOUR, scrape });

    // The history shows every step with its actor; the canary ran its three traffic steps.
    const { history } = await ok('GET', `/api/change-requests/${production}`, 'ana');
    const types = history.map((e: Json) => e.type);
    expect(types).toEqual(expect.arrayContaining(['ChangeRequestSubmitted', 'ChangeRequestApproved', 'ChangeScheduled', 'ChangeImplementationStarted', 'ChangeValidated', 'ChangeClosed']));
    expect(history.find((e: Json) => e.type === 'ChangeRequestSubmitted').metadata.actor).toBe('ana');
    const { events } = await ok('GET', '/api/events?type=DeploymentStepCompleted&limit=1000', 'aud');
    const canarySteps = events.filter((e: Json) => e.data.changeRequestId === production);
    expect(canarySteps.map((e: Json) => e.data.trafficPercent)).toEqual([5, 25, 100]);
    // Each step passed its analysis on the samples pushed, and so did the watch.
    expect(canarySteps.map((e: Json) => e.data.analysis.phase)).toEqual(['Successful', 'Successful', 'Successful']);
    const watchStream = await ok('GET', `/api/streams/watch-${production}`, 'aud');
    expect(watchStream.events.find((e: Json) => e.type === 'PostDeploymentWatchCompleted').data.analysis).toMatchObject({ phase: 'Successful' });
    expect((await ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
    expect((await call('GET', '/api/audit/verify', 'ana')).status).toBe(403);
  }, 180_000);

  it('ingests the migrations CI reports: each recorded once on the release, irreversible ones visible with its changes', async () => {
    const built = { specversion: '1.0', id: 'build-230', source: 'ci/campaign-api', type: 'gatehouse.release.built', data: { service: 'campaign-api', version: '2.3.0', type: 'minor', title: 'Send-time index' } };
    expect((await call('POST', '/api/ingest', 'ana', built)).status).toBe(202);
    const migration = (id: string) => ({
      specversion: '1.0',
      id,
      source: 'ci/campaign-api',
      type: 'gatehouse.migration.included',
      data: { release: { service: 'campaign-api', version: '2.3.0' }, migrationId: '0042_add_send_at_index', description: 'Adds an index on campaigns.send_at', reversible: false, database: 'campaigns' },
    });
    const first = await call('POST', '/api/ingest', 'ana', migration('mig-230-1'));
    expect(first).toMatchObject({ status: 202, body: { command: 'changeRequests.recordMigration', result: { events: ['ReleaseMigrationRecorded', 'ReleaseApprovalsInvalidated'], status: 'planned' } } });
    // A re-run pipeline reports the same migration under a new CloudEvent id: accepted, nothing new recorded.
    expect(await call('POST', '/api/ingest', 'ana', migration('mig-230-2'))).toMatchObject({ status: 202, body: { result: { events: [], duplicate: false } } });

    const releaseStream: string = first.body.result.streamId;
    const stream = await ok('GET', `/api/streams/${releaseStream}`, 'aud');
    expect(stream.events.map((e: Json) => e.type)).toEqual(['ReleasePlanned', 'ReleaseMigrationRecorded', 'ReleaseApprovalsInvalidated']);
    expect(stream.events[1].data).toMatchObject({ migrationId: '0042_add_send_at_index', reversible: false, database: 'campaigns', recordedBy: 'ana' });

    const changeRequestId = await submit('development', releaseStream.slice('release-'.length));
    const { changeRequest } = await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana');
    expect(changeRequest.release).toMatchObject({ revision: 2, migrations: [{ migrationId: '0042_add_send_at_index', reversible: false, database: 'campaigns' }] });
  });

  it('rolls a production canary back on its own when the error rate stays above 1% for 5 minutes, with the evidence', async () => {
    const { releaseId } = await ok('POST', '/api/releases', 'ana', {
      service: 'campaign-api',
      version: '2.2.1',
      type: 'patch',
      title: 'Campaign report fix',
      previousVersion: '2.2.0',
      changes: [{ kind: 'fix', description: 'Corrected timezone handling in campaign reports' }],
    });
    await throughStaging(releaseId);
    const production = await submit('production', releaseId, { runbookRef: 'RB-43' });
    await reviewAndApprove(production, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await advanceUntilStatus(production, 'implementing', { step: 10 * MINUTE, limit: 7 * 24 * HOUR });

    // Monitoring reacts to DeploymentStarted on its own subscription; samples are accepted once the watch exists.
    for (let tries = 0; ; tries++) {
      const watch = await ok('GET', `/api/streams/watch-${production}`, 'aud');
      if (watch.events.some((e: Json) => e.type === 'PostDeploymentWatchStarted')) break;
      if (tries > 100) throw new Error('no post-deployment watch started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Five minutes of 5% errors, scraped every 30 s and pushed as they happen: 11 samples span 300 s.
    const errorSample = () => ({ service: 'campaign-api', environment: 'production', samples: [{ metric: 'error_rate', at: clock.now().toISOString(), value: 0.05 }] });
    const SAMPLES_SPANNING_FIVE_MINUTES = 11;
    for (let i = 0; i < SAMPLES_SPANNING_FIVE_MINUTES; i++) {
      await ok('POST', '/api/metrics/samples', 'sam', errorSample());
      if (i < SAMPLES_SPANNING_FIVE_MINUTES - 1) clock.advance(30_000);
    }
    await advanceUntilStatus(production, 'closed', { step: MINUTE, limit: HOUR });
    // The watch ended with the rollback: later samples are refused with the reason.
    const late = await call('POST', '/api/metrics/samples', 'sam', errorSample());
    expect(late).toMatchObject({ status: 422, body: { error: 'NoActiveWatchError' } });

    const { changeRequest, history } = await ok('GET', `/api/change-requests/${production}`, 'ana');
    expect(history.map((e: Json) => e.type)).toEqual(expect.arrayContaining(['ChangeRolledBack', 'ChangeClosed']));
    const deployment = await ok('GET', `/api/streams/deployment-${production}`, 'aud');
    const rolledBack = deployment.events.find((e: Json) => e.type === 'DeploymentRolledBack');
    expect(rolledBack.data).toMatchObject({ initiator: 'automatic', previousVersion: '2.2.0' });
    const watch = await ok('GET', `/api/streams/watch-${production}`, 'aud');
    const fired = watch.events.filter((e: Json) => e.type === 'RollbackTriggerFired');
    expect(fired).toHaveLength(1);
    expect(JSON.stringify(fired[0].data)).toMatch(/error_rate/);
    expect(changeRequest.status).toBe('closed');
    const versions = await ok('GET', '/api/versions?service=campaign-api&environment=production', 'ana');
    expect(versions.items).toEqual([expect.objectContaining({ version: '2.2.0' })]);
  }, 120_000);

  it('pauses a production canary, then its watch, when they saw no metrics: promote and abort need SRE or release engineer and a reason, recorded', async () => {
    const { releaseId } = await ok('POST', '/api/releases', 'ana', {
      service: 'campaign-api',
      version: '2.2.2',
      type: 'patch',
      title: 'Report export fix',
      previousVersion: '2.2.1',
      changes: [{ kind: 'fix', description: 'CSV export of campaign reports' }],
    });
    await throughStaging(releaseId);
    const production = await submit('production', releaseId, { runbookRef: 'RB-44' });
    await reviewAndApprove(production, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await advanceUntilStatus(production, 'implementing', { step: 10 * MINUTE, limit: 7 * 24 * HOUR });
    const streamEvents = async (stream: string): Promise<Json[]> => (await ok('GET', `/api/streams/${stream}-${production}`, 'aud')).events;
    /** No metric source pushes anything meanwhile: the analysis ends Inconclusive. */
    async function advanceUntil(stream: string, type: string, step: number): Promise<Json> {
      for (let i = 0; i < 200; i++) {
        const found = (await streamEvents(stream)).find((e: Json) => e.type === type);
        if (found !== undefined) return found;
        clock.advance(step);
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      throw new Error(`no ${type} on ${stream}-${production}`);
    }

    // A canary step without samples pauses; time alone does not pass it.
    const paused = await advanceUntil('deployment', 'DeploymentPaused', 5 * MINUTE);
    expect(paused.data).toMatchObject({ index: 0, analysis: { phase: 'Inconclusive', reason: expect.stringContaining('no error_rate samples') }, decisionRoles: ['sre', 'release_engineer'] });
    clock.advance(30 * MINUTE);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await streamEvents('deployment')).filter((e: Json) => e.type === 'DeploymentStepStarted')).toHaveLength(1);

    const before = (await streamEvents('deployment')).length;
    expect((await call('POST', `/api/deployments/${production}/promote`, 'tess', { reason: 'looks fine to me' })).status).toBe(403);
    expect(await call('POST', `/api/deployments/${production}/promote`, 'sam', {})).toMatchObject({ status: 400, body: { error: 'ReasonRequiredError' } });
    expect((await call('POST', `/api/deployments/${production}/abort`, 'sam', {})).status).toBe(400);
    expect(await streamEvents('deployment')).toHaveLength(before);

    expect((await call('POST', `/api/deployments/${production}/promote`, 'sam', { reason: 'metrics exporter was down; dashboards checked by hand' })).status).toBe(200);
    const decided = (await streamEvents('deployment')).find((e: Json) => e.type === 'InconclusiveAnalysisDecided');
    expect(decided).toMatchObject({ data: { decision: 'promote', actor: 'sam', actorRoles: ['sre'], reason: 'metrics exporter was down; dashboards checked by hand', index: 0 }, metadata: { actor: 'sam' } });

    // The exporter is back for the remaining steps; then it stops again for the whole 24 h watch.
    await advanceUntilStatus(production, 'validating', { step: 5 * MINUTE, scrape: { service: 'campaign-api', environment: 'production' } });
    // CI reports production's checks (otherwise the validation would time out and fail before the watch pauses).
    await publishValidation(production);
    const watchPaused = await advanceUntil('watch', 'PostDeploymentWatchPaused', HOUR);
    expect(watchPaused.data).toMatchObject({ analysis: { phase: 'Inconclusive' }, decisionRoles: ['sre', 'release_engineer'] });
    expect(await statusOf(production)).toBe('validating');

    const watchBefore = (await streamEvents('watch')).length;
    expect((await call('POST', `/api/deployments/${production}/watch/promote`, 'tess', { reason: 'fine' })).status).toBe(403);
    expect((await call('POST', `/api/deployments/${production}/watch/abort`, 'sam', {})).status).toBe(400);
    expect(await streamEvents('watch')).toHaveLength(watchBefore);

    expect((await call('POST', `/api/deployments/${production}/watch/abort`, 'sam', { reason: 'a day without metrics; rolling back to be safe' })).status).toBe(200);
    const rolledBack = await advanceUntil('deployment', 'DeploymentRolledBack', 0);
    expect(rolledBack.data).toMatchObject({ initiator: 'automatic', actor: 'sam', reason: 'post-deployment watch aborted: a day without metrics; rolling back to be safe' });
    const watchTypes = (await streamEvents('watch')).map((e: Json) => e.type);
    expect(watchTypes).toEqual(expect.arrayContaining(['WatchAnalysisDecided', 'PostDeploymentWatchAborted']));
    expect(watchTypes).not.toContain('PostDeploymentWatchCompleted');
  }, 300_000);

  it('keeps dead letters in its own store: an SRE lists, shows and redrives them over HTTP, a developer may not', async () => {
    // An event whose data no consumer can read (written by an older version, or by hand): approvals parks it.
    const { events } = await gatehouse.gateway.store.appendToStream('changeRequest-unreadable', [{ type: 'ChangeReviewCompleted', data: { changeRequestId: 42 } }]);
    const eventId = events[0]!.id;
    const parked = async (): Promise<Json[]> => ((await ok('GET', '/api/admin/dead-letters', 'sam')).deadLetters as Json[]).filter((letter) => letter.eventId === eventId);
    let letters: Json[] = [];
    for (const deadline = Date.now() + 20_000; letters.length === 0 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) letters = await parked();
    expect(letters).toEqual([expect.objectContaining({ reason: 'invalid_data', consumer: expect.stringMatching(/approvals/), originalSubject: 'gatehouse.evt.changeRequest.ChangeReviewCompleted' })]);
    const letter = letters.find((l) => /approvals/.test(l.consumer))!;
    expect((await ok('GET', `/api/admin/dead-letters/${letter.id}`, 'sam')).deadLetter.payload).toMatchObject({ id: eventId, type: 'ChangeReviewCompleted' });
    expect((await call('GET', '/api/admin/dead-letters', 'ana')).status).toBe(403);
    expect((await call('POST', `/api/admin/dead-letters/${letter.id}/redrive`, 'ana')).status).toBe(403);

    // Redriven, it fails its schema again: parked again under a new id, the old one gone.
    const redriven = await ok('POST', `/api/admin/dead-letters/${letter.id}/redrive`, 'sam');
    expect(redriven).toMatchObject({ redriven: { id: letter.id, consumer: letter.consumer, eventId }, redrivenBy: 'sam' });
    expect((await call('POST', `/api/admin/dead-letters/${letter.id}/redrive`, 'sam')).status).toBe(404);
    let again: Json[] = [];
    for (const deadline = Date.now() + 20_000; again.length === 0 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      again = (await parked()).filter((l) => l.consumer === letter.consumer);
    }
    expect(again).toEqual([expect.objectContaining({ reason: 'invalid_data', eventId })]);
    expect(Number(again[0].id)).toBeGreaterThan(Number(letter.id));
  });
});
