import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { secretKey } from '../auth/jwt.js';
import { type RunningGateway, startGateway } from '../bootstrap.js';
import { readGatewayConfig } from '../config.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SECRET = 'console-test-secret-long-enough-for-hs256!';
const CHANGE = 'cr-console-0001';

async function bearer(sub: string, roles: string[]): Promise<{ authorization: string }> {
  const jwt = await new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(secretKey(SECRET));
  return { authorization: `Bearer ${jwt}` };
}

/** Reads server-sent events until `until` holds for the messages so far (or the time runs out). */
async function readStream(response: Response, until: (messages: { event: string; data: any }[]) => boolean, timeoutMs = 10_000): Promise<{ event: string; data: any }[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: { event: string; data: any }[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (!until(messages) && Date.now() < deadline) {
    const { value, done } = await Promise.race([reader.read(), new Promise<{ value: undefined; done: true }>((r) => setTimeout(() => r({ value: undefined, done: true }), deadline - Date.now()))]);
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data !== undefined) messages.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return messages;
}

describe('gateway: console serving and console endpoints (PGlite, pinned clock)', () => {
  let dir: string;
  let gateway: RunningGateway;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-console-'));
    // A console build of the test's own: what matters here is how the gateway serves a build, not the build.
    const consoleDir = path.join(dir, 'console');
    await mkdir(path.join(consoleDir, 'assets'), { recursive: true });
    await writeFile(path.join(consoleDir, 'index.html'), '<!doctype html><title>Gatehouse</title><div id="root"></div><script type="module" src="/assets/app-1234.js"></script>');
    await writeFile(path.join(consoleDir, 'assets', 'app-1234.js'), 'console.log("console")');
    gateway = await startGateway(
      readGatewayConfig({
        PORT: '0',
        GATEHOUSE_DATA_DIR: path.join(dir, 'data'),
        GATEHOUSE_POLICIES: path.join(repoRoot, 'deploy/policies'),
        GATEHOUSE_CLOCK: '2026-11-25T10:30:00Z',
        GATEHOUSE_JWT_SECRET: SECRET,
        GATEHOUSE_CONSOLE_DIR: consoleDir,
        GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
        LOG_LEVEL: 'silent',
      }),
    );
    base = gateway.url;
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the console at / and every console path (SPA fallback); /api, /docs and /health keep their own answers', async () => {
    for (const page of ['/', '/environments', '/changes/cr-1234', '/status']) {
      const response = await fetch(`${base}${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await response.text()).toContain('<div id="root">');
    }
    const asset = await fetch(`${base}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const unknownApi = await fetch(`${base}/api/no-such-endpoint`);
    expect(unknownApi.status).toBe(404);
    expect(unknownApi.headers.get('content-type')).toContain('application/json');
    expect(await unknownApi.json()).toMatchObject({ error: 'NotFound' });
    expect((await fetch(`${base}/health/live`)).headers.get('content-type')).toContain('application/json');
    expect((await fetch(`${base}/docs-json`)).status).toBe(200);
  });

  it('GET /api/session: 401 without a valid token, the roles the console follows with one', async () => {
    expect((await fetch(`${base}/api/session`)).status).toBe(401);
    expect((await fetch(`${base}/api/session`, { headers: { authorization: 'Bearer not-a-jwt' } })).status).toBe(401);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a response body asserted field by field
    const session: any = await (await fetch(`${base}/api/session`, { headers: await bearer('rui', ['code_reviewer']) })).json();
    expect(session).toMatchObject({ subject: 'rui', name: 'rui', roles: ['code_reviewer'] });
    expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('calendar feeds: text/calendar for an environment, a JSON 404 naming the known ones otherwise; public', async () => {
    const feed = await fetch(`${base}/api/calendar/production.ics`);
    // No projections service runs beside this gateway: without its bookings the feed is unavailable, and says which service
    // (the feed itself is read back with node-ical in console.unit.spec.ts and against a whole system in console.e2e.spec.ts).
    expect(feed.status).toBe(503);
    expect(await feed.json()).toMatchObject({ error: 'ServiceUnavailable', message: expect.stringContaining('projections') });
    const unknown = await fetch(`${base}/api/calendar/moon.ics`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'UnknownEnvironmentError', message: expect.stringContaining('production') });
    const bad = await fetch(`${base}/api/calendar/Prod%20uction.ics`);
    expect(bad.status).toBe(400);
  });

  it('streams a change over server-sent events: the story so far, then events as they are appended, and nothing of other changes', async () => {
    await gateway.store.appendToStream(`changeRequest-${CHANGE}`, [{ type: 'ChangeRequestSubmitted', data: { changeRequestId: CHANGE } }]);
    expect((await fetch(`${base}/api/stream/change-requests/${CHANGE}`)).status).toBe(401);
    const controller = new AbortController();
    const response = await fetch(`${base}/api/stream/change-requests/${CHANGE}`, { headers: await bearer('ana', ['developer']), signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const appendLater = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await gateway.store.appendToStream('deployment-other-change', [{ type: 'DeploymentStarted', data: { changeRequestId: 'cr-someone-else' } }]);
      await gateway.store.appendToStream(`deployment-${CHANGE}`, [{ type: 'DeploymentStepCompleted', data: { changeRequestId: CHANGE, index: 0 } }]);
    })();
    const messages = await readStream(response, (m) => m.some((x) => x.data.type === 'DeploymentStepCompleted'));
    await appendLater;
    controller.abort();
    expect(messages.map((m) => [m.event, m.data.type ?? 'caught-up'])).toEqual([
      ['change', 'ChangeRequestSubmitted'],
      ['caught-up', 'caught-up'],
      ['change', 'DeploymentStepCompleted'],
    ]);
    expect(messages[2]!.data).toMatchObject({ streamId: `deployment-${CHANGE}`, data: { index: 0 }, occurredAt: expect.stringMatching(/^2026-11-25T1/) });
  });

  it('approval dry-run explains a refusal with the decider\'s words and writes nothing', async () => {
    const before = await gateway.store.readStream(`approval-${CHANGE}`);
    const response = await fetch(`${base}/api/change-requests/${CHANGE}/approvals/dry-run`, {
      method: 'POST',
      headers: { ...(await bearer('sam', ['sre'])), 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'sre' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ allowed: false, code: 'NOT_FOUND', reason: expect.stringContaining(CHANGE) });
    expect(await gateway.store.readStream(`approval-${CHANGE}`)).toEqual(before);
    const badRole = await fetch(`${base}/api/change-requests/${CHANGE}/approvals/dry-run`, {
      method: 'POST',
      headers: { ...(await bearer('sam', ['sre'])), 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'wizard' }),
    });
    expect(badRole.status).toBe(400);
    expect(JSON.stringify(await badRole.json())).toContain('role');
  });
});
