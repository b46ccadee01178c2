/**
 * Rules that hold (issue 8): a user tries to get around each rule through the HTTP API of the whole system
 * (one process over real PostgreSQL) and is refused with the rule named, and nothing is written for it:
 * - a production change naming no release (submission);
 * - a migration the release lists, with a change that does not say so (the DBA approval);
 * - testing gates at the start of a deployment (block, warn + override, a late result);
 * - a timer that fires after its window (the start re-checks the policy and re-books);
 * - the staging freeze before a major release booked to production (bookings, re-plans and reschedules see it).
 * One system, one clock that only moves forward: the tests run in order.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SettableClock, settableClock } from '@gatehouse/domain';
import { readGatewayConfig } from '@gatehouse/gateway';
import { isolatedSchema, requirePostgres, validationResults } from '@gatehouse/testing';
import { SignJWT } from 'jose';
import { type RunningGatehouse, startGatehouse } from './gatehouse.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const JWT_SECRET = 'rules-test-secret-of-at-least-32-characters';
/** Monday after Thanksgiving weekend, 09:00 UTC: staging's slot is today 14:00, production's next window Tuesday 10:00. */
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PRODUCTION_GATES = ['integration-tests', 'e2e-tests', 'performance-tests', 'security-tests'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;

describePostgres('rules that hold, tried through the HTTP API (one process on PostgreSQL)', () => {
  const schema = isolatedSchema('rules');
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};
  const CAST: Record<string, string[]> = { ana: ['developer'], rui: ['code_reviewer'], tess: ['tech_lead'], sam: ['sre'], dora: ['dba'], rel: ['release_engineer'], aud: ['auditor'] };

  beforeAll(async () => {
    clock = settableClock(MONDAY_MORNING);
    const config = readGatewayConfig({
      PORT: '0',
      DATABASE_URL: postgres.url,
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: process.env['DEBUG_RULES'] ? 'warn' : 'silent',
    });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    for (const [user, roles] of Object.entries(CAST)) {
      tokens[user] = await new SignJWT({ roles, name: user }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
    }
  }, 60_000);
  afterAll(async () => {
    await gatehouse?.close();
    await schema.drop();
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
  const events = async (streamId: string): Promise<Json[]> => (await ok('GET', `/api/streams/${streamId}`, 'aud')).events;
  const types = async (streamId: string): Promise<string[]> => (await events(streamId)).map((e: Json) => e.type);
  async function eventCount(): Promise<number> {
    let n = 0;
    for await (const _ of gatehouse.gateway.store.readAll()) n += 1;
    return n;
  }
  const statusOf = async (changeRequestId: string): Promise<string> => (await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.status;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

  /** Moves the clock in steps, giving the services real time to react, until the probe holds. */
  async function advanceUntil(what: string, probe: () => Promise<boolean>, { step = 5 * MINUTE, limit = 3 * 24 * HOUR } = {}): Promise<void> {
    const start = clock.now().getTime();
    for (;;) {
      if (await probe()) return;
      if (clock.now().getTime() - start > limit) throw new Error(`${what}: not reached by ${clock.now().toISOString()}`);
      clock.advance(step);
      // Real time for the services to react to each move, with room for a loaded machine.
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
  }
  const untilStatus = (changeRequestId: string, wanted: string, options?: { step?: number; limit?: number }) =>
    advanceUntil(`${changeRequestId} ${wanted}`, async () => (await statusOf(changeRequestId)) === wanted, options);
  /** Real time for the services to react without moving the clock. */
  async function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`${what}: not seen in time`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function createRelease(service: string, version: string, type: string, changes: Json[] = [{ kind: 'feature', description: 'New scheduling' }]): Promise<string> {
    return (await ok('POST', '/api/releases', 'ana', { service, version, type, title: `${service} ${version}`, changes })).releaseId;
  }
  function draft(environment: string, releaseId: string | undefined, extra: object = {}): Json {
    return {
      kind: 'normal',
      title: `${releaseId ?? 'no release'} to ${environment}`,
      description: 'Scheduling with time zones',
      type: 'enhancement',
      priority: 'medium',
      impact: 'low',
      risk: 'low',
      environments: [environment],
      schedule: { planned: clock.now().toISOString(), duration: 120 },
      implementationPlan: 'Roll out the new image',
      rollbackPlan: 'Roll back to the previous image',
      testingPlan: 'Staging suites and canary analysis',
      ...(releaseId === undefined ? {} : { releaseId }),
      ...(environment === 'production' ? { runbookRef: 'RB-42' } : {}),
      ...extra,
    };
  }
  const submit = async (environment: string, releaseId: string, extra: object = {}): Promise<string> =>
    (await ok('POST', '/api/change-requests', 'ana', draft(environment, releaseId, extra))).changeRequestId;
  async function reviewAndApprove(changeRequestId: string, approvers: [user: string, role: string][]): Promise<void> {
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'looks right' });
    await waitFor(`approval request of ${changeRequestId}`, async () => (await events(`approval-${changeRequestId}`)).length > 0);
    for (const [user, role] of approvers) await ok('POST', `/api/change-requests/${changeRequestId}/approvals`, user, { role });
  }
  /** CI reports a testing-gate result through ingestion, as a pipeline does. */
  async function gateResult(releaseId: string, environment: string, gateId: string, status: 'passed' | 'failed'): Promise<void> {
    const at = clock.now().toISOString();
    const event = { specversion: '1.0', id: randomUUID(), source: 'ci/test', type: 'gatehouse.testgate.result', data: { release: { releaseId }, environment, gateId, status, startedAt: at, finishedAt: at } };
    const reply = await call('POST', '/api/ingest', 'rel', event);
    if (reply.status !== 202) throw new Error(`gate result → ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  /** Development (unit tests passed) and staging, both closed: what production's progression asks for. */
  async function throughStaging(releaseId: string): Promise<void> {
    await gateResult(releaseId, 'development', 'unit-tests', 'passed');
    const dev = await submit('development', releaseId);
    await reviewAndApprove(dev, [['rui', 'code_reviewer']]);
    await untilStatus(dev, 'closed', { step: MINUTE, limit: 3 * HOUR });
    const staging = await submit('staging', releaseId);
    await reviewAndApprove(staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await untilStatus(staging, 'validating', { step: 10 * MINUTE, limit: 2 * 24 * HOUR });
    // Deployed: CI reports the post-deployment checks staging asks for.
    for (const event of validationResults(staging)) {
      const reply = await call('POST', '/api/ingest', 'rel', event);
      if (reply.status !== 202) throw new Error(`validation result → ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    await untilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 2 * 24 * HOUR });
  }

  let campaign: string;
  let campaignProduction: string;

  it('shows the release cadence in evaluation: a second minor release within a month is reported, an unknown release type is a 400', async () => {
    const evaluated = await ok('POST', '/api/policy/evaluate', 'ana', {
      environment: 'production',
      at: '2026-12-01T10:00:00Z',
      release: { service: 'campaign-api', releaseType: 'minor' },
      context: { releaseHistory: [{ service: 'campaign-api', releaseType: 'minor', deployedAt: '2026-11-19T10:00:00Z' }] },
    });
    expect(evaluated.reasons).toContainEqual(expect.objectContaining({ ruleId: 'production/cadence/minor', kind: 'info', message: expect.stringMatching(/^cadence warning .* the next from 2026-12-19T10:00Z$/) }));
    const bad = await call('POST', '/api/policy/evaluate', 'ana', { environment: 'production', release: { service: 'campaign-api', releaseType: 'mega' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('release.releaseType');
  });

  it('refuses a production change that names no release at submission, naming the rule, and writes nothing', async () => {
    const before = await eventCount();
    const refused = await call('POST', '/api/change-requests', 'ana', draft('production', undefined));
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'ReleaseRequiredError' });
    expect(refused.body.message).toMatch(/^production\/progression\/release-required: a change to production must name its release/);
    await settle();
    expect(await eventCount()).toBe(before);
  });

  it('requires the DBA when the release lists a migration, although the change does not say so', async () => {
    campaign = await createRelease('campaign-api', '2.2.0', 'minor', [
      { kind: 'feature', description: 'Advanced campaign scheduling with time zones' },
      { kind: 'migration', description: 'Analytics tables for send times' },
    ]);
    await throughStaging(campaign);
    campaignProduction = await submit('production', campaign, { includesMigration: false });
    await reviewAndApprove(campaignProduction, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await settle();

    // Code review + tech lead + SRE alone do not approve it: the migration approval is outstanding, so nothing is booked.
    const [requested] = await events(`approval-${campaignProduction}`);
    expect(requested.data.requirements).toEqual(expect.arrayContaining([expect.objectContaining({ role: 'dba' })]));
    expect(await statusOf(campaignProduction)).toBe('awaiting_approval');
    expect(await types(`approval-${campaignProduction}`)).not.toContain('ChangeFullyApproved');
    expect(await types(`schedule-${campaignProduction}`)).toEqual([]);
    // Moving a booking that does not exist is refused too: there is no way to book around the approval.
    const move = await call('POST', `/api/deployments/${campaignProduction}/schedule`, 'sam', { reason: 'ship it', at: '2026-12-01T10:00:00Z' });
    expect(move.status).toBe(404);
    expect(await types(`schedule-${campaignProduction}`)).toEqual([]);

    await ok('POST', `/api/change-requests/${campaignProduction}/approvals`, 'dora', { role: 'dba' });
    await advanceUntil('production booking', async () => (await types(`schedule-${campaignProduction}`)).includes('DeploymentScheduled'), { step: MINUTE, limit: HOUR });
    expect((await events(`schedule-${campaignProduction}`))[0].data.scheduledFor).toBe('2026-12-01T10:00:00.000Z');
  }, 240_000);

  it('refuses the start while a required blocking gate has not passed, and a late result does not start it without a new decision', async () => {
    await advanceUntil('the booked slot', async () => clock.now().getTime() >= Date.parse('2026-12-01T10:00:00Z'), { step: 30 * MINUTE, limit: 2 * 24 * HOUR });
    await waitFor('start refused', async () => (await types(`schedule-${campaignProduction}`)).includes('DeploymentStartRefused'));
    const refused = (await events(`schedule-${campaignProduction}`)).find((e: Json) => e.type === 'DeploymentStartRefused');
    expect(refused.data.reasons.join('\n')).toMatch(/production\/testingGates\/integration-tests: Integration Tests is required but has not run/);
    expect(refused.data.reasons.join('\n')).toMatch(/production\/testingGates\/security-tests/);
    expect(await types(`schedule-${campaignProduction}`)).not.toContain('DeploymentDue');
    expect(await types(`deployment-${campaignProduction}`)).toEqual([]);

    // The results arrive late: integration and security pass, E2E (a warn gate) fails.
    await gateResult(campaign, 'production', 'integration-tests', 'passed');
    await gateResult(campaign, 'production', 'security-tests', 'passed');
    await gateResult(campaign, 'production', 'e2e-tests', 'failed');
    const gatesStream = `gates-${campaign}-production`;
    await waitFor('gate results recorded', async () => (await types(gatesStream)).length === 3);

    // Only the override roles may accept a warn gate, a block gate cannot be accepted at all, and neither refusal writes.
    const byDeveloper = await call('POST', `/api/releases/${campaign}/gates/e2e-tests/override`, 'ana', { environment: 'production', reason: 'flaky' });
    expect(byDeveloper.status).toBe(403);
    expect(byDeveloper.body.message).toMatch(/overriding testing gate e2e-tests needs one of the roles tech_lead, release_engineer/);
    const blockGate = await call('POST', `/api/releases/${campaign}/gates/integration-tests/override`, 'tess', { environment: 'production', reason: 'we know' });
    expect(blockGate.status).toBe(422);
    expect(blockGate.body).toMatchObject({ error: 'GateNotOverridableError' });
    expect(blockGate.body.message).toMatch(/only warn gates can be overridden/);
    const noReason = await call('POST', `/api/releases/${campaign}/gates/e2e-tests/override`, 'tess', { environment: 'production' });
    expect(noReason.status).toBe(400);
    expect(await types(gatesStream)).toHaveLength(3);

    await ok('POST', `/api/releases/${campaign}/gates/e2e-tests/override`, 'tess', { environment: 'production', reason: 'E2E failure is the known flaky login journey, tracked in QA-77' });
    expect((await events(gatesStream)).at(-1)).toMatchObject({ type: 'WarnGateOverridden', data: { override: { gateId: 'e2e-tests', actor: 'tess' } } });

    // Every gate is now satisfied, but the refused start stays refused until someone decides again.
    clock.advance(30 * MINUTE);
    await settle();
    expect(await types(`schedule-${campaignProduction}`)).not.toContain('DeploymentDue');
    const rebooked = await ok('POST', `/api/deployments/${campaignProduction}/schedule`, 'sam', { reason: 'gates passed; E2E accepted by tess' });
    expect(rebooked.result).toMatchObject({ scheduledFor: '2026-12-03T10:00:00.000Z' });
    await untilStatus(campaignProduction, 'implementing', { step: 30 * MINUTE, limit: 3 * 24 * HOUR });
  }, 240_000);

  let billing: string;

  it('does not start a deployment whose timer fires after its window: the start re-checks the policy and re-books with the reason', async () => {
    billing = await createRelease('billing-api', '1.4.0', 'minor');
    await gateResult(billing, 'development', 'unit-tests', 'passed');
    const dev = await submit('development', billing);
    await reviewAndApprove(dev, [['rui', 'code_reviewer']]);
    await untilStatus(dev, 'closed', { step: MINUTE, limit: 3 * HOUR });
    const staging = await submit('staging', billing);
    await reviewAndApprove(staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await waitFor('staging booking', async () => (await types(`schedule-${staging}`)).includes('DeploymentScheduled'));
    const booked = (await events(`schedule-${staging}`))[0].data.scheduledFor as string;
    expect(booked).toBe('2026-12-03T14:00:00.000Z');

    // Scheduling sees no tick between 13:30 and 16:00: the timer fires an hour after the 14:00–15:00 slot closed.
    clock.set('2026-12-03T13:30:00Z');
    await settle();
    clock.set('2026-12-03T16:00:00Z');
    await waitFor('re-booked', async () => (await types(`schedule-${staging}`)).includes('DeploymentRescheduled'));
    const moved = (await events(`schedule-${staging}`)).find((e: Json) => e.type === 'DeploymentRescheduled');
    expect(moved.data).toMatchObject({ previousScheduledFor: '2026-12-03T14:00:00.000Z', scheduledFor: '2026-12-04T14:00:00.000Z' });
    expect(moved.data.reason).toMatch(/^missed slot 2026-12-03T14:00:00.000Z: the start came at 2026-12-03T16:00Z, when staging\/windows\/daily-1400: .* is outside the staging deployment windows/);
    expect(await types(`schedule-${staging}`)).not.toContain('DeploymentDue');
    expect(await types(`deployment-${staging}`)).toEqual([]);
  }, 240_000);

  it('freezes staging before a major release booked to production: earlier staging bookings are re-planned, and no reschedule gets back in', async () => {
    // A staging deployment of another service, booked for Monday 14:00 before any major release is known.
    const notify = await createRelease('notify-api', '0.9.0', 'minor');
    await gateResult(notify, 'development', 'unit-tests', 'passed');
    const notifyDev = await submit('development', notify);
    await reviewAndApprove(notifyDev, [['rui', 'code_reviewer']]);
    await untilStatus(notifyDev, 'closed', { step: MINUTE, limit: 3 * HOUR });
    const notifyStaging = await submit('staging', notify, { schedule: { planned: '2026-12-07T13:00:00Z', duration: 60 } });
    await reviewAndApprove(notifyStaging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await waitFor('notify staging booking', async () => (await types(`schedule-${notifyStaging}`)).includes('DeploymentScheduled'));
    expect((await events(`schedule-${notifyStaging}`))[0].data.scheduledFor).toBe('2026-12-07T14:00:00.000Z');

    // The major release reaches staging (Friday 14:00) and is booked to production for Tuesday 12-08 10:00 (day D).
    const search = await createRelease('search-api', '3.0.0', 'major');
    await throughStaging(search);
    const searchProduction = await submit('production', search);
    await reviewAndApprove(searchProduction, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await waitFor('major release booking', async () => (await types(`schedule-${searchProduction}`)).includes('DeploymentScheduled'));
    expect((await events(`schedule-${searchProduction}`))[0].data.scheduledFor).toBe('2026-12-08T10:00:00.000Z');

    // Monday 14:00 lies in the freeze (2 days before D): the staging booking moves past the release, saying why.
    await waitFor('staging re-planned', async () => (await types(`schedule-${notifyStaging}`)).includes('DeploymentRescheduled'));
    const replanned = (await events(`schedule-${notifyStaging}`)).find((e: Json) => e.type === 'DeploymentRescheduled');
    expect(replanned.data).toMatchObject({ previousScheduledFor: '2026-12-07T14:00:00.000Z', scheduledFor: '2026-12-08T14:00:00.000Z' });
    expect(replanned.data.reason).toMatch(/major release search-api 3.0.0 booked to production/);
    expect(replanned.data.reason).toMatch(/staging\/freezes\/major-release-freeze: staging is in change freeze/);

    // Rescheduling back into the freeze is refused with the rule named, and writes nothing.
    const before = (await events(`schedule-${notifyStaging}`)).length;
    const back = await call('POST', `/api/deployments/${notifyStaging}/schedule`, 'ana', { reason: 'try Monday again', at: '2026-12-07T14:00:00Z' });
    expect(back.status).toBe(422);
    expect(back.body).toMatchObject({ error: 'SlotRefusedError' });
    expect(back.body.message).toMatch(/staging\/freezes\/major-release-freeze/);
    expect(await events(`schedule-${notifyStaging}`)).toHaveLength(before);
  }, 300_000);
});
