/**
 * The end-to-end scenarios 1–4, written once and run against both forms of Gatehouse
 * (distributed.e2e.spec.ts, embedded.e2e.spec.ts), only through the HTTP API. They share one
 * system and one clock that only moves forward:
 *   Tue 2026-11-17 → Thu 2026-11-19             → checkout-api 3.4.0 reaches production (the hotfix's starting point)
 *   Wed 2026-11-25 (Black Friday week blackout) → refusals
 *   Fri 2026-11-27 (Black Friday)               → the hotfix lane
 *   Mon 2026-11-30 → Wed 2026-12-02             → the full lifecycle, dev → staging → production
 *   Wed 2026-12-02 → Thu 2026-12-03             → a migration release; automatic rollback
 */
import { type GatehouseClient, type GatehouseSystem, HOUR, type Json, MINUTE, SEED_VALIDATION_CHECKS } from '@gatehouse/testing';

export interface Harness {
  system: GatehouseSystem;
  client: GatehouseClient;
}

export const START_AT = '2026-11-17T09:00:00Z';
const BLACKOUT_WEDNESDAY = '2026-11-25T10:30:00Z';
const MONDAY_MORNING = '2026-11-30T09:00:00Z';

export function draft(client: GatehouseClient, environment: string, releaseId: string, extra: object = {}): Json {
  return {
    kind: 'normal',
    title: `${releaseId} to ${environment}`,
    description: 'Advanced campaign scheduling with time zones',
    type: 'enhancement',
    priority: 'medium',
    impact: 'low',
    risk: 'low',
    environments: [environment],
    schedule: { planned: client.now.toISOString(), duration: 120 },
    implementationPlan: 'Roll out the new image',
    rollbackPlan: 'Roll back to the previous image',
    testingPlan: 'Staging suites and canary analysis',
    releaseId,
    ...(environment === 'production' ? { runbookRef: 'RB-42' } : {}),
    ...extra,
  };
}

export async function createRelease(client: GatehouseClient, version: string, previousVersion: string, changes: Json[], type = 'minor'): Promise<string> {
  const { releaseId } = await client.ok('POST', '/api/releases', 'ana', { service: 'campaign-api', version, type, title: `Campaign API ${version}`, previousVersion, changes });
  return releaseId;
}

/** The environment's testing gates (deploy/policies); a deployment starts only once they passed. */
/** The testing gates each environment's policy requires before a start (deploy/policies). */
export const TESTING_GATES: Record<string, string[]> = { development: ['unit-tests'], production: ['integration-tests', 'e2e-tests', 'performance-tests', 'security-tests'] };

/** CI reports the environment's testing gates passed for the release, through ingestion. */
export async function passGates(client: GatehouseClient, releaseId: string, environment: string): Promise<void> {
  const at = client.now.toISOString();
  for (const gateId of TESTING_GATES[environment] ?? []) {
    const data = { release: { releaseId }, environment, gateId, status: 'passed', startedAt: at, finishedAt: at };
    await client.ok('POST', '/api/ingest', 'rel', { specversion: '1.0', id: `${releaseId}-${environment}-${gateId}`, source: 'ci/tests', type: 'gatehouse.testgate.result', data });
  }
}

export async function submit(client: GatehouseClient, environment: string, releaseId: string, extra: object = {}): Promise<string> {
  await passGates(client, releaseId, environment);
  return (await client.ok('POST', '/api/change-requests', 'ana', draft(client, environment, releaseId, extra))).changeRequestId;
}

export async function review(client: GatehouseClient, changeRequestId: string): Promise<void> {
  await client.ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
  await client.ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'complete', notes: 'reviewed: plan, rollback and tests are sound' });
}

export async function approve(client: GatehouseClient, changeRequestId: string, approvers: [user: string, role: string][]): Promise<void> {
  // Approvals are requested when the review completes (an event the approvals service reacts to).
  await client.waitFor(`approval request of ${changeRequestId}`, async () => (await client.events(`approval-${changeRequestId}`)).length > 0);
  for (const [user, role] of approvers) await client.ok('POST', `/api/change-requests/${changeRequestId}/approvals`, user, { role });
}

/** Development, then staging: what production's progression rule asks for first. */
export async function throughStaging(client: GatehouseClient, releaseId: string): Promise<void> {
  const dev = await submit(client, 'development', releaseId);
  await review(client, dev);
  await approve(client, dev, [['rui', 'code_reviewer']]);
  await client.advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });
  const staging = await submit(client, 'staging', releaseId);
  await review(client, staging);
  await approve(client, staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
  await client.advanceUntilStatus(staging, 'scheduled', { step: MINUTE, limit: HOUR });
  await jumpToBooking(client, staging);
  await client.advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 2 * 24 * HOUR, validation: SEED_VALIDATION_CHECKS });
}

