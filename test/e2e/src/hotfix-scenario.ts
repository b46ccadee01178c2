/**
 * Scenario 3, the emergency hotfix lane, through the HTTP API: production runs checkout-api 3.4.0
 * (shipped in the last window before Black Friday week); on Black Friday a critical incident gets a
 * hotfix branch from the production tag, a hotfix release validated in staging inside the 30-minute
 * cap, and an emergency change that VP Engineering lets through the blackout. The SLA and the
 * post-incident review obligation are recorded; the review, never written, becomes overdue once.
 */
import { type GatehouseClient, HOUR, type Json, MINUTE, SEED_VALIDATION_CHECKS } from '@gatehouse/testing';
import { draft, type Harness, jumpToBooking, passGates, review } from './scenarios.js';

const BLACK_FRIDAY_AFTERNOON = '2026-11-27T15:00:00Z';

const checkoutDraft = (client: GatehouseClient, environment: string, releaseId: string, extra: object = {}): Json => ({
  ...draft(client, environment, releaseId, extra),
  title: `checkout-api to ${environment}`,
  type: 'bug_fix',
  priority: 'high',
  impact: 'medium',
});

async function submitAs(client: GatehouseClient, user: string, body: Json): Promise<string> {
  await passGates(client, body.releaseId, body.environments[0]);
  return (await client.ok('POST', '/api/change-requests', user, body)).changeRequestId;
}

async function grant(client: GatehouseClient, changeRequestId: string, approvers: [string, string][]): Promise<Json[]> {
  await client.waitFor(`approval request of ${changeRequestId}`, async () => (await client.events(`approval-${changeRequestId}`)).length > 0);
  const replies: Json[] = [];
  for (const [user, role] of approvers) replies.push(await client.ok('POST', `/api/change-requests/${changeRequestId}/approvals`, user, { role }));
  return replies;
}

/** checkout-api 3.4.0 through development, staging and production, in the last production window before the blackout. */
export async function givenProductionRunsCheckout({ client }: Harness): Promise<void> {
  const { releaseId } = await client.ok('POST', '/api/releases', 'ana', {
    service: 'checkout-api',
    version: '3.4.0',
    type: 'minor',
    title: 'Saved cards',
    previousVersion: '3.3.0',
    changes: [{ kind: 'feature', description: 'Pay with a saved card' }],
  });
  const dev = await submitAs(client, 'ana', checkoutDraft(client, 'development', releaseId));
  await review(client, dev);
  await grant(client, dev, [['rui', 'code_reviewer']]);
  await client.advanceUntilStatus(dev, 'closed', { step: MINUTE, limit: 2 * HOUR });
  const staging = await submitAs(client, 'ana', checkoutDraft(client, 'staging', releaseId));
  await review(client, staging);
  await grant(client, staging, [['rui', 'code_reviewer'], ['tess', 'tech_lead']]);
  await client.advanceUntilStatus(staging, 'scheduled', { step: MINUTE, limit: HOUR });
  await jumpToBooking(client, staging);
  await client.advanceUntilStatus(staging, 'closed', { step: 10 * MINUTE, limit: 4 * HOUR, validation: SEED_VALIDATION_CHECKS });
  const production = await submitAs(client, 'ana', checkoutDraft(client, 'production', releaseId, { runbookRef: 'RB-CHECKOUT' }));
  await review(client, production);
  await grant(client, production, [['rui', 'code_reviewer'], ['tess', 'tech_lead'], ['sam', 'sre']]);
  await client.advanceUntilStatus(production, 'scheduled', { step: MINUTE, limit: HOUR });
  // Thursday 19 November, 10:00: the last production window before Black Friday week.
  expect(await jumpToBooking(client, production)).toBe('2026-11-19T10:00:00.000Z');
  const scrape = { service: 'checkout-api', environment: 'production' };
  await client.advanceUntilStatus(production, 'validating', { step: 10 * MINUTE, limit: 4 * HOUR, scrape });
  await client.publishValidation(production);
  // The versions read model follows the log on its own subscription: wait for it, do not read it once.
  const versions = await client.waitFor('3.4.0 in production in the versions read model', async () => {
    const read = await client.ok('GET', '/api/versions?service=checkout-api&environment=production', 'ana');
    return read.items.length > 0 ? read : undefined;
  });
  expect(versions.items).toEqual([expect.objectContaining({ version: '3.4.0' })]);
  // The 24 h watch sees healthy metrics and completes; without them it would pause and, undecided, roll back.
  await client.advanceUntilStatus(production, 'closed', { step: 4 * HOUR, limit: 2 * 24 * HOUR, scrape });
}

