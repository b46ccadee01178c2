import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { secretKey } from './auth/jwt.js';
import { readGatewayConfig } from './config.js';
import { type RunningGateway, startGateway } from './bootstrap.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const POLICIES = path.join(repoRoot, 'deploy/policies');
const BLACK_FRIDAY_WEDNESDAY = '2026-11-25T10:30:00Z';
const SECRET = 'gateway-test-secret-long-enough-for-hs256!';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (response: Response): Promise<any> => response.json() as Promise<any>;

function configFor(dataDir: string, policies = POLICIES) {
  return readGatewayConfig({
    PORT: '0',
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_POLICIES: policies,
    GATEHOUSE_CLOCK: BLACK_FRIDAY_WEDNESDAY,
    GATEHOUSE_JWT_SECRET: SECRET,
    LOG_LEVEL: 'silent',
  });
}

/** A real clock is fine for the token: the gateway verifies expiry against wall time, not the pinned clock. */
async function bearer(sub: string, roles: string[]): Promise<{ authorization: string }> {
  const jwt = await new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(secretKey(SECRET));
  return { authorization: `Bearer ${jwt}` };
}

describe('gateway on embedded defaults (PGlite, repo policies, pinned clock)', () => {
  let dataDir: string;
  let gateway: RunningGateway;
  let base: string;
  const post = (url: string, body: unknown) =>
    fetch(`${base}${url}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-gateway-'));
    gateway = await startGateway(configFor(dataDir));
    base = gateway.url;
  });
  afterAll(async () => {
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a normal production change in Black Friday week and names the next allowed time', async () => {
    const response = await post('/api/policy/evaluate', { environment: 'production', at: BLACK_FRIDAY_WEDNESDAY });
    expect(response.status).toBe(200);
    const decision = await json(response);
    expect(decision.allowed).toBe(false);
    expect(decision.nextAllowedAt).toBe('2026-12-01T10:00:00.000Z');
    expect(decision.policyVersion).toBe(gateway.policies.current.policyVersion);
    expect(decision.reasons).toContainEqual(
      expect.objectContaining({ kind: 'deny', ruleId: expect.stringContaining('black-friday'), policyVersion: decision.policyVersion }),
    );
  });

  it('evaluates at the system clock when no instant is given', async () => {
    const decision = await json(await post('/api/policy/evaluate', { environment: 'production' }));
    expect(decision.allowed).toBe(false);
    expect(Date.parse(decision.at)).toBeGreaterThanOrEqual(Date.parse(BLACK_FRIDAY_WEDNESDAY));
  });

  it('allows a canary in the first Tuesday window after the blackout', async () => {
    const decision = await json(
      await post('/api/policy/evaluate', { environment: 'production', at: '2026-12-01T10:00:00Z', strategy: 'canary' }),
    );
    expect(decision.allowed).toBe(true);
    expect(decision.plan.steps.length).toBeGreaterThan(0);
  });

  it('answers bad input with 4xx naming the field, never a 500', async () => {
    const badInstant = await post('/api/policy/evaluate', { environment: 'production', at: 'next tuesday' });
    expect(badInstant.status).toBe(400);
    expect((await json(badInstant)).issues).toEqual([expect.objectContaining({ field: 'at' })]);

    const unknownField = await post('/api/policy/evaluate', { environment: 'production', urgency: 'high' });
    expect(unknownField.status).toBe(400);

    const unknownEnvironment = await post('/api/policy/evaluate', { environment: 'moon-base' });
    expect(unknownEnvironment.status).toBe(404);
    expect((await json(unknownEnvironment)).error).toBe('UnknownEnvironmentError');

    const backwards = await fetch(`${base}/api/policy/calendar?environment=production&from=2026-12-31T00:00:00Z&to=2026-11-01T00:00:00Z`);
    expect(backwards.status).toBe(400);
    expect((await json(backwards)).issues).toEqual([expect.objectContaining({ field: 'to' })]);
  });

  it('lists allowed windows and blocked periods for a calendar range', async () => {
    const calendar = await json(
      await fetch(`${base}/api/policy/calendar?environment=production&from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z`),
    );
    expect(calendar.blocked.map((b: { name: string }) => b.name)).toEqual(expect.arrayContaining(['Black Friday week']));
    const allowedStarts = calendar.allowed.map((a: { start: string }) => a.start);
    expect(allowedStarts).toContain('2026-12-01T10:00:00.000Z');
    expect(allowedStarts.some((s: string) => s.startsWith('2026-11-24') || s.startsWith('2026-11-26'))).toBe(false);
  });

  it('records the active policy version as an event, verifiable in the audit log', async () => {
    const policies = await json(await fetch(`${base}/api/policies`));
    expect(policies.history).toEqual([expect.objectContaining({ policyVersion: gateway.policies.current.policyVersion })]);
    const auditor = { headers: await bearer('aud', ['auditor']) };
    const { events } = await json(await fetch(`${base}/api/events?type=PolicyVersionActivated`, auditor));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ streamId: 'policy-active', metadata: { actor: 'system' } });
    const stream = await json(await fetch(`${base}/api/streams/policy-active`, auditor));
    expect(stream).toMatchObject({ streamId: 'policy-active', events: [expect.objectContaining({ id: events[0].id })] });
    const verification = await json(await fetch(`${base}/api/audit/verify`, auditor));
    expect(verification).toMatchObject({ ok: true, eventsChecked: 1, lastPosition: events[0].globalPosition });
  });

  it('401s the audit log without a valid token, with the lifecycle API\'s error body', async () => {
    for (const url of ['/api/events', '/api/streams/policy-active', '/api/audit/verify']) {
      const response = await fetch(`${base}${url}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      const body = await json(response);
      expect(body).toMatchObject({ error: 'Unauthorized' });
      expect(body.message).toContain('missing bearer token');
    }
    const forged = await fetch(`${base}/api/events`, { headers: { authorization: 'Bearer not.a.jwt' } });
    expect(forged.status).toBe(401);
  });

  it('403s the audit log for a role that does not audit, naming the roles that would', async () => {
    const developer = { headers: await bearer('ana', ['developer']) };
    for (const url of ['/api/events', '/api/streams/policy-active', '/api/audit/verify', '/api/events?limit=0']) {
      const response = await fetch(`${base}${url}`, developer);
      expect(response.status).toBe(403);
      const body = await json(response);
      expect(body).toMatchObject({ error: 'Forbidden' });
      expect(body.message).toContain('auditor, security, sre, release_engineer, tech_lead, vp_engineering');
    }
    for (const roles of [['security'], ['sre'], ['release_engineer'], ['tech_lead'], ['vp_engineering'], ['developer', 'auditor']]) {
      expect((await fetch(`${base}/api/audit/verify`, { headers: await bearer('reader', roles) })).status).toBe(200);
    }
  });

  it('keeps policies and the calendar public', async () => {
    expect((await fetch(`${base}/api/policies`)).status).toBe(200);
    expect((await fetch(`${base}/api/policy/calendar?environment=production&from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z`)).status).toBe(200);
  });

  it('reports readiness and metrics', async () => {
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('gatehouse_http_requests_total');
  });
});

