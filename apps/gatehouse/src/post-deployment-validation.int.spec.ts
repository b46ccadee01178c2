/**
 * Issue 8 item 10: post-deployment validation is a gate between "deployed" and "validated". Tried through the HTTP
 * API of the one-process Gatehouse with a staging policy that asks for smoke and integration checks and a QA
 * sign-off: every way around it (a result for a check the policy does not name, a result before the change
 * deployed, the author signing off, a reviewer without the role, no results at all) is refused or closes nothing,
 * and the refusals write nothing; the timeout fails a validation on the clock and a late result changes nothing.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SettableClock, settableClock } from '@gatehouse/domain';
import { readGatewayConfig } from '@gatehouse/gateway';
import { SignJWT } from 'jose';
import { type RunningGatehouse, startGatehouse } from './gatehouse.js';
import { approvalRequested } from './test-support/approvals.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const JWT_SECRET = 'post-deployment-validation-secret-32chars';
/** Monday 09:00 UTC: staging's 14:00 slot is today. */
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const STAGING_VALIDATION = `
postDeploymentValidation:
  checks:
    - name: smoke
    - name: integration
      required: true
  timeoutMinutes: 90
  onTimeout: fail
  signOff:
    roles: [qa]
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function tokenFor(sub: string, roles: string[], claims: Record<string, string> = {}): Promise<string> {
  return new SignJWT({ ...claims, roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('post-deployment validation, tried through the HTTP API', () => {
  let dataDir: string;
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-validation-'));
    const policies = path.join(dataDir, 'policies');
    await cp(POLICIES, policies, { recursive: true });
    // The seed's staging asks for smoke and integration (30 min, no sign-off); this one also asks for a QA sign-off, in 90 min.
    const seedStaging = await readFile(path.join(policies, 'staging.yaml'), 'utf8');
    const stagingPolicy = seedStaging.replace(/^postDeploymentValidation:\n(?: +.*\n)+/m, STAGING_VALIDATION.trimStart());
    if (stagingPolicy === seedStaging) throw new Error('deploy/policies/staging.yaml has no postDeploymentValidation block to replace');
    await writeFile(path.join(policies, 'staging.yaml'), stagingPolicy);
    clock = settableClock(MONDAY_MORNING);
    const config = readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: path.join(dataDir, 'data'), GATEHOUSE_POLICIES: policies, GATEHOUSE_JWT_SECRET: JWT_SECRET, LOG_LEVEL: 'silent' });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    for (const [sub, roles] of Object.entries({ ana: ['developer'], rui: ['code_reviewer'], tess: ['tech_lead'], quinn: ['qa'], ci: ['release_engineer'], aud: ['auditor'] })) tokens[sub] = await tokenFor(sub, roles);
    // A CI token whose `actor` claim names quinn, who pushed: quinn is then the initiator of what it submits.
    tokens.ciForQuinn = await tokenFor('ci-bot', ['release_engineer'], { actor: 'quinn' });
  }, 120_000);
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
  const statusOf = async (id: string): Promise<string> => (await ok('GET', `/api/change-requests/${id}`, 'ana')).changeRequest.status;
  const typesOf = async (id: string): Promise<string[]> => (await ok('GET', `/api/streams/changeRequest-${id}`, 'aud')).events.map((e: Json) => e.type);
  async function advanceUntil(what: string, check: () => Promise<boolean>, { step = 5 * MINUTE, limit = 12 * HOUR } = {}): Promise<void> {
    const start = clock.now().getTime();
    while (!(await check())) {
      if (clock.now().getTime() - start > limit) throw new Error(`timed out waiting for ${what}`);
      clock.advance(step);
      await pause(60);
    }
  }
  let resultId = 0;
  const result = (changeRequestId: string, check: string, status: 'passed' | 'failed') =>
    call('POST', '/api/ingest', 'ci', { specversion: '1.0', id: `check-${++resultId}`, source: 'ci/smoke', type: 'gatehouse.validation.result', data: { changeRequestId, check, status } });

  /** A release of `service` through development, then a staging change approved for today's 14:00 slot. */
  async function approvedForStaging(service: string, { throughCi = false } = {}): Promise<string> {
    const { releaseId } = await ok('POST', '/api/releases', 'ana', { service, version: '1.1.0', type: 'minor', title: `${service} 1.1.0`, previousVersion: '1.0.0' });
    const at = clock.now().toISOString();
    await ok('POST', '/api/ingest', 'ci', { specversion: '1.0', id: `unit-${releaseId}`, source: 'ci/test', type: 'gatehouse.testgate.result', data: { release: { releaseId }, environment: 'development', gateId: 'unit-tests', status: 'passed', startedAt: at, finishedAt: at } });
    const change = (environment: string) => ({
      kind: 'normal', title: `${service} to ${environment}`, description: 'd', type: 'enhancement', priority: 'medium', impact: 'low', risk: 'low', size: 'small',
      environments: [environment], schedule: { planned: clock.now().toISOString(), duration: 60 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't', releaseId,
    });
    const dev = (await ok('POST', '/api/change-requests', 'ana', change('development'))).changeRequestId;
    await ok('POST', `/api/change-requests/${dev}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${dev}/review`, 'rui', { action: 'complete', notes: 'ok' });
    await approvalRequested((stream) => ok('GET', `/api/streams/${stream}`, 'aud'), dev);
    await ok('POST', `/api/change-requests/${dev}/approvals`, 'rui', { role: 'code_reviewer' });
    // Development names no post-deployment checks: its change still closes by itself.
    await advanceUntil('the development change to close', async () => (await statusOf(dev)) === 'closed', { step: MINUTE, limit: 2 * HOUR });
    const { kind, environments, releaseId: _release, ...changeRequest } = change('staging');
    const staging: string = throughCi
      ? (await ok('POST', '/api/ingest', 'ciForQuinn', { specversion: '1.0', id: `deploy-${service}`, source: 'ci/deploy', type: 'gatehouse.deployment.requested', data: { release: { releaseId }, environment: environments[0], kind, changeRequest } })).result.streamId.replace('changeRequest-', '')
      : (await ok('POST', '/api/change-requests', 'ana', change('staging'))).changeRequestId;
    await ok('POST', `/api/change-requests/${staging}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${staging}/review`, 'rui', { action: 'complete', notes: 'ok' });
    await approvalRequested((stream) => ok('GET', `/api/streams/${stream}`, 'aud'), staging);
    await ok('POST', `/api/change-requests/${staging}/approvals`, 'rui', { role: 'code_reviewer' });
    await ok('POST', `/api/change-requests/${staging}/approvals`, 'tess', { role: 'tech_lead' });
    await advanceUntil('the staging change to be scheduled', async () => (await statusOf(staging)) === 'scheduled', { step: MINUTE, limit: HOUR });
    return staging;
  }

  it('validates a staging change only with its watch, both checks and a QA sign-off by someone other than its author or CI initiator; a timeout fails another, and a late result changes nothing', async () => {
    const checked = await approvedForStaging('billing-api');
    const timedOut = await approvedForStaging('ledger-api');
    const pushedByQuinn = await approvedForStaging('notifier', { throughCi: true });

    // Before it deployed, no result is taken: 409 naming the status, nothing written.
    const early = await result(checked, 'smoke', 'passed');
    expect(early).toMatchObject({ status: 409, body: { error: 'IllegalTransitionError' } });
    expect(early.body.message).toContain('RecordPostDeploymentCheck is not allowed while scheduled');
    const beforeDeployment = await typesOf(checked);

    const allValidating = async () => (await Promise.all([checked, timedOut, pushedByQuinn].map(statusOf))).every((status) => status === 'validating');
    await advanceUntil('the staging changes to deploy', allValidating, { step: 10 * MINUTE });
    expect((await typesOf(checked)).slice(0, beforeDeployment.length)).toEqual(beforeDeployment);
    const deployed = await typesOf(checked);

    // A check staging does not name: 422 naming the policy's checks, nothing written.
    const unknown = await result(checked, 'load', 'passed');
    expect(unknown).toMatchObject({ status: 422, body: { error: 'UnknownPostDeploymentCheckError' } });
    expect(unknown.body.message).toContain('smoke, integration');
    // The author signs off their own change: 403, rule named, nothing written; a reviewer without the QA role: 403.
    const own = await call('POST', `/api/change-requests/${checked}/validation/sign-off`, 'ana');
    expect(own).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_validate' } } });
    expect(own.body.message).toContain('ana wrote the change and cannot sign off its post-deployment validation');
    const noRole = await call('POST', `/api/change-requests/${checked}/validation/sign-off`, 'rui');
    expect(noRole).toMatchObject({ status: 403, body: { error: 'SignOffRoleRequiredError' } });
    expect(await typesOf(checked)).toEqual(deployed);
    // The person whose push the CI token's claim names cannot sign off the change either, QA or not.
    const beforeInitiator = await typesOf(pushedByQuinn);
    const initiator = await call('POST', `/api/change-requests/${pushedByQuinn}/validation/sign-off`, 'quinn');
    expect(initiator).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_validate' } } });
    expect(initiator.body.message).toContain('quinn initiated (through CI) the change');
    expect(await typesOf(pushedByQuinn)).toEqual(beforeInitiator);

    // No results: the watch's hour passes and the change is still not validated.
    expect((await result(timedOut, 'smoke', 'passed')).status).toBe(202);
    await advanceUntil('the staging watch to pass', async () => (await typesOf(checked)).includes('PostDeploymentWatchPassed'), { step: 10 * MINUTE, limit: 2 * HOUR });
    expect(await statusOf(checked)).toBe('validating');
    expect(await typesOf(checked)).not.toContain('ChangeValidated');

    // Both checks and QA's sign-off: validated and closed at once.
    expect((await result(checked, 'smoke', 'passed')).body.result).toMatchObject({ events: ['PostDeploymentCheckRecorded'], status: 'validating' });
    expect((await result(checked, 'integration', 'passed')).body.result).toMatchObject({ status: 'validating' });
    const signed = await ok('POST', `/api/change-requests/${checked}/validation/sign-off`, 'quinn');
    expect(signed.result).toMatchObject({ events: ['PostDeploymentValidationSignedOff', 'ChangeValidated', 'ChangeClosed'], status: 'closed' });

    // The other change never heard from integration or QA: 90 minutes after its deployment it fails, naming what was missing.
    await advanceUntil('the validation timeout', async () => (await statusOf(timedOut)) === 'validation_failed', { step: 5 * MINUTE, limit: HOUR });
    const stream = (await ok('GET', `/api/streams/changeRequest-${timedOut}`, 'aud')).events as Json[];
    expect(stream.find((e) => e.type === 'PostDeploymentValidationTimedOut')?.data).toMatchObject({ missing: ['integration', 'sign-off'], onTimeout: 'fail' });
    expect(stream.find((e) => e.type === 'ChangeValidated')?.data).toMatchObject({ outcome: 'failed', notes: expect.stringContaining('timed out after 90 min') });
    // A late result is recorded, as late, and changes nothing.
    const late = await result(timedOut, 'integration', 'passed');
    expect(late.body.result).toMatchObject({ events: ['PostDeploymentCheckRecorded'], status: 'validation_failed' });
    expect(await statusOf(timedOut)).toBe('validation_failed');
  }, 300_000);
});
