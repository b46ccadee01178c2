/**
 * The distributed gateway under abuse and faults, driven like a user or attacker would: HTTP bodies
 * nested too deep, positions past bigint, CloudEvents published on NATS, and its own nats-server
 * stopped under it (never the shared one).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { authenticatedCommandBus, commandKeysFromConfig, createNatsCommandBus, DeadLetterHeaders, ensureEventStream, type CommandBus } from '@gatehouse/bus';
import { deeplyNested, type OwnServer, requireNats, startOwnNatsServer } from '@gatehouse/testing';
import { SignJWT } from 'jose';
import { type RunningGateway, startGateway } from './bootstrap.js';
import { readGatewayConfig } from './config.js';

const describeNats = (await requireNats()) ? describe : describe.skip;
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const SECRET = 'gateway-hardening-secret-of-32-characters!';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

const releaseBuilt = (id: string, version = '2.1.0') => ({
  specversion: '1.0',
  id,
  source: 'ci/campaign-api',
  type: 'gatehouse.release.built',
  data: { service: 'campaign-api', version, type: 'minor', title: 'Spring campaigns', changes: [{ kind: 'feature', description: 'campaign scheduling' }] },
});

describeNats('the distributed gateway under abuse and NATS outages', () => {
  const suffix = randomBytes(4).toString('hex');
  const prefix = `gwh${suffix}`;
  const streams = { subjectPrefix: prefix, streamName: `GWH_EVT_${suffix}`, deadLetterStreamName: `GWH_DLQ_${suffix}` };
  let nats: OwnServer;
  let dataDir: string;
  let gateway: RunningGateway;
  let service: CommandBus;
  let nc: NatsConnection;
  const releases: Json[] = [];
  let token = '';

  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Json; ms: number }> => {
    const started = Date.now();
    const response = await fetch(`${gateway.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json().catch(() => null), ms: Date.now() - started };
  };
  const release = { service: 'campaign-api', version: '2.2.0', type: 'minor', title: 'x', previousVersion: '2.1.0' };

  beforeAll(async () => {
    nats = await startOwnNatsServer();
    nc = await connect({ servers: nats.url, maxReconnectAttempts: -1 });
    await ensureEventStream(await jetstreamManager(nc), streams);
    // Verifies the gateway's signatures as the real service does (development keys: no key configured).
    service = authenticatedCommandBus(createNatsCommandBus({ servers: nats.url, name: 'change-requests-stand-in', subjectPrefix: prefix }), {
      keys: commandKeysFromConfig({ name: 'change-requests' }),
      name: 'change-requests',
    });
    await service.register('changeRequests', 'createRelease', (payload) => {
      releases.push(payload);
      return { streamId: 'release-1', events: ['ReleasePlanned'], duplicate: false };
    });
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-gateway-hardening-'));
    gateway = await startGateway(
      readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, GATEHOUSE_JWT_SECRET: SECRET, NATS_URL: nats.url, GATEHOUSE_NATS_PREFIX: prefix, GATEHOUSE_CLOCK_CONTROL: 'on', LOG_LEVEL: 'silent' }),
    );
    token = await new SignJWT({ roles: ['developer', 'sre', 'auditor'], name: 'ana' }).setProtectedHeader({ alg: 'HS256' }).setSubject('ana').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await service?.close();
    await nc?.close();
    await nats?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => void (releases.length = 0));

  it('refuses a 30 KB body nested 5,000 levels deep with 400 naming the field, and sends nothing', async () => {
    const evidence = deeplyNested(5_000);
    const rollback = await call('POST', '/api/deployments/cr-1/rollback', `{"reason":"breach","evidence":${evidence}}`);
    expect(rollback.status).toBe(400);
    expect(rollback.body).toMatchObject({ error: 'ValidationError', issues: [{ field: 'evidence', reason: expect.stringContaining('nested deeper than 20 levels') }] });
    const ingest = await fetch(`${gateway.url}/api/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ ...releaseBuilt('deep'), data: JSON.parse(deeplyNested(100)) as unknown }),
    });
    expect(ingest.status).toBe(400);
    expect(await ingest.json()).toMatchObject({ issues: [{ field: 'data' }] });
    // 100,000 nested arrays: still a 400, never a crash of the parser.
    const arrays = await call('POST', '/api/releases', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(arrays.status).toBe(400);
    expect(releases).toEqual([]);
    expect((await call('POST', '/api/releases', release)).status).toBe(201);
  });

  it('refuses a position past PostgreSQL bigint with 400 naming after, and other malformed numbers too', async () => {
    for (const query of ['after=9999999999999999999', 'after=9223372036854775808', 'after=-1', 'after=1e3', 'after=abc']) {
      const response = await call('GET', `/api/events?${query}`);
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(response.body.issues).toEqual([expect.objectContaining({ field: 'after' })]);
    }
    for (const query of ['limit=99999999999999999999999', 'limit=Infinity', 'limit=1.5', 'limit=']) {
      const response = await call('GET', `/api/events?${query}`);
      expect({ query, status: response.status }).toEqual({ query, status: 400 });
      expect(new Set(response.body.issues.map((i: Json) => i.field))).toEqual(new Set(['limit']));
    }
    // The largest bigint passes validation and reaches the store, which names it as a position it never returned.
    expect(await call('GET', '/api/events?after=9223372036854775807')).toMatchObject({ status: 400, body: { details: { field: 'after' } } });
  });

  it('ingests CloudEvents published on <prefix>.ingest.*: a request gets the reply, a plain publish is sent on', async () => {
    const reply = await nc.request(`${prefix}.ingest.release.built`, JSON.stringify(releaseBuilt('build-1')), { timeout: 5_000 });
    expect(reply.json()).toMatchObject({ ok: true, command: 'changeRequests.createRelease', result: { events: ['ReleasePlanned'] } });
    nc.publish(`${prefix}.ingest.release.built`, JSON.stringify(releaseBuilt('build-2', '2.1.1')));
    await waitFor(() => releases.length === 2);
    expect(releases[1]).toMatchObject({ actor: 'ingest:ci/campaign-api', release: { version: '2.1.1' } });
  });

  it('parks an invalid plain publish on the dead-letter stream with the reason, and refuses hostile requests', async () => {
    nc.publish(`${prefix}.ingest.release.built`, JSON.stringify({ ...releaseBuilt('build-3'), data: { title: 'no service' } }));
    nc.publish(`${prefix}.ingest.release.built`, 'null');
    const consumer = await jetstream(nc).consumers.get(streams.deadLetterStreamName);
    const first = await consumer.next({ expires: 5_000 });
    expect(first?.headers?.get(DeadLetterHeaders.Reason)).toBe('invalid_data');
    expect(first?.headers?.get(DeadLetterHeaders.ErrorMessage)).toContain('data.service');
    const second = await consumer.next({ expires: 5_000 });
    expect(second?.headers?.get(DeadLetterHeaders.Reason)).toBe('invalid_data');
    expect(second?.string()).toBe('null');
    for (const body of ['', 'null', '[]', 'not json', `{"specversion":"1.0","data":${deeplyNested(5_000)}}`]) {
      const answer = (await nc.request(`${prefix}.ingest.release.built`, body, { timeout: 3_000 })).json<Json>();
      expect({ body: body.slice(0, 20), ok: answer.ok, name: answer.error?.name }).toEqual({ body: body.slice(0, 20), ok: false, name: 'ValidationError' });
    }
    expect(releases).toEqual([]);
  });

  it('while NATS is down: every command 503 naming NATS within 2 s, not ready, no 5xx remembered; then it recovers by itself', async () => {
    expect(await call('GET', '/health/ready')).toMatchObject({ status: 200, body: { checks: { eventstore: 'ok', 'nats-commands': 'ok', 'nats-ingest': 'ok', 'nats-clock': 'ok' } } });
    await nats.stop();
    await sleep(300);
    const key = { 'idempotency-key': `outage-${suffix}` };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const during = await call('POST', '/api/releases', release, key);
      expect(during.status).toBe(503);
      expect(during.body.message).toMatch(/NATS/);
      expect(during.ms).toBeLessThan(2_000);
    }
    const ready = await call('GET', '/health/ready');
    expect(ready.status).toBe(503);
    for (const connection of ['nats-commands', 'nats-ingest', 'nats-clock']) expect(ready.body.message).toContain(`${connection}: `);

    await nats.start();
    await waitFor(async () => (await call('GET', '/health/ready')).status === 200, 20_000);
    // The same key is sent for real now: the 503s were not remembered against it.
    const after = await call('POST', '/api/releases', release, key);
    expect(after.status).toBe(201);
    expect(releases).toHaveLength(1);
    // Ingestion resubscribed too. The test's own connection reconnects on its own schedule (slow on a busy
    // machine), so the request is retried until it gets an answer; the answer must be the ingest's ok.
    let answer: Json;
    await waitFor(async () => {
      answer = await nc
        .request(`${prefix}.ingest.release.built`, JSON.stringify(releaseBuilt('build-after')), { timeout: 3_000 })
        .then((reply) => reply.json<Json>())
        .catch(() => undefined);
      return answer !== undefined;
    }, 30_000);
    expect(answer).toMatchObject({ ok: true });
  }, 60_000);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}
