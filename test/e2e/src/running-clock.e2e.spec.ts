/**
 * The clock running at real speed, as in production and in a plain `npm start` (no pinned instant):
 * changes submitted, reviewed and approved through HTTP must go all the way to `closed`. Before bookings
 * carried their decision time, a development change booked "now" reached change-requests a few
 * milliseconds later, was refused as a window in the past and stayed `approved` for good.
 * Where a lifecycle needs hours of clock time (deployment steps, the staging and production windows,
 * post-deployment watches), the clock is moved with the admin endpoint and keeps running from there.
 */
import { GatehouseClient, type GatehouseSystem, type Json, MINUTE, requireNats, requirePostgres, startDistributedGatehouse, startEmbeddedGatehouse } from '@gatehouse/testing';
import { createRelease, review, TESTING_GATES } from './scenarios.js';

const forms = [
  { form: 'embedded (npm start)', start: () => startEmbeddedGatehouse({}) },
  {
    form: 'distributed',
    start: async () => {
      if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
      return startDistributedGatehouse({});
    },
  },
];

describe.each(forms)('a running clock ($form)', ({ start }) => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  /** The release the staging test took through development and staging, for the production test. */
  let stagedRelease = '';

  beforeAll(async () => {
    system = await start();
    client = new GatehouseClient(system.url, system.jwtSecret, new Date().toISOString());
  }, 180_000);
  afterAll(async () => system?.close());

  /** The system's time now (it runs): read from the gateway. */
  const systemNow = async (): Promise<Date> => new Date((await client.ok('GET', '/api/admin/clock', 'rel')).now);
  /** Moves the clock to `at` and lets it run on from there at real speed. */
  const runClockFrom = async (at: Date): Promise<void> => {
    const reply = await client.ok('PUT', '/api/admin/clock', 'rel', { at: at.toISOString(), running: true });
    expect(reply.setting.running).toBe(true);
  };
  const status = (changeRequestId: string) => client.changeStatus(changeRequestId);

  /** CI reports the environment's testing gates as passed, at the system's time, as a pipeline does: a start waits for them. */
  async function passGates(releaseId: string, environment: string): Promise<void> {
    const at = (await systemNow()).toISOString();
    for (const gateId of TESTING_GATES[environment] ?? []) {
      const data = { release: { releaseId }, environment, gateId, status: 'passed', startedAt: at, finishedAt: at };
      await client.ok('POST', '/api/ingest', 'rel', { specversion: '1.0', id: `${releaseId}-${environment}-${gateId}`, source: 'ci/tests', type: 'gatehouse.testgate.result', data });
    }
  }

  async function submitted(environment: string, releaseId: string): Promise<string> {
    await passGates(releaseId, environment);
    const body = {
      kind: 'normal',
      title: `${releaseId} to ${environment}`,
      description: 'Campaign scheduling with time zones',
      type: 'enhancement',
      priority: 'medium',
      impact: 'low',
      risk: 'low',
      environments: [environment],
      schedule: { planned: (await systemNow()).toISOString(), duration: 120 },
      implementationPlan: 'Roll out the new image',
      rollbackPlan: 'Roll back to the previous image',
      testingPlan: 'Suites and analysis',
      releaseId,
      ...(environment === 'production' ? { runbookRef: 'RB-42' } : {}),
    };
    return (await client.ok('POST', '/api/change-requests', 'ana', body)).changeRequestId;
  }

  async function approve(changeRequestId: string, approvers: [string, string][]): Promise<void> {
    await client.waitFor(`approval request of ${changeRequestId}`, async () => (await client.events(`approval-${changeRequestId}`)).length > 0);
    for (const [user, role] of approvers) await client.ok('POST', `/api/change-requests/${changeRequestId}/approvals`, user, { role });
  }

  /** While the clock runs: every few real seconds, moves it `step` ahead (still running) until the change reaches `wanted`. */
  async function runUntil(changeRequestId: string, wanted: string, { step, jumps, scrape }: { step: number; jumps: number; scrape?: { service: string; environment: string } }): Promise<void> {
    let scrapedUntil = (await systemNow()).getTime();
    for (let jump = 0; ; jump += 1) {
      if (scrape !== undefined) {
        // A metric source reports a healthy error rate every 5 minutes up to now: production analyses every canary
        // step and the watch, and pauses a rollout that saw too few samples.
        const now = (await systemNow()).getTime();
        const samples = [];
        for (let at = scrapedUntil + 5 * MINUTE; at <= now; at += 5 * MINUTE) samples.push({ metric: 'error_rate', at: new Date(at).toISOString(), value: 0.001 });
        if (samples.length > 0) {
          scrapedUntil = Date.parse(samples.at(-1)!.at);
          const pushed = await client.call('POST', '/api/metrics/samples', 'sam', { ...scrape, samples });
          if (pushed.status !== 200 && pushed.body?.error !== 'NoActiveWatchError') throw new Error(`samples refused: ${pushed.status} ${JSON.stringify(pushed.body)}`);
        }
      }
      const reached = await client
        .waitFor(`${changeRequestId} ${wanted}`, async () => (await status(changeRequestId)) === wanted, { timeoutMs: 2_500, intervalMs: 200 })
        .then(() => true, () => false);
      if (reached) return;
      if (jump >= jumps) {
        const history = (await Promise.all(['schedule', 'deployment', 'watch'].map((category) => client.events(`${category}-${changeRequestId}`)))).flat();
        throw new Error(`change ${changeRequestId} stuck in '${await status(changeRequestId)}' at ${(await systemNow()).toISOString()}, wanted '${wanted}':\n${history.map((e: Json) => `${e.type} ${JSON.stringify(e.data).slice(0, 300)}`).join('\n')}`);
      }
      await runClockFrom(new Date((await systemNow()).getTime() + step));
    }
  }

  it('development changes approved at real speed are booked at once, deploy and close', async () => {
    // Three services' releases at once, as teams merging to develop do: each change is booked for "now".
    const releases = await Promise.all(
      ['mailer-api', 'billing-api', 'search-api'].map(
        async (service) =>
          (await client.ok('POST', '/api/releases', 'ana', { service, version: '1.1.0', type: 'minor', title: `${service} 1.1.0`, previousVersion: '1.0.0', changes: [{ kind: 'feature', description: `feature of ${service}` }] })).releaseId as string,
      ),
    );
    const changes = await Promise.all(releases.map((releaseId) => submitted('development', releaseId)));
    for (const changeRequestId of changes) {
      await review(client, changeRequestId);
      await approve(changeRequestId, [['rui', 'code_reviewer']]);
    }
    // Booked, recorded and started within seconds of real time, with no clock move at all.
    for (const changeRequestId of changes) {
      await client.waitFor(`${changeRequestId} implementing`, async () => (await status(changeRequestId)) === 'implementing', { timeoutMs: 30_000 });
      const [booking] = (await client.events(`schedule-${changeRequestId}`)).filter((e: Json) => e.type === 'DeploymentScheduled');
      const [scheduled] = (await client.events(`changeRequest-${changeRequestId}`)).filter((e: Json) => e.type === 'ChangeScheduled');
      expect(scheduled.data.windowStart).toBe(booking.data.scheduledFor);
      // The booking was for the very instant it was made, and change-requests recorded it later: still accepted.
      expect(booking.data.bookedAt).toBe(booking.data.scheduledFor);
      expect(Date.parse(scheduled.data.scheduledAt)).toBeGreaterThanOrEqual(Date.parse(booking.data.bookedAt));
    }
    // The big-bang step analyses for 5 minutes of clock time: move the running clock past it and let it run.
    await runClockFrom(new Date((await systemNow()).getTime() + 6 * MINUTE));
    for (const changeRequestId of changes) await runUntil(changeRequestId, 'closed', { step: 6 * MINUTE, jumps: 3 });
    for (const changeRequestId of changes) {
      const types = await client.eventTypes(`changeRequest-${changeRequestId}`);
      expect(types.slice(-5)).toEqual(['ChangeScheduled', 'ChangeImplementationStarted', 'ChangeImplemented', 'ChangeValidated', 'ChangeClosed']);
      expect(await client.eventTypes(`deployment-${changeRequestId}`)).toContain('DeploymentSucceeded');
    }
    // Each release recorded its development deployment (what a staging submission later requires).
    for (const changeRequestId of changes) {
      const { changeRequest } = await client.ok('GET', `/api/change-requests/${changeRequestId}`, 'ana');
      expect(changeRequest.release.deployments.development).toMatchObject({ status: 'succeeded' });
    }
  });

  it('a staging change is booked into the next daily window and, with the clock running from just before it, deploys and closes', async () => {
    const releaseId = await createRelease(client, '2.3.0', '2.2.0', [{ kind: 'feature', description: 'Campaign scheduling' }]);
    const dev = await submitted('development', releaseId);
    await review(client, dev);
    await approve(dev, [['rui', 'code_reviewer']]);
    await client.waitFor(`${dev} implementing`, async () => (await status(dev)) === 'implementing', { timeoutMs: 30_000 });
    await runUntil(dev, 'closed', { step: 6 * MINUTE, jumps: 4 });

    const staging = await submitted('staging', releaseId);
    await review(client, staging);
    await approve(staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await client.waitFor(`${staging} scheduled`, async () => (await status(staging)) === 'scheduled', { timeoutMs: 30_000 });
    const [booking] = (await client.events(`schedule-${staging}`)).filter((e: Json) => e.type === 'DeploymentScheduled');
    expect(new Date(booking.data.scheduledFor).getUTCHours()).toBe(14);
    // Run the clock from two seconds before the slot: the timer fires at 14:00 in real time.
    await runClockFrom(new Date(Date.parse(booking.data.scheduledFor) - 2_000));
    await client.waitFor(`${staging} implementing`, async () => (await status(staging)) === 'implementing', { timeoutMs: 30_000 });
    // Four rolling batches of 10 minutes, then an hour's watch: the running clock is moved on in steps.
    await runUntil(staging, 'validating', { step: 11 * MINUTE, jumps: 6 });
    // Deployed: CI reports the smoke and integration checks staging asks for, with the clock running.
    await client.publishValidation(staging);
    await runUntil(staging, 'closed', { step: 11 * MINUTE, jumps: 8 });
    expect((await client.eventTypes(`changeRequest-${staging}`)).at(-1)).toBe('ChangeClosed');
    stagedRelease = releaseId;
  });

  it('a production change is booked into the next allowed window and, with the clock running from just before it, rolls out its canary and closes', async () => {
    expect(stagedRelease).not.toBe('');
    const production = await submitted('production', stagedRelease);
    await review(client, production);
    await approve(production, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await client.waitFor(`${production} scheduled`, async () => (await status(production)) === 'scheduled', { timeoutMs: 30_000 });
    const [booking] = (await client.events(`schedule-${production}`)).filter((e: Json) => e.type === 'DeploymentScheduled');
    expect(Date.parse(booking.data.scheduledFor)).toBeGreaterThan(Date.parse(booking.data.bookedAt));
    await runClockFrom(new Date(Date.parse(booking.data.scheduledFor) - 2_000));
    await client.waitFor(`${production} implementing`, async () => (await status(production)) === 'implementing', { timeoutMs: 30_000 });
    // Canary 5% → 25% → 100% with analysis, then the 24-hour watch: the running clock is moved on in steps.
    // Steps shorter than a canary step's analysis window, so each step's samples are in before it is judged.
    const scrape = { service: booking.data.service as string, environment: 'production' };
    await runUntil(production, 'validating', { step: 10 * MINUTE, jumps: 30, scrape });
    await client.publishValidation(production);
    await runUntil(production, 'closed', { step: 3 * 60 * MINUTE, jumps: 12, scrape });
    const deployment = await client.events(`deployment-${production}`);
    expect(deployment.filter((e: Json) => e.type === 'DeploymentStepCompleted').map((e: Json) => e.data.trafficPercent)).toEqual([5, 25, 100]);
    expect((await client.eventTypes(`changeRequest-${production}`)).slice(-7)).toEqual([
      'ChangeImplementationStarted',
      'ChangeImplemented',
      'PostDeploymentCheckRecorded',
      'PostDeploymentCheckRecorded',
      'PostDeploymentWatchPassed',
      'ChangeValidated',
      'ChangeClosed',
    ]);
  });
});
