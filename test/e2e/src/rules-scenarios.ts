/**
 * Rules that hold (issue 8), written once and run against both forms of Gatehouse (rules.e2e.spec.ts), only
 * through the HTTP API: a user tries to get around each rule and is refused with the rule named, and the refused
 * request writes nothing. One system and one clock that only moves forward:
 *   Mon 2026-11-30 → Tue 12-01  release required; a migration the release lists needs the DBA
 *   Tue 12-01 → Thu 12-03       testing gates at the start; a warn-gate override; a reschedule decides again
 *   Thu 12-03                   a timer that fires after its window re-books
 *   Thu 12-03 → Fri 12-04       a major release booked to production re-plans staging work inside its freeze
 */
import { type GatehouseClient, HOUR, type Json, MINUTE } from '@gatehouse/testing';
import { approve, draft, eventsAfter, type Harness, headPosition, review, submit, throughStaging } from './scenarios.js';

export const RULES_START_AT = '2026-11-30T09:00:00Z';

async function release(client: GatehouseClient, service: string, version: string, type: string, changes: Json[] = [{ kind: 'feature', description: 'New scheduling' }]): Promise<string> {
  return (await client.ok('POST', '/api/releases', 'ana', { service, version, type, title: `${service} ${version}`, changes })).releaseId;
}

async function gateResult(client: GatehouseClient, releaseId: string, environment: string, gateId: string, status: 'passed' | 'failed'): Promise<void> {
  const at = client.now.toISOString();
  const data = { release: { releaseId }, environment, gateId, status, startedAt: at, finishedAt: at };
  await client.ok('POST', '/api/ingest', 'rel', { specversion: '1.0', id: `${releaseId}-${environment}-${gateId}-${status}`, source: 'ci/tests', type: 'gatehouse.testgate.result', data });
}

