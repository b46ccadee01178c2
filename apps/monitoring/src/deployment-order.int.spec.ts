/**
 * A deployment's success or ending handled before its start. JetStream redelivers a DeploymentStarted that a killed
 * monitoring process took and never acknowledged only after its ack wait, while later events of the same consumer
 * flow: the success came first, the watch decider did nothing with it on a watch not started, and the watch then
 * waited for ever on its provisional timer (the kill storm left a change validating that way). The reaction must
 * wait for the start instead (OutOfOrderError: retried with back-off), write nothing meanwhile, and arm the watch's
 * end from the success once the start was handled.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { OutOfOrderError } from '@gatehouse/bus';
import { watchStreamId } from '@gatehouse/contracts';
import { settableClock } from '@gatehouse/domain';
import { type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { PolicyRegistry, type ServiceContext, type ServiceLogger } from '@gatehouse/service-kit';
import { type Monitoring, startMonitoring } from './monitoringService.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const quietLogger: ServiceLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const STARTED_AT = '2026-12-07T10:00:00.000Z';

describe('monitoring: a deployment success or ending delivered before its start', () => {
  let store: AuditableEventStore;
  let monitoring: Monitoring;
  beforeEach(async () => {
    store = await createInMemoryEventStore();
    const clock = settableClock(STARTED_AT);
    const policies = await PolicyRegistry.activateFromDirectory(store, POLICIES, clock);
    const ctx = { name: 'monitoring', store, clock, policies, metrics: new Registry(), logger: quietLogger, tickIntervalMs: 60_000 } as unknown as ServiceContext;
    monitoring = await startMonitoring(ctx);
  });
  afterEach(async () => {
    await monitoring.stop();
    await store.close();
  });

  const ids = (cr: string) => ({ deploymentId: `dep-${cr}`, changeRequestId: cr, releaseId: `rel-${cr}`, service: 'checkout', version: '2.4.0', environment: 'development' });
  async function append(cr: string, type: string, data: Record<string, unknown>): Promise<StoredEvent> {
    const { events } = await store.appendToStream(`deployment-${cr}`, [{ type, data: { ...ids(cr), ...data }, metadata: { actor: 'deployments', correlationId: `corr-${cr}` } }]);
    return events[0]!;
  }
  const started = (cr: string) => append(cr, 'DeploymentStarted', { strategy: 'rolling', steps: [{ index: 0, name: 'all', trafficPercent: 100, durationMinutes: 5, analysis: false }], startedAt: STARTED_AT });
  const watchTypes = async (cr: string) => (await store.readStream(watchStreamId(cr))).map((e) => e.type);

  it('waits for the start, writes nothing meanwhile, then arms the end from the success', async () => {
    const start = await started('cr-1');
    const success = await append('cr-1', 'DeploymentSucceeded', { completedAt: '2026-12-07T10:05:00.000Z' });

    await expect(monitoring.onDeploymentEvent(success)).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await watchTypes('cr-1')).toEqual([]);

    await monitoring.onDeploymentEvent(start);
    await monitoring.onDeploymentEvent(success);
    const watch = await store.readStream(watchStreamId('cr-1'));
    expect(watch.map((e) => e.type)).toEqual(['PostDeploymentWatchStarted', 'WatchTimerArmed', 'WatchTimerArmed']);
    expect(watch.at(-1)!.data).toMatchObject({ basis: 'deployment_succeeded' });
  });

  it('an ending before the start waits too, then ends the watch', async () => {
    const start = await started('cr-2');
    const failed = await append('cr-2', 'DeploymentFailed', { reason: 'step 0 (all) failed: image pull', failedAt: '2026-12-07T10:02:00.000Z' });

    await expect(monitoring.onDeploymentEvent(failed)).rejects.toBeInstanceOf(OutOfOrderError);
    expect(await watchTypes('cr-2')).toEqual([]);

    await monitoring.onDeploymentEvent(start);
    await monitoring.onDeploymentEvent(failed);
    expect((await watchTypes('cr-2')).at(-1)).toBe('PostDeploymentWatchEnded');
  });

  it('a success whose deployment never started (no DeploymentStarted in the store) is not waited for', async () => {
    const success = await append('cr-3', 'DeploymentSucceeded', { completedAt: '2026-12-07T10:05:00.000Z' });
    await expect(monitoring.onDeploymentEvent(success)).resolves.toBeUndefined();
    expect(await watchTypes('cr-3')).toEqual([]);
  });
});
