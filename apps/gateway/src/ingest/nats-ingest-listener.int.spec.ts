import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createNatsCommandBus, DeadLetterHeaders, ensureEventStream, type CommandBus } from '@gatehouse/bus';
import { RecordMigrationPayload } from '@gatehouse/contracts';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { type IngestListener, type IngestReply, startIngestListener } from './nats-ingest-listener.js';

const describeNats = (await requireNats()) ? describe : describe.skip;

const releaseBuilt = (id: string) => ({
  specversion: '1.0',
  id,
  source: 'ci/campaign-api',
  type: 'gatehouse.release.built',
  data: { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'Spring campaigns', changes: [{ kind: 'feature', description: 'campaign scheduling' }] },
});

describeNats('NATS ingestion (gatehouse.ingest.<type>)', () => {
  const suffix = randomBytes(4).toString('hex');
  const prefix = `ti${suffix}`;
  const names = { subjectPrefix: prefix, streamName: `TI_EVT_${suffix}`, deadLetterStreamName: `TI_DLQ_${suffix}` };
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let commands: CommandBus;
  let listener: IngestListener;
  const received: Record<string, unknown>[] = [];
  const migrations: Record<string, unknown>[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, names);
    commands = createNatsCommandBus({ servers: natsUrl(), name: `ingest-test-${suffix}`, subjectPrefix: prefix, defaultTimeoutMs: 2_000 });
    await commands.register<Record<string, unknown>>('changeRequests', 'createRelease', (payload) => {
      received.push(payload);
      return { events: received.filter((p) => p['commandId'] === payload['commandId']).length === 1 ? ['ReleasePlanned'] : [], duplicate: false };
    });
    // Stands in for change-requests: refuses what its contract refuses, records each migration id once.
    await commands.register<Record<string, unknown>>('changeRequests', 'recordMigration', (payload) => {
      const parsed = RecordMigrationPayload.parse(payload);
      const first = !migrations.some((m) => m['migrationId'] === parsed.migrationId);
      migrations.push(payload);
      return { streamId: `release-${parsed.releaseId}`, events: first ? ['ReleaseMigrationRecorded', 'ReleaseApprovalsInvalidated'] : [], status: 'planned', duplicate: false };
    });
    listener = startIngestListener(nc, commands, { subjectPrefix: prefix });
    await nc.flush();
  });
  afterAll(async () => {
    await listener?.stop();
    await commands?.close();
    await jsm?.streams.delete(names.streamName).catch(() => undefined);
    await jsm?.streams.delete(names.deadLetterStreamName).catch(() => undefined);
    await nc?.close();
  });
  beforeEach(() => {
    received.length = 0;
    migrations.length = 0;
  });

  const request = async (subject: string, body: unknown): Promise<IngestReply> =>
    (await nc.request(`${prefix}.ingest.${subject}`, typeof body === 'string' ? body : JSON.stringify(body), { timeout: 3_000 })).json<IngestReply>();

  it('answers a valid request with the command it sent; the same CloudEvent maps to the same command id', async () => {
    const first = await request('release.built', releaseBuilt('build-1'));
    const again = await request('release.built', releaseBuilt('build-1'));
    expect(first).toMatchObject({ ok: true, command: 'changeRequests.createRelease', result: { events: ['ReleasePlanned'] } });
    expect(again).toMatchObject({ ok: true, result: { events: [] } });
    expect(received).toHaveLength(2);
    expect(received[0]).toMatchObject({
      actor: 'ingest:ci/campaign-api',
      release: { service: 'campaign-api', version: '2.1.0', type: 'minor', description: '' },
    });
    expect(received[1]?.['commandId']).toBe(received[0]?.['commandId']);
  });

  it('answers an invalid request with the fields and reasons, and sends nothing', async () => {
    const wrong = await request('release.built', { ...releaseBuilt('build-2'), data: { service: 'Campaign API', version: '2', type: 'minor', title: 't' } });
    expect(wrong).toMatchObject({ ok: false, error: { name: 'ValidationError' } });
    if (wrong.ok) throw new Error('expected a refusal');
    expect(wrong.error.issues?.map((i) => i.field).sort()).toEqual(['data.service', 'data.version']);

    const misrouted = await request('testgate.result', releaseBuilt('build-3'));
    expect(misrouted).toMatchObject({ ok: false, error: { issues: [{ field: 'type', reason: expect.stringContaining(`${prefix}.ingest.release.built`) }] } });

    const notJson = await request('release.built', '{nope');
    expect(notJson).toMatchObject({ ok: false, error: { message: expect.stringContaining('not JSON') } });
    expect(received).toEqual([]);
  });

  it('refuses a deployment request that does not name the person behind the push, and sends nothing; with it, that person is the change’s initiator', async () => {
    const submitted: Record<string, unknown>[] = [];
    const unregister = await commands.register<Record<string, unknown>>('changeRequests', 'submitChange', (payload) => {
      submitted.push(payload);
      return { streamId: `changeRequest-${String(payload['changeRequestId'])}`, events: ['ChangeRequestSubmitted'], status: 'submitted', duplicate: false };
    });
    try {
      const requested = {
        specversion: '1.0',
        id: 'deploy-9',
        source: 'ci/campaign-api',
        type: 'gatehouse.deployment.requested',
        data: {
          release: { service: 'campaign-api', version: '2.1.0' },
          environment: 'development',
          changeRequest: {
            title: 't', description: 'd', type: 'enhancement', priority: 'low', impact: 'low', risk: 'low',
            schedule: { planned: '2026-12-01T14:00:00Z', duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't',
          },
        },
      };
      const anonymous = await request('deployment.requested', requested);
      expect(anonymous).toMatchObject({ ok: false, error: { name: 'ValidationError', issues: [expect.objectContaining({ field: 'initiator' })] } });
      expect(submitted).toEqual([]);
      expect(await request('deployment.requested', { ...requested, initiator: 'ivan' })).toMatchObject({ ok: true, command: 'changeRequests.submitChange' });
      expect(submitted).toEqual([expect.objectContaining({ draft: expect.objectContaining({ author: 'ingest:ci/campaign-api', initiator: 'ivan' }) })]);
    } finally {
      await unregister();
    }
  });

  it('sends a migration to changeRequests.recordMigration and answers with the service’s reply', async () => {
    const migration = (id: string) => ({
      specversion: '1.0',
      id,
      source: 'ci/campaign-api',
      type: 'gatehouse.migration.included',
      data: { release: { service: 'campaign-api', version: '2.1.0' }, migrationId: '0042_add_index', description: 'adds an index', reversible: false, database: 'campaigns' },
    });
    const reply = await request('migration.included', migration('mig-1'));
    expect(reply).toMatchObject({ ok: true, command: 'changeRequests.recordMigration', result: { events: ['ReleaseMigrationRecorded', 'ReleaseApprovalsInvalidated'] } });
    expect(migrations).toEqual([
      expect.objectContaining({ actor: 'ingest:ci/campaign-api', migrationId: '0042_add_index', description: 'adds an index', reversible: false, database: 'campaigns' }),
    ]);
    // The same migration from another pipeline run: a new command, already recorded.
    expect(await request('migration.included', migration('mig-2'))).toMatchObject({ ok: true, result: { events: [] } });
    expect(migrations[1]?.['commandId']).not.toBe(migrations[0]?.['commandId']);
  });

  it('answers with the service’s error when the command fails (no responder for the command)', async () => {
    const reply = await request('testgate.result', {
      specversion: '1.0',
      id: 'gate-1',
      source: 'ci/campaign-api',
      type: 'gatehouse.testgate.result',
      data: { release: { service: 'campaign-api', version: '2.1.0' }, environment: 'staging', gateId: 'e2e', status: 'passed', startedAt: '2026-12-01T10:00:00Z', finishedAt: '2026-12-01T10:20:00Z' },
    });
    expect(reply).toMatchObject({ ok: false, error: { name: 'NoResponderError', message: expect.stringContaining('recordGateResult') } });
  });

  it('parks an invalid fire-and-forget publish in the dead-letter stream with the reason', async () => {
    nc.publish(`${prefix}.ingest.release.built`, JSON.stringify({ ...releaseBuilt('build-4'), data: { title: 'no service' } }));
    const consumer = await jetstream(nc).consumers.get(names.deadLetterStreamName);
    const message = await consumer.next({ expires: 5_000 });
    expect(message).not.toBeNull();
    expect(message?.subject).toBe(`${prefix}.dlq.ingest.release_built`);
    expect(message?.headers?.get(DeadLetterHeaders.Reason)).toBe('invalid_data');
    expect(message?.headers?.get(DeadLetterHeaders.ErrorMessage)).toContain('data.service');
    expect(message?.json<{ id: string }>().id).toBe('build-4');
    expect(received).toEqual([]);
  });
});