/** Real time for the services to react to what was just done, the clock untouched. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 2_000));

export function rulesScenarios(get: () => Harness): void {
  let campaign: string;
  let campaignProduction: string;

  it('R1. refuses a production change naming no release at submission, with the rule named; nothing is written', async () => {
    const { client } = get();
    const before = await headPosition(client);
    const { releaseId: _none, ...noRelease } = draft(client, 'production', 'none');
    const refused = await client.call('POST', '/api/change-requests', 'ana', noRelease);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'ReleaseRequiredError' });
    expect(refused.body.message).toMatch(/^production\/progression\/release-required: /);
    await settle();
    expect(await eventsAfter(client, before)).toEqual([]);
  });

  it('R2. a migration the release lists needs the DBA although the change does not say so; nothing is booked without it', async () => {
    const { client } = get();
    campaign = await release(client, 'campaign-api', '2.2.0', 'minor', [
      { kind: 'feature', description: 'Advanced campaign scheduling with time zones' },
      { kind: 'migration', description: 'Analytics tables for send times' },
    ]);
    await throughStaging(client, campaign);
    // Submitted without reporting production's gates: the start will check them (R3).
    campaignProduction = (await client.ok('POST', '/api/change-requests', 'ana', draft(client, 'production', campaign, { includesMigration: false }))).changeRequestId;
    await review(client, campaignProduction);
    await approve(client, campaignProduction, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    await settle();
    const [requested] = await client.events(`approval-${campaignProduction}`);
    expect(requested.data.requirements).toEqual(expect.arrayContaining([expect.objectContaining({ role: 'dba' })]));
    expect(await client.changeStatus(campaignProduction)).toBe('awaiting_approval');
    expect(await client.eventTypes(`schedule-${campaignProduction}`)).toEqual([]);
    const move = await client.call('POST', `/api/deployments/${campaignProduction}/schedule`, 'sam', { reason: 'ship it', at: '2026-12-01T10:00:00Z' });
    expect(move.status).toBe(404);
    expect(await client.eventTypes(`schedule-${campaignProduction}`)).toEqual([]);

    await client.ok('POST', `/api/change-requests/${campaignProduction}/approvals`, 'dora', { role: 'dba' });
    const booked = await client.waitFor('production booking', async () => (await client.events(`schedule-${campaignProduction}`)).find((e: Json) => e.type === 'DeploymentScheduled'));
    expect(booked.data.scheduledFor).toBe('2026-12-01T10:00:00.000Z');
  });

  it('R3. a deployment does not start before its blocking gates passed; a warn gate needs an override; a late result needs a new decision', async () => {
    const { client } = get();
    await client.setClock('2026-12-01T10:00:00Z');
    const refused = await client.waitFor('start refused', async () => (await client.events(`schedule-${campaignProduction}`)).find((e: Json) => e.type === 'DeploymentStartRefused'));
    expect(refused.data.reasons.join('\n')).toMatch(/production\/testingGates\/integration-tests: Integration Tests is required but has not run/);
    expect(await client.eventTypes(`deployment-${campaignProduction}`)).toEqual([]);

    await gateResult(client, campaign, 'production', 'integration-tests', 'passed');
    await gateResult(client, campaign, 'production', 'security-tests', 'passed');
    await gateResult(client, campaign, 'production', 'e2e-tests', 'failed');
    const gates = `gates-${campaign}-production`;
    await client.waitFor('gate results', async () => (await client.eventTypes(gates)).length === 3);
    const byDeveloper = await client.call('POST', `/api/releases/${campaign}/gates/e2e-tests/override`, 'ana', { environment: 'production', reason: 'flaky' });
    expect(byDeveloper.status).toBe(403);
    const blockGate = await client.call('POST', `/api/releases/${campaign}/gates/integration-tests/override`, 'tess', { environment: 'production', reason: 'we know' });
    expect(blockGate).toMatchObject({ status: 422, body: { error: 'GateNotOverridableError' } });
    expect(await client.eventTypes(gates)).toHaveLength(3);
    await client.ok('POST', `/api/releases/${campaign}/gates/e2e-tests/override`, 'tess', { environment: 'production', reason: 'known flaky login journey, QA-77' });

    await client.advance(30 * MINUTE);
    await settle();
    expect(await client.eventTypes(`schedule-${campaignProduction}`)).not.toContain('DeploymentDue');
    const rebooked = await client.ok('POST', `/api/deployments/${campaignProduction}/schedule`, 'sam', { reason: 'gates passed; E2E accepted by tess' });
    expect(rebooked.result).toMatchObject({ scheduledFor: '2026-12-03T10:00:00.000Z' });
    await client.setClock('2026-12-03T10:00:00Z');
    await client.advanceUntilStatus(campaignProduction, 'implementing', { step: 5 * MINUTE, limit: HOUR });
  });

  it('R4. a timer that fires after its window does not start the deployment: it re-books the next slot and says why', async () => {
    const { client } = get();
    const billing = await release(client, 'billing-api', '1.4.0', 'minor');
    const dev = await submit(client, 'development', billing);
    await review(client, dev);
    await approve(client, dev, [['rui', 'code_reviewer']]);
    await client.advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });
    const staging = await submit(client, 'staging', billing);
    await review(client, staging);
    await approve(client, staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    const booked = await client.waitFor('staging booking', async () => (await client.events(`schedule-${staging}`)).find((e: Json) => e.type === 'DeploymentScheduled'));
    expect(booked.data.scheduledFor).toBe('2026-12-03T14:00:00.000Z');

    await client.setClock('2026-12-03T13:30:00Z');
    await settle();
    await client.setClock('2026-12-03T16:00:00Z');
    const moved = await client.waitFor('re-booked', async () => (await client.events(`schedule-${staging}`)).find((e: Json) => e.type === 'DeploymentRescheduled'));
    expect(moved.data).toMatchObject({ previousScheduledFor: '2026-12-03T14:00:00.000Z', scheduledFor: '2026-12-04T14:00:00.000Z' });
    expect(moved.data.reason).toMatch(/^missed slot 2026-12-03T14:00:00.000Z: the start came at 2026-12-03T16:00Z, when staging\/windows\/daily-1400: /);
    expect(await client.eventTypes(`deployment-${staging}`)).toEqual([]);
  });

  it('R5. a major release booked to production re-plans staging work inside its freeze, and no reschedule gets back in', async () => {
    const { client } = get();
    const notify = await release(client, 'notify-api', '0.9.0', 'minor');
    const notifyDev = await submit(client, 'development', notify);
    await review(client, notifyDev);
    await approve(client, notifyDev, [['rui', 'code_reviewer']]);
    await client.advanceUntilStatus(notifyDev, 'closed', { step: MINUTE, limit: 2 * HOUR });
    const notifyStaging = await submit(client, 'staging', notify, { schedule: { planned: '2026-12-07T13:00:00Z', duration: 60 } });
    await review(client, notifyStaging);
    await approve(client, notifyStaging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
    const booked = await client.waitFor('notify staging booking', async () => (await client.events(`schedule-${notifyStaging}`)).find((e: Json) => e.type === 'DeploymentScheduled'));
    expect(booked.data.scheduledFor).toBe('2026-12-07T14:00:00.000Z');

    const search = await release(client, 'search-api', '3.0.0', 'major');
    await throughStaging(client, search);
    const searchProduction = await submit(client, 'production', search);
    await review(client, searchProduction);
    await approve(client, searchProduction, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
    const major = await client.waitFor('major release booking', async () => (await client.events(`schedule-${searchProduction}`)).find((e: Json) => e.type === 'DeploymentScheduled'));
    expect(major.data.scheduledFor).toBe('2026-12-08T10:00:00.000Z');

    const replanned = await client.waitFor('staging re-planned', async () => (await client.events(`schedule-${notifyStaging}`)).find((e: Json) => e.type === 'DeploymentRescheduled'));
    expect(replanned.data).toMatchObject({ previousScheduledFor: '2026-12-07T14:00:00.000Z', scheduledFor: '2026-12-08T14:00:00.000Z' });
    expect(replanned.data.reason).toMatch(/major release search-api 3\.0\.0 booked to production/);
    expect(replanned.data.reason).toMatch(/staging\/freezes\/major-release-freeze: /);

    const before = await headPosition(client);
    const back = await client.call('POST', `/api/deployments/${notifyStaging}/schedule`, 'ana', { reason: 'try Monday again', at: '2026-12-07T14:00:00Z' });
    expect(back).toMatchObject({ status: 422, body: { error: 'SlotRefusedError' } });
    expect(back.body.message).toMatch(/staging\/freezes\/major-release-freeze/);
    await settle();
    expect((await eventsAfter(client, before)).filter((e: Json) => e.streamId === `schedule-${notifyStaging}`)).toEqual([]);
  });
}
