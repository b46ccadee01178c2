/**
 * Scenario 5, crash safety: one staging change goes through its lifecycle while scheduling, deployments
 * and monitoring are each killed with SIGKILL at the worst moment and restarted. The lifecycle completes,
 * nothing is lost (every stored event reaches JetStream, none is dead-lettered) and nothing happens twice
 * (one booking, one timer firing, one deployment, each step applied to the cluster once, one watch end).
 */
import { GatehouseClient, type GatehouseSystem, HOUR, type Json, MINUTE, requireNats, requirePostgres, startDistributedGatehouse } from '@gatehouse/testing';
import { appliedSteps, approve, bookingOf, createRelease, review, submit } from './scenarios.js';

const MONDAY_MORNING = '2026-11-30T09:00:00Z';

describe('crash safety of the distributed form (kill -9, restart)', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  let staging = '';

  const count = async (streamId: string, type: string): Promise<number> => (await client.eventTypes(streamId)).filter((t) => t === type).length;

  beforeAll(async () => {
    if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
    system = await startDistributedGatehouse({ startAt: MONDAY_MORNING });
    client = new GatehouseClient(system.url, system.jwtSecret, MONDAY_MORNING);
    await client.setClock(MONDAY_MORNING);
    const release = await createRelease(client, '3.0.0', '2.9.0', [{ kind: 'feature', description: 'Campaign templates' }], 'major');
    const dev = await submit(client, 'development', release);
    await review(client, dev);
    await approve(client, dev, [['rui', 'code_reviewer']]);
    await client.advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });
    staging = await submit(client, 'staging', release);
    await review(client, staging);
    await approve(client, staging, [['rui', 'code_reviewer']]);
  }, 240_000);
  afterAll(async () => system?.close());

  it('scheduling: killed as the last approval lands, and again while its timer falls due, books once and fires once', async () => {
    const scheduling = system.process('scheduling');
    await client.ok('POST', `/api/change-requests/${staging}/approvals`, 'tess', { role: 'tech_lead' });
    await scheduling.kill('SIGKILL');
    await scheduling.restart();
    await client.advanceUntilStatus(staging, 'scheduled', { step: MINUTE, limit: HOUR });
    const { scheduledFor } = await bookingOf(client, staging);

    // Down when the booked instant comes: the timer is durable and fires after the restart, once.
    await scheduling.kill('SIGKILL');
    await client.setClock(new Date(Date.parse(scheduledFor) + 5 * MINUTE));
    await scheduling.restart();
    await client.advanceUntilStatus(staging, 'implementing', { step: MINUTE, limit: HOUR });

    expect(await count(`schedule-${staging}`, 'DeploymentScheduled')).toBe(1);
    const fired = (await client.eventsOfType('TimerFired')).filter((e: Json) => String(e.data.timerId).startsWith(`schedule-${staging}:start:`));
    expect(fired).toHaveLength(1);
    expect(await count(`deployment-${staging}`, 'DeploymentStarted')).toBe(1);
  });

  it('deployments: killed during the rolling update, it resumes where the cluster is and applies no step twice', async () => {
    const deployments = system.process('deployments');
    await client.waitFor('the first batch to start', async () => (await count(`deployment-${staging}`, 'DeploymentStepStarted')) >= 1);
    await deployments.kill('SIGKILL');
    await client.advance(30 * MINUTE); // time passes while it is down
    await deployments.restart();
    await client.advanceUntilStatus(staging, 'validating', { step: 5 * MINUTE, limit: 4 * HOUR });

    const events = await client.events(`deployment-${staging}`);
    const started = events.filter((e: Json) => e.type === 'DeploymentStepStarted').map((e: Json) => e.data.index);
    const completed = events.filter((e: Json) => e.type === 'DeploymentStepCompleted').map((e: Json) => e.data.index);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(completed).toEqual([0, 1, 2, 3]);
    expect(await appliedSteps(client, system, staging)).toEqual([0, 1, 2, 3]);
    expect(events.filter((e: Json) => e.type === 'DeploymentSucceeded')).toHaveLength(1);
  });

  it('monitoring: killed during the post-deployment watch, the watch still ends once and the change closes', async () => {
    const monitoring = system.process('monitoring');
    // Deployed: CI reports the post-deployment checks staging asks for, before the watch is interrupted.
    await client.publishValidation(staging);
    await client.waitFor('the watch to start', async () => (await count(`watch-${staging}`, 'PostDeploymentWatchStarted')) === 1);
    await monitoring.kill('SIGKILL');
    await client.advance(2 * HOUR); // staging watches for 1 h: it ends while monitoring is down
    await monitoring.restart();
    await client.advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 4 * HOUR });
    expect(await count(`watch-${staging}`, 'PostDeploymentWatchCompleted')).toBe(1);
    expect(await count(`changeRequest-${staging}`, 'ChangeClosed')).toBe(1);
  });

  it('lost nothing: every stored event is in JetStream once, none dead-lettered, and the audit chain verifies', async () => {
    const stored = await system.countEvents();
    const published = await client.waitFor('the relay to publish everything', async () => {
      const counts = await system.countPublished();
      return counts.events === stored ? counts : undefined;
    });
    expect(published).toEqual({ events: stored, deadLetters: 0 });
    expect((await client.ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
  });
});
