import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { authenticatedCommandBus, createNatsCommandBus, developmentCommandKeys, type CommandBus, type Relay, startRelay } from '@gatehouse/bus';
import { watchStreamId } from '@gatehouse/contracts';
import { MS_PER_SECOND, settableClock, watchEndTimerId } from '@gatehouse/domain';
import { createEventStore, type AuditableEventStore } from '@gatehouse/eventstore';
import { type StandaloneService, startStandaloneService } from '@gatehouse/service-kit';
import { isolatedSchema, natsUrl, requireNats, requirePostgres, type IsolatedSchema } from '@gatehouse/testing';
import { createMonitoringService } from './index.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const postgres = await requirePostgres();
const ready = postgres.available && (await requireNats());
const describeIf = ready ? describe : describe.skip;
const CR = 'cr-checkout-2-4-0';
const BATCHES = 24;

/** Samples recorded by one replica (its RecordSamples commands accepted), from its own metrics registry. */
async function samplesServedBy(replica: StandaloneService): Promise<{ accepted: number; refused: number }> {
  const metric = await replica.metrics.getSingleMetric('gatehouse_monitoring_commands_total')?.get();
  const count = (outcome: string) => metric?.values.find((v) => v.labels['command'] === 'RecordSamples' && v.labels['outcome'] === outcome)?.value ?? 0;
  return { accepted: count('accepted'), refused: count('refused') };
}

/**
 * Two monitoring replicas behind one NATS queue group: the watch is started by whichever replica's durable
 * consumer gets DeploymentStarted, and sample batches land on either. Each replica reads the open watches
 * from the store, so both serve the same watch and the trigger sees every sample.
 */
