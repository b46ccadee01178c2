/**
 * Issue 8 ("rules that hold"), items 4, 5 and 9, tried through the HTTP API of the one-process Gatehouse as a
 * careful user would try to get around them: each refusal is checked for its status, error name and the rule its
 * reason names, and for the events it did not write.
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
const JWT_SECRET = 'rules-that-hold-secret-of-at-least-32-chars';
/** Monday after Thanksgiving weekend, 09:00 UTC: staging's 14:00 slot is today, production's next window Tuesday 10:00. */
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function tokenFor(sub: string, roles: string[], claims: Record<string, string> = {}): Promise<string> {
  return new SignJWT({ ...claims, roles, name: sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    // The test clock runs ahead of the real one; tokens are checked against real time.
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(JWT_SECRET));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rules that hold, tried through the HTTP API', () => {
  let dataDir: string;
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-rules-'));
    clock = settableClock(MONDAY_MORNING);
    const config = readGatewayConfig({
      PORT: '0',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      LOG_LEVEL: process.env['DEBUG_RULES'] ? 'warn' : 'silent',
    });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    tokens.ana = await tokenFor('ana', ['developer', 'code_reviewer']);
    tokens.rui = await tokenFor('rui', ['code_reviewer']);
    tokens.tess = await tokenFor('tess', ['tech_lead']);
    tokens.sam = await tokenFor('sam', ['sre']);
    tokens.olga = await tokenFor('olga', ['sre']);
    tokens.victor = await tokenFor('victor', ['vp_engineering']);
    tokens.ci = await tokenFor('ci-bot', ['release_engineer']);
    // A CI token that names the person behind the push in its `actor` claim (as GitHub Actions' OIDC tokens do).
    tokens.ciForIvan = await tokenFor('ci-bot', ['release_engineer'], { actor: 'ivan' });
    tokens.ivan = await tokenFor('ivan', ['developer', 'code_reviewer']);
    tokens.quinn = await tokenFor('quinn', ['qa']);
    tokens.aud = await tokenFor('aud', ['auditor']);
    // Starting every service (PGlite included) takes seconds, more on a busy machine.
  }, 120_000);
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
  const typesOf = async (streamId: string): Promise<string[]> => (await ok('GET', `/api/streams/${streamId}`, 'aud')).events.map((e: Json) => e.type);
  /** How many events of a type the whole log holds: a refused request must not add one anywhere. */
  const countOf = async (type: string): Promise<number> => (await ok('GET', `/api/events?type=${type}&limit=1000`, 'aud')).events.length;

  async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await pause(50);
    }
  }

  /** Moves the clock in steps, giving the services real time to react, until the change reaches the status. */
  async function advanceUntilStatus(changeRequestId: string, wanted: string, { step = 5 * MINUTE, limit = 2 * 24 * HOUR } = {}): Promise<void> {
    const start = clock.now().getTime();
    for (;;) {
      const status = await statusOf(changeRequestId);
      if (status === wanted) return;
      if (clock.now().getTime() - start > limit) throw new Error(`change ${changeRequestId} stuck in '${status}', wanted '${wanted}'`);
      clock.advance(step);
      await pause(60);
    }
  }

  /** CI reports development's required unit-test gate as passed, as a pipeline does: deployments wait for their gates. */
  async function passUnitTests(releaseId: string): Promise<void> {
    const at = clock.now().toISOString();
    const result = { specversion: '1.0', id: `unit-${releaseId}`, source: 'ci/test', type: 'gatehouse.testgate.result', data: { release: { releaseId }, environment: 'development', gateId: 'unit-tests', status: 'passed', startedAt: at, finishedAt: at } };
    await ok('POST', '/api/ingest', 'ci', result);
  }

  function draft(environment: string, releaseId: string | undefined, extra: object = {}) {
    return {
      kind: 'normal',
      title: `billing-api to ${environment}`,
      description: 'Invoice rounding',
      type: 'bug_fix',
      priority: 'medium',
      impact: 'low',
      risk: 'low',
      size: 'small',
      environments: [environment],
      schedule: { planned: clock.now().toISOString(), duration: 60 },
      implementationPlan: 'Roll out the new image',
      rollbackPlan: 'Roll back to the previous image',
      testingPlan: 'Unit and staging suites',
      ...(releaseId === undefined ? {} : { releaseId }),
      ...extra,
    };
  }

  it('standard changes come only from the policy’s catalogue (production, which lists none: see the rollback test)', async () => {
    const submissions = await countOf('ChangeRequestSubmitted');
    // Staging without a template, or with one the catalogue does not hold.
    const unnamed = await call('POST', '/api/change-requests', 'ana', draft('staging', undefined, { kind: 'standard' }));
    expect(unnamed).toMatchObject({ status: 422, body: { error: 'StandardChangeTemplateRequiredError' } });
    expect(unnamed.body.message).toContain('approvals.standardChangeTemplates');
    const invented = await call('POST', '/api/change-requests', 'ana', draft('staging', undefined, { kind: 'standard', standardTemplateId: 'schema-change' }));
    expect(invented).toMatchObject({ status: 422, body: { error: 'StandardChangeTemplateRequiredError' } });
    expect(await countOf('ChangeRequestSubmitted')).toBe(submissions);

    // A template development's catalogue holds: pre-approved, and the template is on the record. (A staging change
    // must also name its release, which development saw first.)
    const { changeRequestId } = await ok('POST', '/api/change-requests', 'ana', draft('development', undefined, { kind: 'standard', standardTemplateId: 'feature-flag-toggle' }));
    expect(await typesOf(`changeRequest-${changeRequestId}`)).toEqual(['ChangeRequestSubmitted', 'ChangeRequestPreApproved']);
    expect((await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.draft.standardTemplateId).toBe('feature-flag-toggle');
  });

  it('the author cannot complete the review someone else started', async () => {
    const { changeRequestId } = await ok('POST', '/api/change-requests', 'ana', draft('development', undefined));
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    const before = await typesOf(`changeRequest-${changeRequestId}`);
    const own = await call('POST', `/api/change-requests/${changeRequestId}/review`, 'ana', { action: 'complete', notes: 'lgtm' });
    expect(own).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_review' } } });
    expect(own.body.message).toBe('separation of duties: ana wrote the change and cannot complete its review');
    expect(await typesOf(`changeRequest-${changeRequestId}`)).toEqual(before);
    expect(await statusOf(changeRequestId)).toBe('in_review');
  });

  it('being on call comes from the roster Gatehouse keeps, set by a roster manager who does not roster themselves', async () => {
    const shift = { person: 'sam', start: '2026-11-30T00:00:00Z', end: '2026-12-07T00:00:00Z' };
    const byDeveloper = await call('PUT', '/api/on-call/sre', 'ana', { shifts: [shift] });
    expect(byDeveloper).toMatchObject({ status: 403, body: { error: 'Forbidden' } });
    expect(byDeveloper.body.message).toContain('needs one of the roles sre, vp_engineering');
    const themselves = await call('PUT', '/api/on-call/sre', 'sam', { shifts: [shift] });
    expect(themselves).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'roster_self_assignment' } } });
    const backwards = await call('PUT', '/api/on-call/sre', 'olga', { shifts: [{ ...shift, end: '2026-11-29T00:00:00Z' }] });
    expect(backwards.status).toBe(400);
    expect(backwards.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'shifts.0.end' })]));
    expect(await typesOf('onCallRoster-sre')).toEqual([]);

    const set = await ok('PUT', '/api/on-call/sre', 'olga', { shifts: [shift] });
    expect(set.result).toMatchObject({ events: ['OnCallRosterSet'], onCallNow: ['sam'] });
    expect(await ok('GET', '/api/on-call/sre', 'ana')).toMatchObject({ role: 'sre', shifts: [{ person: 'sam' }], onCallNow: ['sam'], setBy: 'olga' });
    expect((await call('GET', '/api/on-call/wizard', 'ana')).status).toBe(400);
  });

  it('a change CI submits carries the person who pushed it, who can then neither review nor approve it', async () => {
    const built = { specversion: '1.0', id: 'build-510', source: 'ci/billing-api', type: 'gatehouse.release.built', data: { service: 'billing-api', version: '5.1.0', type: 'minor', title: 'Rounding' } };
    expect((await call('POST', '/api/ingest', 'ci', built)).status).toBe(202);
    const changeRequest = {
      title: 'billing-api 5.1.0 to development', description: 'Invoice rounding', type: 'bug_fix', priority: 'medium', impact: 'low', risk: 'low',
      schedule: { planned: clock.now().toISOString(), duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't',
    };
    const requested = { specversion: '1.0', id: 'deploy-510-dev', source: 'ci/billing-api', type: 'gatehouse.deployment.requested', data: { release: { service: 'billing-api', version: '5.1.0' }, environment: 'development', changeRequest } };
    // Without the person behind the push, CI cannot open a change at all.
    const anonymous = await call('POST', '/api/ingest', 'ci', requested);
    expect(anonymous.status).toBe(400);
    expect(anonymous.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'initiator' })]));

    const accepted = await ok('POST', '/api/ingest', 'ci', { ...requested, initiator: 'ivan' });
    const changeRequestId: string = accepted.result.streamId.replace('changeRequest-', '');
    expect((await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.draft).toMatchObject({ author: 'ci-bot', initiator: 'ivan', initiatorSource: 'publisher_assertion' });

    const ownReview = await call('POST', `/api/change-requests/${changeRequestId}/review`, 'ivan', { action: 'start' });
    expect(ownReview).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_review' } } });
    expect(ownReview.body.message).toContain('ivan initiated (through CI) the change and cannot review it');
    expect(await typesOf(`changeRequest-${changeRequestId}`)).toEqual(['ChangeRequestSubmitted']);

    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'fine' });
    await waitUntil('approvals requested', async () => (await typesOf(`approval-${changeRequestId}`)).includes('ApprovalsRequested'));
    const ownApproval = await call('POST', `/api/change-requests/${changeRequestId}/approvals`, 'ivan', { role: 'code_reviewer' });
    expect(ownApproval).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_approve' } } });
    expect(ownApproval.body.message).toContain('ivan initiated the change through CI and cannot approve it');
    expect(await typesOf(`approval-${changeRequestId}`)).toEqual(['ApprovalsRequested']);
  });

  it('the CI token’s actor claim is the initiator: a body naming someone else is refused with nothing written, and the person it names can neither review nor approve', async () => {
    const built = { specversion: '1.0', id: 'build-520', source: 'ci/billing-api', type: 'gatehouse.release.built', data: { service: 'billing-api', version: '5.2.0', type: 'minor', title: 'Totals' } };
    expect((await call('POST', '/api/ingest', 'ciForIvan', built)).status).toBe(202);
    const changeRequest = {
      title: 'billing-api 5.2.0 to development', description: 'Invoice totals', type: 'bug_fix', priority: 'medium', impact: 'low', risk: 'low',
      schedule: { planned: clock.now().toISOString(), duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't',
    };
    const requested = { specversion: '1.0', id: 'deploy-520-dev', source: 'ci/billing-api', type: 'gatehouse.deployment.requested', data: { release: { service: 'billing-api', version: '5.2.0' }, environment: 'development', changeRequest } };
    // The token holder names someone else in the body, to approve their own push: refused, naming the field, nothing written.
    const submittedBefore = await countOf('ChangeRequestSubmitted');
    const spoofed = await call('POST', '/api/ingest', 'ciForIvan', { ...requested, initiator: 'mallory' });
    expect(spoofed).toMatchObject({ status: 400, body: { error: 'ValidationError' } });
    expect(spoofed.body.issues).toEqual([expect.objectContaining({ field: 'initiator', reason: expect.stringContaining("contradicts the CI token's 'actor' claim (\"ivan\")") })]);
    expect(await countOf('ChangeRequestSubmitted')).toBe(submittedBefore);

    // Without the body field the claim names the initiator, and the change records that the token vouched for it.
    const accepted = await ok('POST', '/api/ingest', 'ciForIvan', requested);
    const changeRequestId: string = accepted.result.streamId.replace('changeRequest-', '');
    expect((await ok('GET', `/api/change-requests/${changeRequestId}`, 'ana')).changeRequest.draft).toMatchObject({ author: 'ci-bot', initiator: 'ivan', initiatorSource: 'token_claim' });

    const ownReview = await call('POST', `/api/change-requests/${changeRequestId}/review`, 'ivan', { action: 'start' });
    expect(ownReview).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_review' } } });
    expect(await typesOf(`changeRequest-${changeRequestId}`)).toEqual(['ChangeRequestSubmitted']);
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'fine' });
    await waitUntil('approvals requested', async () => (await typesOf(`approval-${changeRequestId}`)).includes('ApprovalsRequested'));
    const ownApproval = await call('POST', `/api/change-requests/${changeRequestId}/approvals`, 'ivan', { role: 'code_reviewer' });
    expect(ownApproval).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_approve' } } });
    expect(await typesOf(`approval-${changeRequestId}`)).toEqual(['ApprovalsRequested']);
  });

  it('no standard change to production; a manual rollback of staging beyond its 1 h window (with an incident review) moves the release and /api/versions back, and production is refused', async () => {
    // 3.9.0 then 3.10.0 through development and staging.
    const run = async (version: string, previousVersion: string): Promise<{ releaseId: string; staging: string }> => {
      const { releaseId } = await ok('POST', '/api/releases', 'ana', { service: 'ledger-api', version, type: 'minor', title: `Ledger ${version}`, previousVersion });
      await passUnitTests(releaseId);
      const dev = (await ok('POST', '/api/change-requests', 'ana', draft('development', releaseId))).changeRequestId;
      await ok('POST', `/api/change-requests/${dev}/review`, 'rui', { action: 'start' });
      await ok('POST', `/api/change-requests/${dev}/review`, 'rui', { action: 'complete', notes: 'ok' });
      await ok('POST', `/api/change-requests/${dev}/approvals`, 'rui', { role: 'code_reviewer' });
      await advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });
      const staging = (await ok('POST', '/api/change-requests', 'ana', draft('staging', releaseId))).changeRequestId;
      await ok('POST', `/api/change-requests/${staging}/review`, 'rui', { action: 'start' });
      await ok('POST', `/api/change-requests/${staging}/review`, 'rui', { action: 'complete', notes: 'ok' });
      await ok('POST', `/api/change-requests/${staging}/approvals`, 'rui', { role: 'code_reviewer' });
      await ok('POST', `/api/change-requests/${staging}/approvals`, 'tess', { role: 'tech_lead' });
      await advanceUntilStatus(staging, 'validating', { step: 10 * MINUTE });
      // Deployed: CI reports the post-deployment checks staging asks for.
      for (const event of validationResults(staging)) await ok('POST', '/api/ingest', 'ci', event);
      await advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE });
      return { releaseId, staging };
    };
    const standing = await run('3.9.0', '3.8.0');

    // A release that may progress to production still cannot go as a standard change: low risk, a template staging
    // pre-approves — refused, naming production's empty catalogue, and nothing is written.
    const beforeStandard = await countOf('ChangeRequestSubmitted');
    const standard = await call('POST', '/api/change-requests', 'ana', draft('production', standing.releaseId, { kind: 'standard', standardTemplateId: 'feature-flag-toggle', runbookRef: 'RB-LEDGER' }));
    expect(standard).toMatchObject({ status: 422, body: { error: 'StandardChangeTemplateRequiredError' } });
    expect(standard.body.message).toContain("production's policy pre-approves no change templates");
    expect(await countOf('ChangeRequestSubmitted')).toBe(beforeStandard);

    const { releaseId, staging } = await run('3.10.0', '3.9.0');
    const stagingVersions = async () => (await ok('GET', '/api/versions?service=ledger-api&environment=staging', 'ana')).items;
    expect(await stagingVersions()).toEqual([expect.objectContaining({ version: '3.10.0' })]);

    // Two hours after staging completed: beyond its 1 h manual window, so only with an incident review.
    clock.advance(2 * HOUR);
    const withoutReview = await call('POST', `/api/deployments/${staging}/rollback`, 'quinn', { reason: 'ledger drift found in staging' });
    expect(withoutReview).toMatchObject({ status: 422, body: { error: 'RollbackWindowExpiredError' } });
    await ok('POST', `/api/deployments/${staging}/rollback`, 'quinn', { reason: 'ledger drift found in staging', incidentReviewRef: 'IR-88' });

    await waitUntil('the release records the rollback', async () => (await typesOf(`release-${releaseId}`)).includes('ReleaseRolledBack'));
    const release = (await ok('GET', `/api/streams/release-${releaseId}`, 'aud')).events.find((e: Json) => e.type === 'ReleaseRolledBack');
    expect(release.data).toMatchObject({ environment: 'staging', initiator: 'manual', basis: 'incident_review', incidentReviewRef: 'IR-88' });
    await waitUntil('versions move back', async () => (await stagingVersions())[0]?.version === '3.9.0');

    // Progression needs a staging deployment still standing: 3.10.0 to production is refused, and nothing is written.
    const submissions = await countOf('ChangeRequestSubmitted');
    const production = await call('POST', '/api/change-requests', 'ana', draft('production', releaseId, { runbookRef: 'RB-LEDGER' }));
    expect(production).toMatchObject({ status: 422, body: { error: 'PromotionPrerequisiteError' } });
    expect(production.body.message).toMatch(/staging/);
    expect(production.body.message).toMatch(/rolled_back/);
    expect(await countOf('ChangeRequestSubmitted')).toBe(submissions);
  }, 120_000);
});