describe('policy history across restarts', () => {
  it('records a new version only when the files change, and answers which applied when', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-history-'));
    const policies = await mkdtemp(path.join(tmpdir(), 'gatehouse-policies-'));
    try {
      await cp(POLICIES, policies, { recursive: true });
      const first = await startGateway(configFor(dataDir, policies));
      const firstVersion = first.policies.current.policyVersion;
      await first.close();

      const unchanged = await startGateway(configFor(dataDir, policies));
      expect(unchanged.policies.entries()).toHaveLength(1);
      await unchanged.close();

      const staging = path.join(policies, 'staging.yaml');
      await writeFile(staging, (await readFile(staging, 'utf8')).replace(/^purpose: .*$/m, 'purpose: Pre-production validation (revised)'));
      const changed = await startGateway(configFor(dataDir, policies));
      try {
        const entries = changed.policies.entries();
        expect(entries.map((e) => e.policyVersion)).toEqual([firstVersion, changed.policies.current.policyVersion]);
        expect(changed.policies.current.policyVersion).not.toBe(firstVersion);
      } finally {
        await changed.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(policies, { recursive: true, force: true });
    }
  });

  it('refuses to start on an invalid policy file and records nothing', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-invalid-'));
    const policies = await mkdtemp(path.join(tmpdir(), 'gatehouse-policies-'));
    try {
      await cp(POLICIES, policies, { recursive: true });
      const production = path.join(policies, 'production.yaml');
      await writeFile(production, (await readFile(production, 'utf8')).replace(/end: "12:00"/, 'end: "09:00"'));
      await expect(startGateway(configFor(dataDir, policies))).rejects.toMatchObject({
        name: 'PolicyValidationError',
        message: expect.stringContaining('production.yaml'),
      });
      const valid = await startGateway(configFor(dataDir, POLICIES));
      try {
        expect(valid.policies.entries()).toHaveLength(1);
      } finally {
        await valid.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(policies, { recursive: true, force: true });
    }
  });
});