describeIf('two monitoring replicas on one PostgreSQL + NATS', () => {
  const suffix = randomBytes(4).toString('hex');
  const clock = settableClock('2026-12-01T10:00:00Z');
  let schema: IsolatedSchema;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let env: Record<string, string>;
  let store: AuditableEventStore;
  let relay: Relay | undefined;
  let client: CommandBus;
  const replicas: StandaloneService[] = [];

  beforeAll(async () => {
    schema = isolatedSchema('monitoring_replicas', postgres.url);
    env = {
      DATABASE_URL: postgres.url,
      NATS_URL: natsUrl(),
      GATEHOUSE_DB_SCHEMA: schema.name,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_NATS_PREFIX: `monitoring_replicas_${suffix}`,
      GATEHOUSE_EVENT_STREAM: `MONITORING_REPLICAS_${suffix}`,
      GATEHOUSE_DLQ_STREAM: `MONITORING_REPLICAS_DLQ_${suffix}`,
      PORT: '0',
      LOG_LEVEL: 'silent',
    };
    nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    jsm = await jetstreamManager(nc);
    for (let i = 0; i < 2; i++) replicas.push(await startStandaloneService(createMonitoringService({ timerCheckIntervalMs: 10 }), env, { clock }));
    store = await createEventStore({ databaseUrl: postgres.url, schema: schema.name });
    relay = startRelay({ store, js: jetstream(nc), checkpointName: 'outbox-relay', subjectPrefix: env['GATEHOUSE_NATS_PREFIX']!, pollIntervalMs: 10 });
    // Signs as the gateway does, with the development keys the services fall back to without configuration.
    const gateway = authenticatedCommandBus(createNatsCommandBus({ servers: natsUrl(), subjectPrefix: env['GATEHOUSE_NATS_PREFIX']! }), { keys: developmentCommandKeys(['gateway']), name: 'gateway' });
    client = { ...gateway, send: (context, command, payload, options) => gateway.send(context, command, payload, { caller: { subject: 'metrics-bot', roles: ['release_engineer'] }, ...options }) };
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

  it('samples sent to either replica are evaluated against the same watch: one trigger over all of them', async () => {
    await store.appendToStream(`deployment-${CR}`, [
      {
        type: 'DeploymentStarted',
        data: {
          deploymentId: `dep-${CR}`,
          changeRequestId: CR,
          releaseId: 'rel-checkout-2-4-0',
          service: 'checkout',
          version: '2.4.0',
          environment: 'production',
          strategy: 'canary',
          steps: [5, 25, 100].map((trafficPercent, index) => ({ index, name: `canary-${trafficPercent}`, trafficPercent, durationMinutes: 40, analysis: true })),
          startedAt: clock.now().toISOString(),
        },
        metadata: { actor: 'deployments', correlationId: 'corr-1' },
      },
    ]);
    await waitFor(async () => (await store.readStream(watchStreamId(CR))).length === 2);

    // error_rate above 1% from the first scrape: 300 s sustained = 11 scrapes, spread over both replicas.
    const fired: Array<{ triggerId: string }> = [];
    for (let batch = 1; batch <= BATCHES; batch++) {
      clock.advance(30 * MS_PER_SECOND);
      const reply = await client.send<{ fired: Array<{ triggerId: string }> }>('monitoring', 'recordSamples', {
        commandId: `batch-${batch}`,
        service: 'checkout',
        environment: 'production',
        samples: [{ metric: 'error_rate', at: clock.now().toISOString(), value: 0.02 }],
      });
      fired.push(...reply.fired);
    }

    const served = await Promise.all(replicas.map(samplesServedBy));
    expect(served.every((s) => s.accepted > 0 && s.refused === 0)).toBe(true);
    expect(served.reduce((sum, s) => sum + s.accepted, 0)).toBe(BATCHES);
    expect(fired.filter((f) => f.triggerId === 'error-rate-above-1-percent')).toHaveLength(1);
    const events = await store.readStream(watchStreamId(CR));
    expect(events.filter((e) => e.type === 'MetricSamplesRecorded')).toHaveLength(BATCHES);
    const triggers = events.filter((e) => e.type === 'RollbackTriggerFired');
    expect(triggers).toHaveLength(1);
    // The run the trigger saw is the unbroken one across both replicas' batches (the 1st to the 11th scrape).
    expect(triggers[0]!.data).toMatchObject({ evidence: { heldSeconds: 300, windowStart: '2026-12-01T10:00:30.000Z', windowEnd: '2026-12-01T10:05:30.000Z' } });
  }, 60_000);

  it('the watch ends on its timer once, with the timer runners of both replicas looking at the clock', async () => {
    const cr = 'cr-search-1-2-0';
    const deployment = { deploymentId: `dep-${cr}`, changeRequestId: cr, releaseId: 'rel-search-1-2-0', service: 'search', version: '1.2.0', environment: 'staging', strategy: 'rolling-update' };
    await store.appendToStream(`deployment-${cr}`, [
      {
        type: 'DeploymentStarted',
        data: { ...deployment, steps: [{ index: 0, name: 'rollout', trafficPercent: 100, durationMinutes: 10, analysis: false }], startedAt: clock.now().toISOString() },
        metadata: { actor: 'deployments', correlationId: 'corr-2' },
      },
    ]);
    await waitFor(async () => (await store.readStream(watchStreamId(cr))).some((e) => e.type === 'WatchTimerArmed'));
    const provisional = (await store.readStream(watchStreamId(cr))).find((e) => e.type === 'WatchTimerArmed')!.data as { dueAt: string };
    await waitFor(async () => (await store.readStream(`workflowTimer-${watchEndTimerId(cr, provisional.dueAt)}`)).length === 1);

    // The deployment succeeds five minutes in: the watch (staging: one hour) counts from then.
    clock.advance(5 * 60 * MS_PER_SECOND);
    await store.appendToStream(`deployment-${cr}`, [{ type: 'DeploymentSucceeded', data: { changeRequestId: cr, completedAt: clock.now().toISOString() }, metadata: { actor: 'deployments', correlationId: 'corr-2' } }]);
    const endsAt = new Date(clock.now().getTime() + 3_600 * MS_PER_SECOND).toISOString();
    const endTimer = `workflowTimer-${watchEndTimerId(cr, endsAt)}`;
    await waitFor(async () => (await store.readStream(endTimer)).length === 1);
    // The provisional end is superseded: disarmed, never fired.
    await waitFor(async () => (await store.readStream(`workflowTimer-${watchEndTimerId(cr, provisional.dueAt)}`)).some((e) => e.type === 'TimerCancelled'));

    clock.set(endsAt);
    await waitFor(async () => (await store.readStream(watchStreamId(cr))).some((e) => e.type === 'PostDeploymentWatchCompleted'));
    await new Promise((resolve) => setTimeout(resolve, 300)); // both runners have looked at the clock many times since
    const watch = await store.readStream(watchStreamId(cr));
    const completed = watch.filter((e) => e.type === 'PostDeploymentWatchCompleted');
    expect(completed).toHaveLength(1);
    expect(completed[0]!.metadata).toMatchObject({ causationId: `${watchEndTimerId(cr, endsAt)}:1:fire` });
    expect((await store.readStream(endTimer)).map((e) => e.type)).toEqual(['TimerArmed', 'TimerFired']);
    expect((await store.readStream(`workflowTimer-${watchEndTimerId(cr, provisional.dueAt)}`)).map((e) => e.type)).toEqual(['TimerArmed', 'TimerCancelled']);
  }, 60_000);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
