/**
 * Issue 8 item 10, the release plan's prerequisites, tried through the HTTP API of the one-process Gatehouse:
 * who may plan, bad input named by field, an open prerequisite refusing the approval (its owner named) and
 * blocking the start at its slot, the overdue event once on the injectable clock. Every refusal is checked for
 * the events it did not write.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SettableClock, settableClock } from '@gatehouse/domain';
import { readGatewayConfig } from '@gatehouse/gateway';
import { SignJWT } from 'jose';
import { type RunningGatehouse, startGatehouse } from './gatehouse.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const JWT_SECRET = 'release-plan-secret-of-at-least-32-chars';
const MONDAY_MORNING = '2026-11-30T09:00:00Z';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function tokenFor(sub: string, roles: string[]): Promise<string> {
  return new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('release plan prerequisites, tried through the HTTP API', () => {
  let dataDir: string;
  let clock: SettableClock;
  let gatehouse: RunningGatehouse;
  const tokens: Record<string, string> = {};
  /** The notification webhook: a local receiver that records what it is sent. */
  let receiver: Server;
  const received: Array<{ key: string | undefined; body: Json }> = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        received.push({ key: request.headers['idempotency-key'] as string | undefined, body: JSON.parse(text) });
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    process.env['GATEHOUSE_NOTIFICATION_WEBHOOK_URL'] = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/releases`;
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-release-plan-'));
    clock = settableClock(MONDAY_MORNING);
    const config = readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, GATEHOUSE_JWT_SECRET: JWT_SECRET, LOG_LEVEL: process.env['DEBUG_PLAN'] ? 'warn' : 'silent' });
    gatehouse = await startGatehouse(config, { clock, pollIntervalMs: 10, tickIntervalMs: 20 });
    tokens.ana = await tokenFor('ana', ['developer', 'code_reviewer']);
    tokens.rui = await tokenFor('rui', ['code_reviewer']);
    tokens.tess = await tokenFor('tess', ['tech_lead']);
    tokens.dora = await tokenFor('dora', ['dba']);
    tokens.aud = await tokenFor('aud', ['auditor']);
  }, 120_000);
  afterAll(async () => {
    await gatehouse?.close();
    delete process.env['GATEHOUSE_NOTIFICATION_WEBHOOK_URL'];
    await new Promise((resolve) => receiver?.close(resolve));
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
  const typesOf = async (streamId: string): Promise<string[]> => (await ok('GET', `/api/streams/${streamId}`, 'aud')).events.map((e: Json) => e.type);
  const countOf = async (type: string): Promise<number> => (await ok('GET', `/api/events?type=${type}&limit=1000`, 'aud')).events.length;
  async function waitUntil(what: string, check: () => Promise<boolean>, advance = 0): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      if (advance > 0) clock.advance(advance);
      await pause(50);
    }
  }

  it('refuses approval and start while a prerequisite is open (owner named), marks it overdue once, and lets the release go once completed', async () => {
    const { releaseId } = await ok('POST', '/api/releases', 'ana', { service: 'ledger-api', version: '4.2.0', type: 'minor', title: 'Ledger exports', previousVersion: '4.1.0', changes: [{ kind: 'feature', description: 'CSV exports' }] });
    const plan = `/api/releases/${releaseId}`;
    const deadline = new Date(clock.now().getTime() + 2 * HOUR).toISOString();
    const prerequisite = { prerequisiteId: 'exports-index', type: 'database', description: 'Index on ledger_entries(created_at)', owner: 'dora', deadline };

    // Who may plan, and bad input by field: nothing is written.
    expect(await call('POST', `${plan}/prerequisites`, 'ana', prerequisite)).toMatchObject({ status: 403, body: { error: 'ReleasePlanRoleRequiredError' } });
    const bad = await call('POST', `${plan}/prerequisites`, 'tess', { ...prerequisite, type: 'magic', owner: '', deadline: 'tomorrow' });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: Json) => i.field).sort()).toEqual(['deadline', 'owner', 'type']);
    expect(await call('POST', '/api/releases/no-such-release/prerequisites', 'tess', prerequisite)).toMatchObject({ status: 404 });
    expect(await typesOf(`releasePlan-${releaseId}`)).toEqual([]);
    expect(await ok('POST', `${plan}/prerequisites`, 'tess', prerequisite)).toMatchObject({ events: ['ReleasePrerequisiteAdded'], open: ['exports-index'] });
    expect(await call('POST', `${plan}/prerequisites`, 'tess', prerequisite)).toMatchObject({ status: 409 });

    // The communication plan: planners only, each field named; then stakeholders hear of the booking and the start.
    expect(await call('PUT', `${plan}/communication`, 'ana', { notifications: [] })).toMatchObject({ status: 403, body: { error: 'ReleasePlanRoleRequiredError' } });
    const badPlan = await call('PUT', `${plan}/communication`, 'tess', { notifications: [{ milestone: 'launched', audience: 'stakeholders', message: '' }] });
    expect(badPlan.status).toBe(400);
    expect(badPlan.body.issues.map((i: Json) => i.field).sort()).toEqual(['notifications.0.message', 'notifications.0.milestone']);
    expect(await typesOf(`releasePlan-${releaseId}`)).toEqual(['ReleasePrerequisiteAdded']);
    await ok('PUT', `${plan}/communication`, 'tess', {
      notifications: [
        { milestone: 'scheduled', audience: 'stakeholders', message: 'Ledger exports are booked' },
        { milestone: 'started', audience: 'internal', environments: ['development'], message: 'Ledger exports are rolling out' },
        { milestone: 'started', audience: 'customers', environments: ['production'], message: 'CSV exports are here' },
      ],
    });

    // A development change of the release, planned three hours out, reviewed: its approval is refused while the index is pending.
    const at = clock.now().toISOString();
    await ok('POST', '/api/ingest', 'ana', {
      specversion: '1.0',
      id: `${releaseId}-development-unit-tests`,
      source: 'ci/tests',
      type: 'gatehouse.testgate.result',
      data: { release: { releaseId }, environment: 'development', gateId: 'unit-tests', status: 'passed', startedAt: at, finishedAt: at },
    });
    const planned = new Date(clock.now().getTime() + 3 * HOUR).toISOString();
    const { changeRequestId } = await ok('POST', '/api/change-requests', 'ana', {
      kind: 'normal', title: 'ledger-api 4.2.0 to development', description: 'CSV exports', type: 'enhancement', priority: 'medium', impact: 'low', risk: 'low',
      environments: ['development'], schedule: { planned, duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't', releaseId,
    });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'fine' });
    const grants = await countOf('ApprovalGranted');
    const refused = await call('POST', `/api/change-requests/${changeRequestId}/approvals`, 'rui', { role: 'code_reviewer' });
    expect(refused).toMatchObject({ status: 422, body: { error: 'PrerequisitesOpenError' } });
    expect(refused.body.message).toContain("database prerequisite 'exports-index'");
    expect(refused.body.message).toContain('owner dora');
    expect(await countOf('ApprovalGranted')).toBe(grants);

    // Past its deadline the pending prerequisite is overdue: one event, however many ticks pass.
    await waitUntil('the overdue event', async () => (await typesOf(`releasePlan-${releaseId}`)).includes('ReleasePrerequisiteOverdue'), 10 * MINUTE);
    clock.advance(10 * MINUTE);
    await pause(200);
    expect((await typesOf(`releasePlan-${releaseId}`)).filter((t) => t === 'ReleasePrerequisiteOverdue')).toHaveLength(1);

    // Only its owner or a planner sets its status; the owner completes it and the approval goes through.
    expect(await call('PUT', `${plan}/prerequisites/exports-index/status`, 'ana', { status: 'completed' })).toMatchObject({ status: 403 });
    expect(await call('PUT', `${plan}/prerequisites/exports-index/status`, 'dora', { status: 'done' })).toMatchObject({ status: 400, body: { issues: [{ field: 'status' }] } });
    expect(await ok('PUT', `${plan}/prerequisites/exports-index/status`, 'dora', { status: 'completed' })).toMatchObject({ open: [] });
    await ok('POST', `/api/change-requests/${changeRequestId}/approvals`, 'rui', { role: 'code_reviewer' });
    await waitUntil('the booking', async () => (await typesOf(`schedule-${changeRequestId}`)).includes('DeploymentScheduled'));

    // The index build then fails before the slot: the start is blocked at its slot with the owner named, no deployment starts.
    await ok('PUT', `${plan}/prerequisites/exports-index/status`, 'dora', { status: 'failed', note: 'lock timeout on ledger_entries' });
    await waitUntil('the refused start', async () => (await typesOf(`schedule-${changeRequestId}`)).includes('DeploymentStartRefused'), 10 * MINUTE);
    const refusal = (await ok('GET', `/api/streams/schedule-${changeRequestId}`, 'aud')).events.find((e: Json) => e.type === 'DeploymentStartRefused');
    expect(refusal.data.reasons.join(' ')).toMatch(/releasePlan\/prerequisites: .*'exports-index'.*is failed.*owner dora/);
    expect(await typesOf(`deployment-${changeRequestId}`)).toEqual([]);

    // Completed again and rescheduled: the deployment starts.
    await ok('PUT', `${plan}/prerequisites/exports-index/status`, 'dora', { status: 'completed' });
    await ok('POST', `/api/deployments/${changeRequestId}/schedule`, 'ana', { reason: 'index rebuilt' });
    await waitUntil('the deployment', async () => (await typesOf(`deployment-${changeRequestId}`)).includes('DeploymentStarted'), MINUTE);

    // Told as planned: an intent then its delivery per notification, and the webhook got each once (its key is the intent's).
    await waitUntil('the start notification', async () => received.some((r) => r.body.gatehouse.milestone === 'started'));
    const notifications = (await ok('GET', `/api/streams/notification-${releaseId}`, 'aud')).events as Json[];
    const intended = notifications.filter((e) => e.type === 'ReleaseNotificationIntended');
    // Stakeholders hear of the booking; the start once, internally only (the customers' line is for production).
    expect(intended.map((e) => [e.data.milestone, e.data.audience])).toEqual([['scheduled', 'stakeholders'], ['started', 'internal']]);
    for (const intent of intended) {
      const delivered = notifications.find((e) => e.type === 'ReleaseNotificationDelivered' && e.data.effectId === intent.data.effectId);
      expect(BigInt(delivered.globalPosition)).toBeGreaterThan(BigInt(intent.globalPosition));
    }
    expect(received.map((r) => r.key).sort()).toEqual(intended.map((e) => e.data.effectId).sort());
    expect(received.find((r) => r.body.gatehouse.milestone === 'started')?.body.text).toBe('[internal] ledger-api 4.2.0 started in development: Ledger exports are rolling out');
  }, 90_000);
});