/** The booked instant of a change, from the schedule projection. */
export async function bookingOf(client: GatehouseClient, changeRequestId: string): Promise<Json> {
  return client.waitFor(`booking of ${changeRequestId} in the schedule`, async () => {
    const schedule = await client.ok('GET', '/api/schedule', 'ana');
    return schedule.items.find((item: Json) => item.changeRequestId === changeRequestId);
  });
}

/** Moves the clock straight to the change's booked start (never backwards). */
export async function jumpToBooking(client: GatehouseClient, changeRequestId: string): Promise<string> {
  const { scheduledFor } = await bookingOf(client, changeRequestId);
  if (Date.parse(scheduledFor) > client.now.getTime()) await client.setClock(scheduledFor);
  return scheduledFor;
}

/** Events appended after `position` (to prove a refusal wrote nothing). */
export async function eventsAfter(client: GatehouseClient, position: string): Promise<Json[]> {
  return (await client.ok('GET', `/api/events?after=${position}&limit=1000`, 'aud')).events;
}

export async function headPosition(client: GatehouseClient): Promise<string> {
  let after = '0';
  for (;;) {
    const page = await client.ok('GET', `/api/events?after=${after}&limit=1000`, 'aud');
    if (page.events.length === 0) return after;
    after = page.events.at(-1).globalPosition;
  }
}

/** Steps the cluster (sandbox) was asked to apply for a deployment, when its state file is readable. */
export async function appliedSteps(client: GatehouseClient, system: GatehouseSystem, changeRequestId: string): Promise<number[] | null> {
  if (system.sandboxStateFile === undefined) return null;
  const { SandboxTarget } = await import('@gatehouse/deployments');
  const started = (await client.events(`deployment-${changeRequestId}`)).find((e: Json) => e.type === 'DeploymentStarted');
  return SandboxTarget.operationsIn(system.sandboxStateFile)
    .filter((op) => op.kind === 'apply' && op.step.deploymentId === started?.data.deploymentId)
    .map((op) => (op.kind === 'apply' ? op.step.index : -1));
}

