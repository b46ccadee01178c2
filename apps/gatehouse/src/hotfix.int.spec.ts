/**
 * The emergency hotfix lane in the one-process Gatehouse, driven only through the HTTP API with the clock
 * fast-forwarded: a release reaches production before Black Friday week; on the Friday of that week (a
 * blackout, and the Thanksgiving weekend) a critical incident is fixed by a hotfix release that goes
 * development → staging (capped validation) → production through an emergency change approved by the
 * expedited roles and VP Engineering, inside the 2 h SLA; the post-incident review then falls overdue once.
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

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const JWT_SECRET = 'hotfix-test-secret-of-at-least-32-characters';
/** Tuesday before Black Friday week: staging's 14:00 slot today, production's Thursday window before the blackout. */
const TUESDAY_BEFORE = '2026-11-17T09:00:00Z';
/** Friday of Black Friday week (blackout until the 28th) and of the Thanksgiving weekend. */
const BLACK_FRIDAY = '2026-11-27T15:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The deadline ticker looks once a second: real time for it to have looked several times. */
const SEVERAL_TICKS_MS = 2_500;

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

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the emergency hotfix lane through the HTTP API', () => {
  let dataDir: string;
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-hotfix-'));
    clock = settableClock(TUESDAY_BEFORE);
    const config = readGatewayConfig({
      PORT: '0',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: process.env['DEBUG_HOTFIX'] ? 'warn' : 'silent',
    });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    tokens.ana = await tokenFor('ana', ['developer']);
    tokens.rui = await tokenFor('rui', ['code_reviewer']);
    tokens.tess = await tokenFor('tess', ['tech_lead']);
    tokens.sam = await tokenFor('sam', ['sre']);
    tokens.rita = await tokenFor('rita', ['release_engineer']);
    tokens.victor = await tokenFor('victor', ['vp_engineering']);
    tokens.aud = await tokenFor('aud', ['auditor']);
  }, 120_000); // a new data folder: initdb runs in a child process first (~30 s on a busy two-core machine)
  afterAll(async () => {
    await gatehouse?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function call(method: 'GET' | 'POST' | 'PUT', url: string, user: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${gatehouse.gateway.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${tokens[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }

  async function ok(method: 'GET' | 'POST' | 'PUT', url: string, user: string, body?: unknown): Promise<Json> {
    const response = await call(method, url, user, body);
    if (response.status >= 300) throw new Error(`${method} ${url} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  const statusOf = async (changeRequestId: string): Promise<string> => (await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.status;
  const eventsOf = async (streamId: string): Promise<Json[]> => (await ok('GET', `/api/streams/${streamId}`, 'aud')).events;
  const typesOf = async (streamId: string): Promise<string[]> => (await eventsOf(streamId)).map((e: Json) => e.type);

  /**
   * Moves the clock in steps, giving the services real time to react, until the change reaches one of the statuses.
   * `scrape`: a metric source reports healthy error_rate samples (one per 5 min) for that service after each step:
   * production analyses every canary step and the watch, and pauses a rollout that saw too few samples.
   */
  async function advanceUntilStatus(
    changeRequestId: string,
    wanted: string[],
    { step = 5 * MINUTE, limit = 3 * 24 * HOUR, scrape }: { step?: number; limit?: number; scrape?: { service: string; environment: string } } = {},
  ): Promise<void> {
    const start = clock.now().getTime();
    let scrapedUntil = start;
    for (;;) {
      if (scrape !== undefined) {
        const samples = [];
        for (let at = scrapedUntil + 5 * MINUTE; at <= clock.now().getTime(); at += 5 * MINUTE) samples.push({ metric: 'error_rate', at: new Date(at).toISOString(), value: 0.001 });
        scrapedUntil = clock.now().getTime();
        // Refused (422 NoActiveWatchError) before the deployment starts and after its watch ends: nothing to report then.
        const pushed = samples.length === 0 ? undefined : await call('POST', '/api/metrics/samples', 'sam', { ...scrape, samples });
        if (pushed !== undefined && pushed.status !== 200 && pushed.body?.error !== 'NoActiveWatchError') throw new Error(`samples refused: ${pushed.status} ${JSON.stringify(pushed.body)}`);
      }
      const status = await statusOf(changeRequestId);
      if (process.env['DEBUG_HOTFIX']) process.stderr.write(`${clock.now().toISOString()} ${changeRequestId.slice(0, 8)} ${status} (want ${wanted.join('|')})\n`);
      if (wanted.includes(status)) return;
      if (clock.now().getTime() - start > limit) {
        const summary = [...(await eventsOf(`schedule-${changeRequestId}`)), ...(await eventsOf(`deployment-${changeRequestId}`)), ...(await eventsOf(`watch-${changeRequestId}`)), ...(await eventsOf(`changeRequest-${changeRequestId}`))].map((e: Json) => `${e.type} ${JSON.stringify(e.data).slice(0, 300)}`);
        throw new Error(`change ${changeRequestId} stuck in '${status}', wanted '${wanted.join('|')}':\n${summary.join('\n')}`);
      }
      clock.advance(step);
      await pause(60);
    }
  }

  /** Waits in real time (clock still) until the stream holds an event of this type. */
  async function eventually(streamId: string, type: string, timeoutMs = 10_000): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await eventsOf(streamId)).filter((e: Json) => e.type === type).at(-1);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} on ${streamId}; it holds ${(await typesOf(streamId)).join(', ')}`);
      await pause(50);
    }
  }

  function draft(environment: string, releaseId: string, extra: object = {}) {
    return {
      kind: 'normal',
      title: `checkout-api to ${environment}`,
      description: 'Deploy checkout-api',
      type: 'bug_fix',
      priority: 'high',
      impact: 'medium',
      risk: 'low',
      environments: [environment],
      schedule: { planned: clock.now().toISOString(), duration: 120 },
      implementationPlan: 'Roll out the new image',
      rollbackPlan: 'Roll back to the previous image',
      testingPlan: 'Staging suites and canary analysis',
      releaseId,
      ...extra,
    };
  }

  async function reviewAndApprove(changeRequestId: string, approvers: [user: string, role: string][]): Promise<void> {
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'looks right' });
    // The approvals service opens the request in reaction to the completed review; an approval sent at once waits for it.
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

  async function submit(user: string, body: { releaseId: string; environments: string[] }): Promise<string> {
    await passGates(body.releaseId, body.environments[0] ?? '');
    return (await ok('POST', '/api/change-requests', user, body)).changeRequestId;
  }

  /** Once the change is booked, moves the clock straight to its slot rather than stepping through the days before it. */
  async function jumpToBooking(changeRequestId: string): Promise<void> {
    await advanceUntilStatus(changeRequestId, ['scheduled'], { step: MINUTE, limit: HOUR });
    const booked = (await eventsOf(`schedule-${changeRequestId}`)).find((e: Json) => e.type === 'DeploymentScheduled');
    clock.set(booked.data.scheduledFor);
  }

  /** checkout-api 3.4.0 through development, staging and production, before the blackout. */
  /** CI reports the change's post-deployment checks passed (the seed policies ask for them in staging and production). */
  async function publishValidation(changeRequestId: string): Promise<void> {
    for (const event of validationResults(changeRequestId)) await ok('POST', '/api/ingest', 'ana', event);
  }

  async function givenProductionRuns340(): Promise<void> {
    const { releaseId } = await ok('POST', '/api/releases', 'ana', {
      service: 'checkout-api',
      version: '3.4.0',
      type: 'minor',
      title: 'Saved cards',
      previousVersion: '3.3.0',
      changes: [{ kind: 'feature', description: 'Pay with a saved card' }],
    });
    const dev = await submit('ana', draft('development', releaseId));
    await reviewAndApprove(dev, [['rui', 'code_reviewer']]);
    await advanceUntilStatus(dev, ['closed'], { step: MINUTE, limit: 2 * HOUR });
    const staging = await submit('ana', draft('staging', releaseId));
    await reviewAndApprove(staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await jumpToBooking(staging);
    await advanceUntilStatus(staging, ['validating'], { step: 10 * MINUTE, limit: 4 * HOUR });
    await publishValidation(staging);
    await advanceUntilStatus(staging, ['closed'], { step: 10 * MINUTE, limit: 4 * HOUR });
    const production = await submit('ana', draft('production', releaseId, { runbookRef: 'RB-CHECKOUT' }));
    await reviewAndApprove(production, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await jumpToBooking(production);
    // Thursday 19 November, 10:00: the last production window before Black Friday week.
    expect(clock.now().toISOString()).toBe('2026-11-19T10:00:00.000Z');
    const scrape = { service: 'checkout-api', environment: 'production' };
    await advanceUntilStatus(production, ['validating'], { step: 10 * MINUTE, limit: 4 * HOUR, scrape });
    await publishValidation(production);
    const versions = await ok('GET', '/api/versions?service=checkout-api&environment=production', 'ana');
    expect(versions.items).toEqual([expect.objectContaining({ version: '3.4.0' })]);
    // The 24 h watch sees healthy metrics and completes; without them it would pause and, undecided, roll back.
    await advanceUntilStatus(production, ['closed'], { step: 4 * HOUR, limit: 2 * 24 * HOUR, scrape });
  }

  it('ships a critical fix inside the SLA through the blackout on VP Engineering’s approval; the missed review is overdue once', async () => {
    await givenProductionRuns340();

    // Black Friday, 15:00: checkout fails for saved cards.
    clock.set(BLACK_FRIDAY);
    const opened = await ok('POST', '/api/hotfixes', 'sam', { incidentId: 'INC-7001', service: 'checkout-api', severity: 'critical' });
    const hotfixId: string = opened.hotfixId;
    expect(opened.result).toMatchObject({ streamId: `hotfix-${hotfixId}`, events: ['IncidentIdentified'] });
    expect((await call('POST', '/api/hotfixes', 'ana', { incidentId: 'INC-7002', service: 'checkout-api', severity: 'high' })).status).toBe(403);
    expect((await call('POST', '/api/hotfixes', 'sam', { incidentId: 'INC-7003', service: 'checkout-api', severity: 'critical', slaMinutes: 600 })).status).toBe(400);

    // The branch starts from the tag production runs, which Gatehouse knows from its own log.
    const wrongTag = await call('POST', `/api/hotfixes/${hotfixId}/branch`, 'sam', { branch: 'hotfix/INC-7001', fromTag: 'v3.3.0' });
    expect(wrongTag).toMatchObject({ status: 422, body: { error: 'NotAProductionTagError' } });
    expect(wrongTag.body.message).toContain('production runs: 3.4.0, v3.4.0');
    await ok('POST', `/api/hotfixes/${hotfixId}/branch`, 'sam', { branch: 'hotfix/INC-7001', fromTag: 'v3.4.0' });

    const { releaseId } = await ok('POST', '/api/releases', 'sam', {
      service: 'checkout-api',
      version: '3.4.1',
      type: 'hotfix',
      title: 'Saved-card checkout fix',
      previousVersion: '3.4.0',
      changes: [{ kind: 'fix', description: 'Null check in the saved-card payment callback', reference: 'INC-7001' }],
    });

    // Development, then staging through an emergency change: Tech Lead lets it past the closed staging slot.
    const dev = await submit('rita', draft('development', releaseId));
    await reviewAndApprove(dev, [['rui', 'code_reviewer']]);
    await advanceUntilStatus(dev, ['validating', 'validated', 'closed'], { step: MINUTE, limit: HOUR });
    const staging = await submit('rita', draft('staging', releaseId, { kind: 'emergency', hotfixId }));
    await ok('POST', `/api/change-requests/${staging}/approvals`, 'tess', { role: 'tech_lead' });
    await advanceUntilStatus(staging, ['validating'], { step: MINUTE, limit: 2 * HOUR });
    // The hotfix lane skips no post-deployment checks (the seed asks for them after each deployment): CI reports them.
    await publishValidation(staging);
    const stagingBooking = (await eventsOf(`schedule-${staging}`)).find((e: Json) => e.type === 'DeploymentScheduled');
    expect(stagingBooking.data.emergencyBypass).toMatchObject({ role: 'tech_lead', approvers: ['tess'] });

    // Staging validation, well inside its 30-minute cap; not by rita, who wrote the hotfix's changes.
    await ok('POST', `/api/hotfixes/${hotfixId}/validation/start`, 'sam', { releaseId });
    clock.advance(12 * MINUTE);
    const beforeOwnValidation = await typesOf(`hotfix-${hotfixId}`);
    const ownValidation = await call('POST', `/api/hotfixes/${hotfixId}/validation/complete`, 'rita', { outcome: 'passed', notes: 'my fix works' });
    expect(ownValidation).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation' } });
    expect(ownValidation.body.message).toContain('rita authored (or initiated) a change of this hotfix and cannot complete its staging validation');
    expect(await typesOf(`hotfix-${hotfixId}`)).toEqual(beforeOwnValidation);
    await ok('POST', `/api/hotfixes/${hotfixId}/validation/complete`, 'sam', { outcome: 'passed', notes: 'saved-card checkout green in staging' });

    // The emergency change to production names the hotfix; in the blackout it needs VP Engineering too.
    const production = await submit('rita', draft('production', releaseId, { kind: 'emergency', hotfixId, runbookRef: 'RB-CHECKOUT', priority: 'critical' }));
    expect(await statusOf(production)).toBe('awaiting_approval');
    await ok('POST', `/api/change-requests/${production}/approvals`, 'tess', { role: 'tech_lead' });
    // Saying so does not make sam the on-call SRE: the roster does, which VP Engineering sets.
    const claimed = await call('POST', `/api/change-requests/${production}/approvals`, 'sam', { role: 'sre', onCall: true });
    expect(claimed.status).toBe(400);
    const offRoster = await call('POST', `/api/change-requests/${production}/approvals`, 'sam', { role: 'sre' });
    expect(offRoster).toMatchObject({ status: 422, body: { error: 'OnCallRequiredError' } });
    const shift = { person: 'sam', start: new Date(clock.now().getTime() - HOUR).toISOString(), end: new Date(clock.now().getTime() + 8 * HOUR).toISOString() };
    await ok('PUT', '/api/on-call/sre', 'victor', { shifts: [shift] });
    const sre = await ok('POST', `/api/change-requests/${production}/approvals`, 'sam', { role: 'sre' });
    expect(sre.result).toMatchObject({ status: 'pending', outstanding: [{ role: 'vp_engineering', missing: 1, onCall: false }] });

    // Without VP Engineering it is never fully approved, so never booked, however long it waits.
    for (let i = 0; i < 5; i++) {
      clock.advance(MINUTE);
      await pause(60);
    }
    expect(await statusOf(production)).toBe('awaiting_approval');
    expect(await eventsOf(`schedule-${production}`)).toEqual([]);
    expect(await typesOf(`hotfix-${hotfixId}`)).not.toContain('HotfixApproved');
    for (let tries = 0; ; tries++) {
      const pending = await ok('GET', '/api/approvals/pending?role=vp_engineering', 'ana');
      if (pending.items.some((p: Json) => p.changeRequestId === production)) {
        expect(pending.items).toEqual([expect.objectContaining({ changeRequestId: production, environment: 'production', role: 'vp_engineering', missing: 1 })]);
        break;
      }
      if (tries > 100) throw new Error(`VP Engineering approval not listed as pending: ${JSON.stringify(pending.items)}`);
      await pause(50);
    }

    // VP Engineering approves: booked for now, in the blackout, and deployed at once.
    const approvedAt = clock.now().toISOString();
    await ok('POST', `/api/change-requests/${production}/approvals`, 'victor', { role: 'vp_engineering' });
    await advanceUntilStatus(production, ['implementing', 'validating'], { step: MINUTE, limit: HOUR });
    const booking = (await eventsOf(`schedule-${production}`)).find((e: Json) => e.type === 'DeploymentScheduled');
    expect(booking.data).toMatchObject({ changeType: 'emergency', environment: 'production', emergencyBypass: { role: 'vp_engineering', approvers: ['victor'] } });
    expect(Date.parse(booking.data.scheduledFor)).toBeGreaterThanOrEqual(Date.parse(approvedAt));
    expect(Date.parse(booking.data.scheduledFor)).toBeLessThan(Date.parse(approvedAt) + 5 * MINUTE);
    expect(booking.data.emergencyBypass.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^production\/blackouts\/black-friday-week: bypassed for this emergency change/)]));

    // The lane: expedited approval, production deployment within the 2 h SLA, review due in 24 h.
    const deployed = await eventually(`hotfix-${hotfixId}`, 'HotfixDeployedToProduction');
    const slaMet = await eventually(`hotfix-${hotfixId}`, 'HotfixSlaMet');
    expect(slaMet.data.slaMinutes).toBe(120);
    expect(slaMet.data.measuredMinutes).toBeLessThan(120);
    expect(deployed.data).toMatchObject({ enhancedMonitoring: true, minutesSinceIdentification: slaMet.data.measuredMinutes });
    const reviewDue = await eventually(`hotfix-${hotfixId}`, 'PostIncidentReviewDue');
    expect(Date.parse(reviewDue.data.dueAt)).toBe(Date.parse(deployed.data.deployedAt) + 24 * HOUR);
    expect(await typesOf(`hotfix-${hotfixId}`)).toEqual([
      'IncidentIdentified',
      'HotfixBranchCreated',
      'StagingValidationStarted',
      'StagingValidationCompleted',
      'HotfixApproved',
      'HotfixDeployedToProduction',
      'HotfixSlaMet',
      'PostIncidentReviewDue',
    ]);
    const releaseStart = (await eventsOf(`release-${releaseId}`)).find((e: Json) => e.type === 'ReleaseDeploymentStarted' && e.data.environment === 'production');
    expect(releaseStart.data).toMatchObject({ lane: 'hotfix', promotion: { from: 'staging', basis: 'hotfix_validation_passed' } });

    // The canary's steps each see healthy samples within their analysis window (10-minute steps: a step is never
    // judged before its samples are in, as with 2-hour jumps on a busy machine), until the fix runs under its watch.
    await advanceUntilStatus(production, ['validating'], { step: 10 * MINUTE, limit: 12 * HOUR, scrape: { service: 'checkout-api', environment: 'production' } });
    await publishValidation(production);

    // A day passes without the review: overdue once, however often the ticker looks. The clock moves in steps of
    // at most 2 h and lands exactly an hour before the due time, wherever it started: never past it.
    const dueAt = Date.parse(reviewDue.data.dueAt);
    const anHourBefore = dueAt - HOUR;
    // The fix's watch sees healthy metrics meanwhile (without them it would pause and, undecided, roll back).
    while (clock.now().getTime() < anHourBefore) {
      const from = clock.now().getTime();
      clock.set(new Date(Math.min(from + 2 * HOUR, anHourBefore)).toISOString());
      const samples = [];
      for (let at = from + 5 * MINUTE; at <= clock.now().getTime(); at += 5 * MINUTE) samples.push({ metric: 'error_rate', at: new Date(at).toISOString(), value: 0.001 });
      const pushed = await call('POST', '/api/metrics/samples', 'sam', { service: 'checkout-api', environment: 'production', samples });
      if (pushed.status !== 200 && pushed.body?.error !== 'NoActiveWatchError') throw new Error(`samples refused: ${pushed.status} ${JSON.stringify(pushed.body)}`);
      await pause(60);
    }
    expect(clock.now().getTime()).toBe(anHourBefore);
    expect(await typesOf(`hotfix-${hotfixId}`)).not.toContain('PostIncidentReviewOverdue');
    clock.set(new Date(dueAt + 30 * MINUTE).toISOString());
    const overdue = await eventually(`hotfix-${hotfixId}`, 'PostIncidentReviewOverdue');
    expect(overdue.data).toMatchObject({ incidentId: 'INC-7001', dueAt: reviewDue.data.dueAt, overdueByMinutes: 30 });
    clock.advance(3 * HOUR);
    await pause(SEVERAL_TICKS_MS);
    expect((await typesOf(`hotfix-${hotfixId}`)).filter((t) => t === 'PostIncidentReviewOverdue')).toHaveLength(1);

    const view = await ok('GET', `/api/hotfixes/${hotfixId}`, 'ana');
    expect(view.hotfix).toMatchObject({
      status: 'deployed',
      incident: { incidentId: 'INC-7001', severity: 'critical', reportedBy: 'sam' },
      sla: { minutes: 120, outcome: 'met' },
      branch: { name: 'hotfix/INC-7001', fromTag: 'v3.4.0' },
      validation: { releaseId, version: '3.4.1', outcome: 'passed' },
      approvalId: production,
      review: { overdue: true, completedAt: null },
    });
    expect(view.history.map((e: Json) => e.type)).toContain('PostIncidentReviewOverdue');
    // rita wrote the fix's changes: the review is not hers to complete, and nothing is written when she tries.
    const beforeOwnReview = [await typesOf(`hotfix-${hotfixId}`), await typesOf(`changeRequest-${production}`)];
    const ownReview = await call('POST', `/api/hotfixes/${hotfixId}/review`, 'rita', { reviewRef: 'PIR-7001' });
    expect(ownReview).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation' } });
    expect(ownReview.body.message).toContain('cannot complete its post-incident review');
    expect([await typesOf(`hotfix-${hotfixId}`), await typesOf(`changeRequest-${production}`)]).toEqual(beforeOwnReview);
    const late = await ok('POST', `/api/hotfixes/${hotfixId}/review`, 'sam', { reviewRef: 'PIR-7001' });
    expect(late.result).toMatchObject({ events: ['PostIncidentReviewCompleted'], status: 'closed' });
    expect((await eventsOf(`hotfix-${hotfixId}`)).at(-1).data).toMatchObject({ late: true, completedBy: 'sam' });
    // The fix's 24 h watch ended before the review: the change was validated, and its close waited for the review
    // (before, it stayed validated for good). The review closes it now, successful, in the same decision.
    const [recorded, closed] = (await eventsOf(`changeRequest-${production}`)).slice(-2);
    expect(recorded).toMatchObject({ type: 'PostImplementationReviewRecorded', data: { reviewRef: 'PIR-7001', recordedBy: 'sam' } });
    expect(closed).toMatchObject({ type: 'ChangeClosed', data: { postImplementationReviewRef: 'PIR-7001', outcome: 'successful' } });
    expect(await statusOf(production)).toBe('closed');
    expect((await ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
  }, 180_000);
});