export async function hotfixScenario({ client }: Harness): Promise<void> {
  await client.setClock(BLACK_FRIDAY_AFTERNOON);
  const opened = await client.ok('POST', '/api/hotfixes', 'sam', { incidentId: 'INC-7001', service: 'checkout-api', severity: 'critical' });
  const hotfixId: string = opened.hotfixId;
  expect((await client.call('POST', '/api/hotfixes', 'ana', { incidentId: 'INC-7002', service: 'checkout-api', severity: 'high' })).status).toBe(403);

  // The branch starts from the tag production runs, which Gatehouse knows from its own log.
  const wrongTag = await client.call('POST', `/api/hotfixes/${hotfixId}/branch`, 'sam', { branch: 'hotfix/INC-7001', fromTag: 'v3.3.0' });
  expect(wrongTag).toMatchObject({ status: 422, body: { error: 'NotAProductionTagError' } });
  await client.ok('POST', `/api/hotfixes/${hotfixId}/branch`, 'sam', { branch: 'hotfix/INC-7001', fromTag: 'v3.4.0' });
  const { releaseId } = await client.ok('POST', '/api/releases', 'sam', {
    service: 'checkout-api',
    version: '3.4.1',
    type: 'hotfix',
    title: 'Saved-card checkout fix',
    previousVersion: '3.4.0',
    changes: [{ kind: 'fix', description: 'Null check in the saved-card payment callback', reference: 'INC-7001' }],
  });

  // Development, then staging through an emergency change (Tech Lead lets it past the closed staging slot).
  const dev = await submitAs(client, 'rel', checkoutDraft(client, 'development', releaseId));
  await review(client, dev);
  await grant(client, dev, [['rui', 'code_reviewer']]);
  await client.advanceUntilStatus(dev, ['validating', 'validated', 'closed'], { step: MINUTE, limit: HOUR });
  const staging = await submitAs(client, 'rel', checkoutDraft(client, 'staging', releaseId, { kind: 'emergency', hotfixId }));
  await grant(client, staging, [['tess', 'tech_lead']]);
  await client.advanceUntilStatus(staging, ['validating', 'validated'], { step: MINUTE, limit: 2 * HOUR });
  // The hotfix lane skips no post-deployment checks (the seed asks for them after each deployment): CI reports them.
  await client.publishValidation(staging);
  // The release record follows the deployment on its own subscription (another consumer than the change's status).
  await client.waitFor('the release record shows the staging deployment', async () =>
    (await client.events(`release-${releaseId}`)).some((e: Json) => e.type === 'ReleaseDeploymentSucceeded' && e.data.environment === 'staging'),
  );

  // Staging validation inside its 30-minute cap.
  await client.ok('POST', `/api/hotfixes/${hotfixId}/validation/start`, 'sam', { releaseId });
  await client.advance(12 * MINUTE);
  await client.ok('POST', `/api/hotfixes/${hotfixId}/validation/complete`, 'sam', { outcome: 'passed', notes: 'saved-card checkout green in staging' });

  // The emergency change to production: in the blackout it needs VP Engineering besides Tech Lead and the SRE on call.
  const production = await submitAs(client, 'rel', checkoutDraft(client, 'production', releaseId, { kind: 'emergency', hotfixId, runbookRef: 'RB-CHECKOUT', priority: 'critical' }));
  // sam is the on-call SRE because the roster VP Engineering keeps says so, not because sam says so.
  await client.ok('PUT', '/api/on-call/sre', 'val', { shifts: [{ person: 'sam', start: client.now.toISOString(), end: new Date(client.now.getTime() + 8 * HOUR).toISOString() }] });
  const [, sre] = await grant(client, production, [['tess', 'tech_lead'], ['sam', 'sre']]);
  expect(sre.result).toMatchObject({ status: 'pending', outstanding: [{ role: 'vp_engineering', missing: 1 }] });
  await client.advance(5 * MINUTE);
  expect(await client.changeStatus(production)).toBe('awaiting_approval');
  expect(await client.events(`schedule-${production}`)).toEqual([]);

  const approvedAt = client.now.getTime();
  await client.ok('POST', `/api/change-requests/${production}/approvals`, 'val', { role: 'vp_engineering' });
  await client.advanceUntilStatus(production, ['implementing', 'validating'], { step: MINUTE, limit: HOUR });
  const booking = (await client.events(`schedule-${production}`)).find((e: Json) => e.type === 'DeploymentScheduled');
  expect(booking.data).toMatchObject({ changeType: 'emergency', environment: 'production', emergencyBypass: { role: 'vp_engineering', approvers: ['val'] } });
  expect(Date.parse(booking.data.scheduledFor) - approvedAt).toBeLessThan(5 * MINUTE);
  expect(JSON.stringify(booking.data.emergencyBypass.reasons)).toMatch(/black-friday/);

  // SLA met (< 2 h from identification), review due 24 h after the deployment.
  const lane = async (type: string): Promise<Json> => client.waitFor(`${type} on hotfix-${hotfixId}`, async () => (await client.events(`hotfix-${hotfixId}`)).find((e: Json) => e.type === type));
  const deployed = await lane('HotfixDeployedToProduction');
  const slaMet = await lane('HotfixSlaMet');
  expect(slaMet.data).toMatchObject({ slaMinutes: 120 });
  expect(slaMet.data.measuredMinutes).toBeLessThan(120);
  const reviewDue = await lane('PostIncidentReviewDue');
  expect(Date.parse(reviewDue.data.dueAt)).toBe(Date.parse(deployed.data.deployedAt) + 24 * HOUR);

  // The canary runs its steps under healthy samples until the fix is deployed; CI then reports production's checks.
  await client.advanceUntilStatus(production, 'validating', { step: 10 * MINUTE, limit: 12 * HOUR, scrape: { service: 'checkout-api', environment: 'production' } });
  await client.publishValidation(production);

  // The review is never written: overdue once, however often the deadline check runs.
  await client.setClock(new Date(Date.parse(reviewDue.data.dueAt) + 30 * MINUTE));
  const overdue = await lane('PostIncidentReviewOverdue');
  expect(overdue.data).toMatchObject({ incidentId: 'INC-7001', overdueByMinutes: 30 });
  await client.advance(3 * HOUR);
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect((await client.eventTypes(`hotfix-${hotfixId}`)).filter((t) => t === 'PostIncidentReviewOverdue')).toHaveLength(1);
  const view = await client.ok('GET', `/api/hotfixes/${hotfixId}`, 'ana');
  expect(view.hotfix).toMatchObject({ status: 'deployed', sla: { minutes: 120, outcome: 'met' }, review: { overdue: true } });
  // rel wrote the fix's changes: the post-incident review is not theirs to complete, and nothing is written.
  const ownReview = await client.call('POST', `/api/hotfixes/${hotfixId}/review`, 'rel', { reviewRef: 'PIR-7001' });
  expect(ownReview).toMatchObject({ status: 403, body: { error: 'SeparationOfDutiesViolation', details: { rule: 'author_cannot_review_incident' } } });
  expect((await client.eventTypes(`hotfix-${hotfixId}`)).at(-1)).toBe('PostIncidentReviewOverdue');
}
