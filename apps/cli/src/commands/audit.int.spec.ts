/**
 * The auditor's client against the whole system in one process on real PostgreSQL, driven only
 * through the HTTP API and the CLI: an approval is rewritten in SQL by someone holding the
 * database — its stream re-hashed and every seal rebuilt, so the database's own checks pass —
 * and `gatehouse audit watch` refuses the new history, naming the rewritten position.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settableClock } from '@gatehouse/domain';
import { recomputeEventHash, sealOnce, type StoredEvent } from '@gatehouse/eventstore';
import { type RunningGatehouse, startGatehouse } from '@gatehouse/gatehouse';
import { readGatewayConfig } from '@gatehouse/gateway';
import { isolatedSchema, requirePostgres, visibleHead } from '@gatehouse/testing';
import { SignJWT } from 'jose';
import pg from 'pg';
import { EXIT_BAD_INPUT, EXIT_OK, run, type CliIo } from '../index.js';
import { EXIT_EVIDENCE_FAILED } from './audit.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const JWT_SECRET = 'audit-watch-test-secret-of-at-least-32-chars';
const MONDAY_MORNING = '2026-11-30T09:00:00Z';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

const tokenFor = (sub: string, roles: string[]): Promise<string> =>
  new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));

describePostgres('gatehouse audit against a gateway on PostgreSQL', () => {
  const schema = isolatedSchema('audit_watch');
  let dataDir: string;
  let gatehouse: RunningGatehouse;
  let url: string;
  const tokens: Record<string, string> = {};
  let approval: { streamId: string; globalPosition: string; streamVersion: string };
  let changeId: string;

  async function call(method: 'GET' | 'POST', route: string, user: string | null, body?: unknown): Promise<{ status: number; body: Json }> {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { ...(user === null ? {} : { authorization: `Bearer ${tokens[user]}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }
  async function ok(method: 'GET' | 'POST', route: string, user: string, body?: unknown): Promise<Json> {
    const response = await call(method, route, user, body);
    if (response.status >= 300) throw new Error(`${method} ${route} → ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** The CLI as an auditor runs it, in the data dir, with its output captured. */
  async function gatehouseCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { GATEHOUSE_URL: url, GATEHOUSE_TOKEN: tokens['aud'] }, cwd: dataDir, now: () => new Date() };
    const code = await run(argv, io);
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-audit-'));
    const config = readGatewayConfig({
      PORT: '0',
      DATABASE_URL: postgres.url,
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: JWT_SECRET,
      GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0',
      LOG_LEVEL: 'silent',
    });
    gatehouse = await startGatehouse(config, { clock: settableClock(MONDAY_MORNING), pollIntervalMs: 10, tickIntervalMs: 20 });
    url = gatehouse.gateway.url;
    tokens['ana'] = await tokenFor('ana', ['developer']);
    tokens['rui'] = await tokenFor('rui', ['code_reviewer']);
    tokens['aud'] = await tokenFor('aud', ['auditor']);

    // A change approved by rui: the approval the attacker will rewrite.
    const { releaseId } = await ok('POST', '/api/releases', 'ana', {
      service: 'campaign-api',
      version: '2.2.0',
      type: 'minor',
      title: 'Campaign scheduling',
      previousVersion: '2.1.0',
      changes: [{ kind: 'feature', description: 'Advanced campaign scheduling with time zones' }],
    });
    const { changeRequestId } = await ok('POST', '/api/change-requests', 'ana', {
      kind: 'normal',
      title: 'campaign-api 2.2.0 to development',
      description: 'Scheduling with time zones',
      type: 'enhancement',
      priority: 'medium',
      impact: 'low',
      risk: 'low',
      environments: ['development'],
      schedule: { planned: MONDAY_MORNING, duration: 120 },
      implementationPlan: 'Roll out the new image',
      rollbackPlan: 'Roll back to 2.1.0',
      testingPlan: 'Unit and integration suites',
      releaseId,
    });
    changeId = changeRequestId;
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'looks right' });
    // Approvals are opened by a reaction to the completed review; a grant sent at once waits for it on the server.
    await ok('POST', `/api/change-requests/${changeRequestId}/approvals`, 'rui', { role: 'code_reviewer' });
    // The log readers hold events back behind any write transaction open on the server (another suite's, in CI).
    await visibleHead(gatehouse.gateway.store);
    const { events } = await ok('GET', '/api/events?type=ApprovalGranted', 'aud');
    const granted = events.find((e: Json) => e.data.approver === 'rui');
    approval = { streamId: granted.streamId, globalPosition: granted.globalPosition, streamVersion: granted.streamVersion };
  }, 60_000);

  afterAll(async () => {
    await gatehouse?.close();
    await schema.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('publishes the signing key to anyone, and signs tree heads and serves proofs only to audit roles', async () => {
    const key = await call('GET', '/api/audit/public-key', null);
    expect(key).toEqual({ status: 200, body: { algorithm: 'ed25519', keyId: gatehouse.gateway.auditKey.keyId, publicKeyPem: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----/) } });
    const cli = await gatehouseCli(['audit', 'public-key']);
    expect(cli.code).toBe(EXIT_OK);
    expect(cli.stdout).toContain(`# key id ${key.body.keyId}`);
    expect(cli.stdout).toContain(key.body.publicKeyPem);

    expect((await call('POST', '/api/audit/tree-heads', null)).status).toBe(401);
    const refused = await call('POST', '/api/audit/tree-heads', 'ana');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/auditor/);
    expect((await call('GET', '/api/audit/proof/consistency?from=0&to=1', 'rui')).status).toBe(403);
  });

  it('records each signed tree head as an event and in the export file, and answers 400 naming the field for bad proof parameters', async () => {
    const { treeHead } = await ok('POST', '/api/audit/tree-heads', 'aud');
    const heads = async (): Promise<Json[]> => (await ok('GET', '/api/events?type=TreeHeadSigned&limit=1000', 'aud')).events.map((e: Json) => e.data);
    // The log readers hold the new event back behind any write transaction open on the server (another suite's, in CI).
    await visibleHead(gatehouse.gateway.store);
    expect((await heads()).at(-1)).toEqual(treeHead);
    expect(await ok('GET', '/api/audit/tree-heads/latest', 'aud')).toEqual({ treeHead });
    const exported = (await readFile(path.join(dataDir, 'tree-heads.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(exported.at(-1)).toEqual(treeHead);

    const cases: [string, string][] = [
      ['/api/audit/proof/inclusion?position=abc', 'position'],
      ['/api/audit/proof/inclusion?position=999999', 'position'],
      [`/api/audit/proof/inclusion?position=1&treeSize=${treeHead.treeSize + 1000}`, 'treeSize'],
      ['/api/audit/proof/consistency?from=2&to=1', 'from'],
      ['/api/audit/proof/consistency?from=1', 'to'],
      ['/api/audit/proof/consistency?from=1&to=99999999', 'to'],
      ['/api/audit/proof/consistency?from=-1&to=2', 'from'],
      ['/api/audit/leaves?limit=0', 'limit'],
      ['/api/audit/leaves?from=x', 'from'],
      ['/api/audit/export?after=abc', 'after'],
      ['/api/audit/export?after=999999', 'after'],
      ['/api/audit/export?after=2&until=1', 'until'],
      ['/api/audit/export?colour=red', ''],
    ];
    for (const [route, field] of cases) {
      const response = await call('GET', route, 'aud');
      expect({ route, status: response.status }).toEqual({ route, status: 400 });
      expect(response.body.issues.map((i: Json) => i.field)).toContain(field);
    }
    expect(await heads()).toHaveLength(exported.length);
  });

  it('stamps events with the governance time they happened at, next to the wall-clock recordedAt', async () => {
    const { events } = await ok('GET', `/api/streams/${approval.streamId}`, 'aud');
    const granted = events.find((e: Json) => e.type === 'ApprovalGranted');
    expect(granted.metadata.occurredAt).toBe(new Date(MONDAY_MORNING).toISOString());
    // recordedAt is the wall clock of the append (this test run), whatever the governance clock says.
    expect(Math.abs(Date.parse(granted.recordedAt) - Date.now())).toBeLessThan(10 * 60_000);
  });

  it("tells a change's whole story across its streams, with actors, governance times and positions (why)", async () => {
    const story = await ok('GET', `/api/change-requests/${changeId}/story`, 'aud');
    expect(story.streams).toEqual(expect.arrayContaining([approval.streamId]));
    expect(story.streams.some((s: string) => s.includes(changeId))).toBe(true);
    expect(story.streams.some((s: string) => s.startsWith('release-'))).toBe(true);
    const types = story.events.map((e: Json) => e.type);
    expect(types).toEqual(expect.arrayContaining(['ChangeRequestSubmitted', 'ApprovalGranted']));
    expect(types.indexOf('ChangeRequestSubmitted')).toBeLessThan(types.indexOf('ApprovalGranted'));
    expect(story.events.find((e: Json) => e.type === 'ChangeRequestSubmitted')).toMatchObject({ actor: 'ana', occurredAt: new Date(MONDAY_MORNING).toISOString() });
    expect(story.events.find((e: Json) => e.type === 'ApprovalGranted')).toMatchObject({ actor: 'rui', globalPosition: approval.globalPosition, data: { role: 'code_reviewer', approver: 'rui' } });
    const leafIndexes = story.events.map((e: Json) => e.leafIndex);
    expect(leafIndexes).toEqual([...leafIndexes].sort((a, b) => a - b));

    const why = await gatehouseCli(['why', changeId]);
    expect(why.code).toBe(EXIT_OK);
    expect(why.stdout).toContain(`# Change ${changeId}\n`);
    expect(why.stdout).toContain('Approval: approved (code_reviewer by rui)');
    expect(why.stdout).toMatch(new RegExp(`\\| ${approval.globalPosition} \\| ${approval.streamId}@${approval.streamVersion} \\| ApprovalGranted \\| rui \\| role code_reviewer, approver rui`));
    // The change moves on while the test runs: the JSON story starts with what was seen above.
    const json = JSON.parse((await gatehouseCli(['why', changeId, '--json'])).stdout);
    expect(json.events.slice(0, story.events.length)).toEqual(story.events);

    expect(story.state.approval).toEqual({ status: 'approved', grants: [expect.objectContaining({ role: 'code_reviewer', approver: 'rui' })] });

    // Time travel: just before the approval, and before anything happened in governance time.
    const before = BigInt(approval.globalPosition) - 1n;
    const earlier = await ok('GET', `/api/change-requests/${changeId}/story?asOf=${before}`, 'aud');
    expect(earlier.asOf).toEqual({ position: before.toString() });
    expect(earlier.state.approval).toEqual({ status: 'pending', grants: [] });
    expect(earlier.events.every((e: Json) => BigInt(e.globalPosition) <= before)).toBe(true);
    expect(earlier.events.map((e: Json) => e.type)).not.toContain('ApprovalGranted');
    const whyThen = await gatehouseCli(['why', changeId, '--as-of', before.toString()]);
    expect(whyThen.stdout).toContain(`# Change ${changeId} as of position ${before}`);
    expect(whyThen.stdout).toContain('Approval: pending');
    expect((await call('GET', `/api/change-requests/${changeId}/story?asOf=2026-11-29T00:00:00Z`, 'aud')).status).toBe(404);
    expect((await call('GET', `/api/change-requests/${changeId}/story?asOf=last-tuesday`, 'aud')).body.issues[0].field).toBe('asOf');
    expect((await gatehouseCli(['why', changeId, '--as-of', 'last-tuesday'])).code).toBe(EXIT_BAD_INPUT);

    expect((await call('GET', '/api/change-requests/short/story', 'aud')).body.issues[0].field).toBe('id');
    expect((await call('GET', '/api/change-requests/00000000-0000-4000-8000-000000000000/story', 'aud')).status).toBe(404);
    expect((await call('GET', `/api/change-requests/${changeId}/story`, 'ana')).status).toBe(403);
    expect((await gatehouseCli(['why', 'x'])).code).toBe(EXIT_BAD_INPUT);
  });

  it('proves an event is in a signed tree head, from its content up (verify-inclusion)', async () => {
    await ok('POST', '/api/audit/tree-heads', 'aud');
    const verified = await gatehouseCli(['audit', 'verify-inclusion', '--position', approval.globalPosition]);
    expect(verified).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(verified.stdout).toMatch(new RegExp(`verified: event .* \\(ApprovalGranted, stream ${approval.streamId}, version ${approval.streamVersion}\\) at position ${approval.globalPosition} is leaf \\d+ of the tree head`));
    expect((await gatehouseCli(['audit', 'verify-inclusion', '--position', 'first'])).code).toBe(EXIT_BAD_INPUT);
  });

  it('exports the log with inclusion proofs that verify offline, filtered or resumed, and names the position of an edited line', async () => {
    await ok('POST', '/api/audit/tree-heads', 'aud');
    await writeFile(path.join(dataDir, 'pub.pem'), (await ok('GET', '/api/audit/public-key', 'aud')).publicKeyPem);
    expect(await gatehouseCli(['audit', 'replay', '--out', 'history.ndjson'])).toEqual({ code: EXIT_OK, stdout: '', stderr: '' });
    const lines = (await readFile(path.join(dataDir, 'history.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ format: 'gatehouse-replay/v1', treeHead: { treeSize: lines.length - 2 } });
    expect(lines.at(-1)).toEqual({ end: true, events: lines.length - 2 });
    const offline = await gatehouseCli(['audit', 'verify', '--offline', 'history.ndjson', '--key', 'pub.pem']);
    expect(offline).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(offline.stdout).toMatch(new RegExp(`^verified: ${lines.length - 2} events, each in the tree head of size ${lines.length - 2}`));

    // One stream, and a resumed export: each line still proves itself.
    const streamOnly = await gatehouseCli(['audit', 'replay', '--stream', approval.streamId]);
    const streamLines = streamOnly.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(streamLines.slice(1, -1).map((l) => l.event.streamId)).toEqual(lines.filter((l) => l.event?.streamId === approval.streamId).map(() => approval.streamId));
    await writeFile(path.join(dataDir, 'stream.ndjson'), streamOnly.stdout);
    expect((await gatehouseCli(['audit', 'verify', '--offline', 'stream.ndjson', '--key', 'pub.pem'])).code).toBe(EXIT_OK);
    const resumed = await gatehouseCli(['audit', 'replay', '--after', approval.globalPosition]);
    const resumedPositions = resumed.stdout.trim().split('\n').slice(1, -1).map((l) => BigInt(JSON.parse(l).event.globalPosition));
    expect(resumedPositions.length).toBeGreaterThan(0);
    expect(resumedPositions.every((p) => p > BigInt(approval.globalPosition))).toBe(true);
    expect((await gatehouseCli(['audit', 'replay', '--after', 'yesterday'])).code).toBe(EXIT_BAD_INPUT);

    // An edited export: the approver changed in the file.
    const edited = lines.map((l) => (l.event?.globalPosition === approval.globalPosition ? { ...l, event: { ...l.event, data: { ...l.event.data, approver: 'ana' } } } : l));
    await writeFile(path.join(dataDir, 'edited.ndjson'), `${edited.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const refused = await gatehouseCli(['audit', 'verify', '--offline', 'edited.ndjson', '--key', 'pub.pem']);
    expect(refused.code).toBe(EXIT_EVIDENCE_FAILED);
    expect(refused.stderr).toContain(`(position ${approval.globalPosition}, stream ${approval.streamId}, version ${approval.streamVersion}): the event does not match its hash: content altered`);
    // Cut short, or checked with another key: refused too.
    await writeFile(path.join(dataDir, 'short.ndjson'), `${lines.slice(0, -1).map((l) => JSON.stringify(l)).join('\n')}\n`);
    expect((await gatehouseCli(['audit', 'verify', '--offline', 'short.ndjson', '--key', 'pub.pem'])).stderr).toMatch(/cut short/);
    expect((await gatehouseCli(['audit', 'verify', '--offline', 'history.ndjson'])).code).toBe(EXIT_BAD_INPUT);
  });

  it('detects an approval rewritten in SQL with its stream re-hashed and every seal rebuilt, naming the position', async () => {
    const state = path.join(dataDir, 'watch.json');
    const first = await gatehouseCli(['audit', 'watch', '--state', 'watch.json']);
    expect(first).toMatchObject({ code: EXIT_OK, stderr: '' });
    expect(first.stdout).toMatch(/^trusting tree head of size \d+/);
    const second = await gatehouseCli(['audit', 'watch', '--state', 'watch.json']);
    expect(second.code).toBe(EXIT_OK);
    expect(second.stdout).toMatch(/^ok: tree head of size \d+ \(root [0-9a-f]{64}\) extends the trusted head of size \d+/);
    const trusted = await readFile(state, 'utf8');
    // A client that only reads the periodic heads (no signing role needed) trusts the latest one.
    const reader = await gatehouseCli(['audit', 'watch', '--state', 'latest.json', '--latest']);
    expect(reader.code).toBe(EXIT_OK);
    expect(reader.stdout).toMatch(/^trusting tree head of size \d+/);

    // The attacker: who approved becomes the author, the rest of the stream is re-chained, seals rebuilt.
    const store = gatehouse.gateway.store;
    const stream = await store.readStream(approval.streamId);
    const sql = new pg.Client({ connectionString: postgres.url });
    await sql.connect();
    try {
      let previousHash: string | undefined;
      for (const event of stream.filter((e) => e.streamVersion >= BigInt(approval.streamVersion))) {
        const data = event.type === 'ApprovalGranted' && event.globalPosition === BigInt(approval.globalPosition) ? { ...(event.data as object), approver: 'ana' } : event.data;
        const forged: StoredEvent = { ...event, data, previousHash: previousHash ?? event.previousHash };
        const hash = recomputeEventHash(forged);
        await sql.query(`UPDATE "${schema.name}".events SET data = $1, hash = $2, previous_hash = $3 WHERE id = $4`, [JSON.stringify(data), hash, forged.previousHash, event.id]);
        previousHash = hash;
      }
      await sql.query(`DELETE FROM "${schema.name}".seals; DELETE FROM "${schema.name}".sealed_events`);
    } finally {
      await sql.end();
    }
    await sealOnce(store);
    // The tree heads the log recorded still name the rewrite...
    expect(await ok('GET', '/api/audit/verify', 'aud')).toMatchObject({ ok: false, reason: expect.stringMatching(/no longer have the root of the tree head signed/) });
    const rewritten = await gatehouseCli(['audit', 'watch', '--state', 'watch.json']);
    expect(rewritten.code).toBe(EXIT_EVIDENCE_FAILED);
    expect(rewritten.stderr).toMatch(/^HISTORY NOT VERIFIED: the tree head of size \d+ does not extend the trusted head of size \d+: history the client verified was rewritten/);
    expect(rewritten.stderr).toContain(`first position that differs: ${approval.globalPosition} (stream ${approval.streamId}, version ${approval.streamVersion}, leaf`);
    // ...until the attacker deletes them too and rebuilds the seals once more: then everything inside
    // the database agrees with the forgery.
    const cleanup = new pg.Client({ connectionString: postgres.url });
    await cleanup.connect();
    try {
      await cleanup.query(`DELETE FROM "${schema.name}".events WHERE type = 'TreeHeadSigned'; DELETE FROM "${schema.name}".seals; DELETE FROM "${schema.name}".sealed_events`);
    } finally {
      await cleanup.end();
    }
    await sealOnce(store);
    expect(await ok('GET', '/api/audit/verify', 'aud')).toMatchObject({ ok: true });
    expect((await call('GET', '/api/audit/tree-heads/latest', 'aud')).status).toBe(404);
    expect((await ok('GET', `/api/streams/${approval.streamId}`, 'aud')).events.find((e: Json) => e.type === 'ApprovalGranted').data.approver).toBe('ana');

    const third = await gatehouseCli(['audit', 'watch', '--state', 'watch.json']);
    expect(third.code).toBe(EXIT_EVIDENCE_FAILED);
    expect(third.stdout).toBe('');
    // Deleting the recorded heads shrank the log; either way the history the client verified is gone.
    expect(third.stderr).toMatch(/^HISTORY NOT VERIFIED: (the log shrank from \d+ to \d+ events|the tree head of size \d+ does not extend)/);
    expect(third.stderr).toContain(
      `first position that differs: ${approval.globalPosition} (stream ${approval.streamId}, version ${approval.streamVersion}, leaf`,
    );
    // The client keeps trusting what it verified: asking again still fails.
    expect(await readFile(state, 'utf8')).toBe(trusted);
    expect((await gatehouseCli(['audit', 'watch', '--state', 'watch.json'])).code).toBe(EXIT_EVIDENCE_FAILED);
    // The export taken before the rewrite still verifies with nothing but the key, and keeps rui as approver.
    expect((await gatehouseCli(['audit', 'verify', '--offline', 'history.ndjson', '--key', 'pub.pem'])).code).toBe(EXIT_OK);
    const kept = (await readFile(path.join(dataDir, 'history.ndjson'), 'utf8')).split('\n').find((l) => l.includes(`"globalPosition":"${approval.globalPosition}"`));
    expect(JSON.parse(kept as string).event.data.approver).toBe('rui');
  }, 60_000);
});
