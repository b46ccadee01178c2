import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGatewayConfig } from './config.js';
import { type RunningGateway, startGateway } from './bootstrap.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const POLICIES = path.join(repoRoot, 'deploy/policies');
const BLACK_FRIDAY_WEDNESDAY = '2026-11-25T10:30:00Z';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (response: Response): Promise<any> => response.json() as Promise<any>;

function configFor(dataDir: string, policies = POLICIES) {
  return readGatewayConfig({
    PORT: '0',
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_POLICIES: policies,
    GATEHOUSE_CLOCK: BLACK_FRIDAY_WEDNESDAY,
    LOG_LEVEL: 'silent',
  });
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
    const { events } = await json(await fetch(`${base}/api/events?type=PolicyVersionActivated`));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ streamId: 'policy-active', metadata: { actor: 'system' } });
    const verification = await json(await fetch(`${base}/api/audit/verify`));
    expect(verification).toMatchObject({ ok: true, eventsChecked: 1, lastPosition: events[0].globalPosition });
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