/** Declares scenarios 1–4 (`it` blocks, in timeline order) against the harness `get` returns. */
export function lifecycleScenarios(get: () => Harness): void {
  let mainRelease = '';
  let productionRunsCheckout = false;

  it('3 (setup). before Black Friday week, checkout-api 3.4.0 goes through to production', async () => {
    const { givenProductionRunsCheckout } = await import('./hotfix-scenario.js');
    await givenProductionRunsCheckout(get());
    productionRunsCheckout = true;
  });

  it('2a. refuses with reasons and writes nothing: production during the blackout, production before staging', async () => {
    const { client } = get();
    await client.setClock(BLACKOUT_WEDNESDAY);
    mainRelease = await createRelease(client, '2.2.0', '2.1.0', [{ kind: 'feature', description: 'Advanced campaign scheduling with time zones' }]);

    const decision = await client.ok('POST', '/api/policy/evaluate', 'ana', { environment: 'production' });
    expect(decision.allowed).toBe(false);
    expect(decision.nextAllowedAt).toBe('2026-12-01T10:00:00.000Z');
    expect(decision.reasons).toContainEqual(expect.objectContaining({ kind: 'deny', ruleId: expect.stringMatching(/black-friday/) }));

    const before = await headPosition(client);
    const early = await client.call('POST', '/api/change-requests', 'ana', draft(client, 'production', mainRelease));
    expect(early.status).toBe(422);
    expect(early.body.message).toMatch(/staging/);
    expect(await eventsAfter(client, before)).toEqual([]);
  });

  it('2c. one person cannot ship alone: standard changes, the review, on-call and CI initiators are refused around separation of duties', async () => {
    expect(productionRunsCheckout).toBe(true);
    const { separationOfDutiesScenario } = await import('./separation-scenario.js');
    await separationOfDutiesScenario(get().client);
  });

  it('3. the hotfix lane: an emergency change in the Black Friday blackout goes out with VP approval; SLA and review obligations recorded', async () => {
    expect(productionRunsCheckout).toBe(true);
    const { hotfixScenario } = await import('./hotfix-scenario.js');
    await hotfixScenario(get());
  });

  it('1. takes a release from development through staging to a production canary, visible in projections and the history', async () => {
    const { client, system } = get();
    await client.setClock(MONDAY_MORNING);

    const dev = await submit(client, 'development', mainRelease);
    await review(client, dev);
    await approve(client, dev, [['rui', 'code_reviewer']]);
    await client.advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });

    // Staging: code review + tech lead; the author may not approve their own change (2. refusals).
    const staging = await submit(client, 'staging', mainRelease);
    await review(client, staging);
    await client.waitFor('staging approval request', async () => (await client.events(`approval-${staging}`)).length > 0);
    const before = await headPosition(client);
    const selfApproval = await client.call('POST', `/api/change-requests/${staging}/approvals`, 'ana', { role: 'code_reviewer' });
    expect(selfApproval.status).toBe(403);
    expect(await eventsAfter(client, before)).toEqual([]);
    await approve(client, staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    await client.advanceUntilStatus(staging, 'scheduled', { step: MINUTE, limit: HOUR });
    expect((await bookingOf(client, staging)).scheduledFor).toBe('2026-11-30T14:00:00.000Z');
    await jumpToBooking(client, staging);
    await client.advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 2 * 24 * HOUR, validation: SEED_VALIDATION_CHECKS });

    // Production: code review + tech lead + SRE; without the SRE it waits, and the projection says for whom (2. refusals).
    const production = await submit(client, 'production', mainRelease);
    await review(client, production);
    await approve(client, production, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    const pending = await client.waitFor('SRE approval pending in the projection', async () => {
      const items = (await client.ok('GET', '/api/approvals/pending?role=sre', 'sam')).items as Json[];
      return items.find((item) => item.changeRequestId === production);
    });
    expect(pending).toMatchObject({ environment: 'production', role: 'sre', missing: 1 });
    expect(await client.changeStatus(production)).toBe('awaiting_approval');
    await client.ok('POST', `/api/change-requests/${production}/approvals`, 'sam', { role: 'sre' });
    await client.advanceUntilStatus(production, 'scheduled', { step: MINUTE, limit: HOUR });
    expect((await bookingOf(client, production)).scheduledFor).toBe('2026-12-01T10:00:00.000Z');

    await jumpToBooking(client, production);
    // A metric source reports healthy samples while the canary and its watch run (production analyses both).
    const scrape = { service: 'campaign-api', environment: 'production' };
    await client.advanceUntilStatus(production, 'implementing', { step: MINUTE, limit: HOUR, scrape });
    const active = await client.waitFor('the active deployment in the projection', async () => {
      const items = (await client.ok('GET', '/api/deployments/active', 'ana')).items as Json[];
      return items.find((item) => item.changeRequestId === production);
    });
    expect(active).toMatchObject({ environment: 'production', strategy: 'canary' });
    await client.advanceUntilStatus(production, 'validating', { step: 10 * MINUTE, limit: 6 * HOUR, scrape });
    // Deployed: CI runs the smoke and integration checks production asks for and reports them.
    await client.publishValidation(production);
    // The read model follows the log on its own subscription: give it the moment it needs.
    const versions = await client.waitFor('production running 2.2.0 in the versions projection', async () => {
      const reply = await client.ok('GET', '/api/versions?service=campaign-api&environment=production', 'ana');
      return reply.items.length > 0 ? reply : undefined;
    });
    expect(versions.items).toEqual([expect.objectContaining({ environment: 'production', version: '2.2.0' })]);
    // The 24-hour post-deployment watch, then the change (its checks passed) is validated and closes.
    await client.advanceUntilStatus(production, 'closed', { step: 4 * HOUR, limit: 2 * 24 * HOUR, scrape });

    const { changeRequest, history } = await client.ok('GET', `/api/change-requests/${production}`, 'ana');
    expect(changeRequest.status).toBe('closed');
    const types = history.map((e: Json) => e.type);
    for (const type of ['ChangeRequestSubmitted', 'ChangeReviewStarted', 'ChangeReviewCompleted', 'ChangeRequestApproved', 'ChangeScheduled', 'ChangeImplementationStarted', 'ChangeImplemented', 'PostDeploymentCheckRecorded', 'PostDeploymentWatchPassed', 'ChangeValidated', 'ChangeClosed']) {
      expect(types).toContain(type);
    }
    expect(history.find((e: Json) => e.type === 'ChangeRequestSubmitted').metadata.actor).toBe('ana');
    expect(history.find((e: Json) => e.type === 'ChangeReviewCompleted').metadata.actor).toBe('rui');
    const grants = (await client.events(`approval-${production}`)).filter((e: Json) => e.type === 'ApprovalGranted');
    expect(grants.map((e: Json) => [e.metadata.actor, e.data.role])).toEqual([
      ['rui', 'code_reviewer'],
      ['tess', 'tech_lead'],
      ['sam', 'sre'],
    ]);
    const deployment = await client.events(`deployment-${production}`);
    expect(deployment.filter((e: Json) => e.type === 'DeploymentStepCompleted').map((e: Json) => e.data.trafficPercent)).toEqual([5, 25, 100]);
    const applied = await appliedSteps(client, get().system, production);
    if (applied !== null) expect(applied).toEqual([0, 1, 2]);
    // The read model follows the log on its own subscription: wait until it has the close too.
    await client.waitFor('the closed production change in the change-requests read model', async () =>
      (await client.ok('GET', '/api/change-requests?status=closed&environment=production', 'ana')).items.some((item: Json) => item.changeRequestId === production),
    );
    expect((await client.ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
    void system;
  });

  let rollbackChange = '';

  it('2b. a migration waits for its own (dba) approval; a production deployment moved into a blackout is refused with the reasons', async () => {
    const { client } = get();
    const release = await createRelease(client, '2.2.1', '2.2.0', [
      { kind: 'fix', description: 'Corrected timezone handling in campaign reports' },
      { kind: 'migration', description: 'Add campaigns.time_zone column' },
    ], 'patch');
    await throughStaging(client, release);

    rollbackChange = await submit(client, 'production', release, { includesMigration: true });
    await review(client, rollbackChange);
    await approve(client, rollbackChange, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    const dba = await client.waitFor('dba approval pending', async () => {
      const items = (await client.ok('GET', '/api/approvals/pending?role=dba', 'dora')).items as Json[];
      return items.find((item) => item.changeRequestId === rollbackChange);
    });
    expect(dba).toMatchObject({ role: 'dba', missing: 1 });
    await client.advance(5 * MINUTE);
    expect(await client.changeStatus(rollbackChange)).toBe('awaiting_approval');
    await client.ok('POST', `/api/change-requests/${rollbackChange}/approvals`, 'dora', { role: 'dba' });
    await client.advanceUntilStatus(rollbackChange, 'scheduled', { step: MINUTE, limit: HOUR });
    const booked = (await bookingOf(client, rollbackChange)).scheduledFor;

    // Tue 2026-12-29 is in the quarter-end blackout (last 3 days of Q4).
    const before = await headPosition(client);
    const moved = await client.call('POST', `/api/deployments/${rollbackChange}/schedule`, 'sam', { at: '2026-12-29T10:00:00Z', reason: 'align with the marketing launch' });
    expect(moved.status).toBe(422);
    expect(moved.body.message).toMatch(/quarter/i);
    expect(moved.body.message).toMatch(/next allowed start/);
    expect(await eventsAfter(client, before)).toEqual([]);
    expect((await bookingOf(client, rollbackChange)).scheduledFor).toBe(booked);
  });

  it('4. rolls a production canary back on its own when the error rate stays above 1% for 5 minutes, with the evidence', async () => {
    const { client } = get();
    await jumpToBooking(client, rollbackChange);
    await client.advanceUntilStatus(rollbackChange, 'implementing', { step: MINUTE, limit: HOUR });
    await client.waitFor('the post-deployment watch', async () => (await client.eventTypes(`watch-${rollbackChange}`)).includes('PostDeploymentWatchStarted'));

    // Five minutes of 5% errors, scraped every 30 s: 11 samples span 300 s.
    const sample = () => ({ service: 'campaign-api', environment: 'production', samples: [{ metric: 'error_rate', at: client.now.toISOString(), value: 0.05 }] });
    for (let i = 0; i < 11; i++) {
      await client.ok('POST', '/api/metrics/samples', 'sam', sample());
      if (i < 10) await client.advance(30_000);
    }
    await client.advanceUntilStatus(rollbackChange, 'closed', { step: MINUTE, limit: HOUR });
    const late = await client.call('POST', '/api/metrics/samples', 'sam', sample());
    expect(late).toMatchObject({ status: 422, body: { error: 'NoActiveWatchError' } });

    const { history } = await client.ok('GET', `/api/change-requests/${rollbackChange}`, 'ana');
    expect(history.map((e: Json) => e.type)).toEqual(expect.arrayContaining(['ChangeRolledBack', 'ChangeClosed']));
    const rolledBack = (await client.events(`deployment-${rollbackChange}`)).filter((e: Json) => e.type === 'DeploymentRolledBack');
    expect(rolledBack).toHaveLength(1);
    expect(rolledBack[0].data).toMatchObject({ initiator: 'automatic', previousVersion: '2.2.0' });
    const fired = (await client.events(`watch-${rollbackChange}`)).filter((e: Json) => e.type === 'RollbackTriggerFired');
    expect(fired).toHaveLength(1);
    expect(JSON.stringify(fired[0].data)).toMatch(/error_rate/);
    const versions = await client.ok('GET', '/api/versions?service=campaign-api&environment=production', 'ana');
    expect(versions.items).toEqual([expect.objectContaining({ version: '2.2.0' })]);
    expect((await client.ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
  });
}
