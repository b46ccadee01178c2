import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { authenticatedCommandBus, createNatsCommandBus, developmentCommandKeys, type CommandBus, type Relay, startRelay } from '@gatehouse/bus';
import { settableClock } from '@gatehouse/domain';
import { createEventStore, type AuditableEventStore } from '@gatehouse/eventstore';
import { type StandaloneService, startStandaloneService } from '@gatehouse/service-kit';
import { isolatedSchema, natsUrl, requireNats, requirePostgres, type IsolatedSchema } from '@gatehouse/testing';
import { createDeploymentsService, SandboxTarget } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const postgres = await requirePostgres();
const ready = postgres.available && (await requireNats());
const describeIf = ready ? describe : describe.skip;
const MINUTE = 60_000;
const CHANGES = ['cr-a', 'cr-b', 'cr-c', 'cr-d'];

/**
 * Two deployments replicas, each a standalone service (its own NATS connections, store pool, ticker and
 * consumers) on the same PostgreSQL schema and JetStream stream, driving one cluster: the claims in the
 * store, not process memory, decide who performs what.
 */
describeIf('two deployments replicas on one PostgreSQL + NATS', () => {
  const suffix = randomBytes(4).toString('hex');
  const clock = settableClock('2026-12-01T10:00:00Z');
  const cluster = new SandboxTarget({ clock, rolloutSeconds: 45 });
  let schema: IsolatedSchema;
  let env: Record<string, string>;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let store: AuditableEventStore;
  let relay: Relay | undefined;
  let client: CommandBus;
  const replicas: StandaloneService[] = [];

  beforeAll(async () => {
    schema = isolatedSchema('deploy_replicas', postgres.url);
    env = {
      DATABASE_URL: postgres.url,
      NATS_URL: natsUrl(),
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_NATS_PREFIX: `deploy_replicas_${suffix}`,
      GATEHOUSE_EVENT_STREAM: `DEPLOY_REPLICAS_${suffix}`,
      GATEHOUSE_DLQ_STREAM: `DEPLOY_REPLICAS_DLQ_${suffix}`,
      PORT: '0',
      LOG_LEVEL: 'silent',
    };
    nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    jsm = await jetstreamManager(nc);
    for (let i = 0; i < 2; i++) replicas.push(await startStandaloneService(createDeploymentsService({ target: cluster, tickIntervalMs: 5 }), env, { clock }));
    store = await createEventStore({ databaseUrl: postgres.url, schema: schema.name });
    relay = startRelay({ store, js: jetstream(nc), checkpointName: 'outbox-relay', subjectPrefix: env['GATEHOUSE_NATS_PREFIX']!, pollIntervalMs: 10 });
    // Signs as the gateway does, with the development keys the services fall back to without configuration.
    const gateway = authenticatedCommandBus(createNatsCommandBus({ servers: natsUrl(), subjectPrefix: env['GATEHOUSE_NATS_PREFIX']! }), { keys: developmentCommandKeys(['gateway']), name: 'gateway' });
    client = { ...gateway, send: (context, command, payload, options) => gateway.send(context, command, payload, { caller: { subject: 'sre-sam', roles: ['sre'] }, ...options }) };
  });

  afterAll(async () => {
    await client?.close();
    for (const replica of replicas.reverse()) await replica.stop();
    await relay?.stop();
    await store?.close();
    for (const name of [env['GATEHOUSE_EVENT_STREAM']!, env['GATEHOUSE_DLQ_STREAM']!]) await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.close();
    await schema?.drop();
  });

  const stream = (crId: string) => store.readStream(`deployment-${crId}`);
  const has = async (crId: string, type: string, index?: number) =>
    (await stream(crId)).some((e) => e.type === type && (index === undefined || (e.data as { index?: number }).index === index));

  it('apply every step of every deployment to the cluster exactly once, and roll back once on a trigger', async () => {
    for (const crId of CHANGES) {
      await store.appendToStream(`schedule-${crId}`, [
        {
          type: 'DeploymentDue',
          data: { changeRequestId: crId, releaseId: `rel-${crId}`, service: `svc-${crId}`, version: '2.0.0', environment: 'production', changeType: 'normal', strategy: 'canary', dueAt: clock.now().toISOString() },
          metadata: { actor: 'scheduling', correlationId: `corr-${crId}` },
        },
      ]);
    }
    // The production canary: three steps of 40 min; both replicas tick every 5 ms against the same clock.
    for (const index of [0, 1, 2]) {
      for (const crId of CHANGES) await waitFor(() => has(crId, 'DeploymentStepApplied', index));
      clock.advance(35 * MINUTE);
      // Healthy scrapes recorded by monitoring during the step: its analysis is Successful.
      for (const crId of CHANGES) await store.appendToStream(`watch-${crId}`, [{ type: 'MetricSamplesRecorded', data: { changeRequestId: crId, samples: Array.from({ length: 5 }, (_, i) => ({ metric: 'error_rate', at: new Date(clock.now().getTime() - i * MINUTE).toISOString(), value: 0.001 })) } }]);
      clock.advance(5 * MINUTE);
    }
    for (const crId of CHANGES.slice(1)) await waitFor(() => has(crId, 'DeploymentSucceeded'));

    // cr-a succeeded too; a trigger fires for it (monitoring's event): both replicas consume, one restores.
    await waitFor(() => has('cr-a', 'DeploymentSucceeded'));
    await store.appendToStream('watch-cr-a', [
      {
        type: 'RollbackTriggerFired',
        data: { changeRequestId: 'cr-a', deploymentId: 'x', service: 'svc-cr-a', environment: 'production', triggerId: 'error-rate-above-1-percent', action: 'rollback', reason: 'error_rate > 0.01 held for 300 s', evidence: {}, firedAt: clock.now().toISOString() },
        metadata: { actor: 'monitoring' },
      },
    ]);
    await waitFor(() => has('cr-a', 'DeploymentRolledBack'));
    // And a person's rollback of cr-b, sent twice (a retry): once in the log, once on the cluster.
    const request = { commandId: 'rb-b', changeRequestId: 'cr-b', reason: 'latency', initiator: 'manual', actor: 'sre-sam' };
    await client.send('deployments', 'rollback', request);
    expect(await client.send('deployments', 'rollback', request)).toMatchObject({ duplicate: true, status: 'rolled_back' });
    await relay!.waitUntilCaughtUp({ timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const applies = cluster.operations.flatMap((o) => (o.kind === 'apply' ? [`${o.step.service}#${o.step.index}`] : []));
    expect(applies.sort()).toEqual(CHANGES.flatMap((crId) => [0, 1, 2].map((i) => `svc-${crId}#${i}`)).sort());
    expect(cluster.operations.filter((o) => o.kind === 'rollback').map((o) => o.service).sort()).toEqual(['svc-cr-a', 'svc-cr-b']);
    for (const crId of CHANGES) {
      const types = (await stream(crId)).map((e) => e.type);
      expect(types.filter((t) => t === 'DeploymentStarted')).toHaveLength(1);
      expect(types.filter((t) => t === 'DeploymentStepStarted')).toHaveLength(3);
      expect(types.filter((t) => t === 'DeploymentStepApplied')).toHaveLength(3);
      // No intent was left to another replica to resume: each was performed by the replica that claimed it.
      expect(types).not.toContain('DeploymentEffectClaimed');
    }
    expect((await stream('cr-a')).filter((e) => e.type === 'DeploymentRolledBack')).toHaveLength(1);
  }, 60_000);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
