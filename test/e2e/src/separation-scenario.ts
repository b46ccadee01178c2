/**
 * Scenario 2b (issue 8, item 4): one person cannot ship alone. Each attempt to get around separation of duties
 * through the HTTP API is refused with its status, error name and rule, and writes nothing.
 */
import type { GatehouseClient, Json } from '@gatehouse/testing';
import { draft, eventsAfter, headPosition } from './scenarios.js';

async function refused(client: GatehouseClient, attempt: () => Promise<{ status: number; body: Json }>, status: number, error: string, rule?: string): Promise<Json> {
  const before = await headPosition(client);
  const reply = await attempt();
  expect(reply).toMatchObject({ status, body: { error } });
  if (rule !== undefined) expect(reply.body.details).toMatchObject({ rule });
  // Nothing the refused request caused is in the log (other processes may write meanwhile: a watch ending, a timer).
  expect(typeof reply.body.correlationId).toBe('string');
  expect((await eventsAfter(client, before)).filter((e: Json) => e.metadata.correlationId === reply.body.correlationId)).toEqual([]);
  return reply.body;
}

export async function separationOfDutiesScenario(client: GatehouseClient): Promise<void> {
  const { releaseId } = await client.ok('POST', '/api/releases', 'ana', { service: 'payments-api', version: '1.1.0', type: 'minor', title: 'Refund reasons', previousVersion: '1.0.0' });
  // Standard (pre-approved) changes come only from the policy's catalogue, which production's policy leaves empty:
  // refused even for checkout-api 3.4.0, whose staging deployment stands (scenario 3's setup).
  const running = await client.ok('GET', '/api/versions?service=checkout-api&environment=production', 'ana');
  const shipped = await client.ok('GET', `/api/change-requests/${running.items[0].changeRequestId}`, 'ana');
  const standard = await refused(
    client,
    () => client.call('POST', '/api/change-requests', 'ana', draft(client, 'production', shipped.changeRequest.draft.releaseId, { kind: 'standard', standardTemplateId: 'feature-flag-toggle' })),
    422,
    'StandardChangeTemplateRequiredError',
  );
  expect(standard.message).toContain("production's policy pre-approves no change templates");

  // The author cannot complete the review someone else started (tess may review, as a tech lead, but not this change).
  const dev = (await client.ok('POST', '/api/change-requests', 'tess', draft(client, 'development', releaseId))).changeRequestId as string;
  await client.ok('POST', `/api/change-requests/${dev}/review`, 'rui', { action: 'start' });
  await refused(client, () => client.call('POST', `/api/change-requests/${dev}/review`, 'tess', { action: 'complete', notes: 'mine is fine' }), 403, 'SeparationOfDutiesViolation', 'author_cannot_review');

  // On call is the roster's word, set by a roster manager, never one's own.
  const shift = { person: 'sam', start: client.now.toISOString(), end: new Date(client.now.getTime() + 7 * 86_400_000).toISOString() };
  await refused(client, () => client.call('PUT', '/api/on-call/sre', 'ana', { shifts: [shift] }), 403, 'Forbidden');
  await refused(client, () => client.call('PUT', '/api/on-call/sre', 'sam', { shifts: [shift] }), 403, 'SeparationOfDutiesViolation', 'roster_self_assignment');
  await refused(client, () => client.call('POST', `/api/change-requests/${dev}/approvals`, 'sam', { role: 'sre', onCall: true }), 400, 'ValidationError');

  // CI must name the person behind the push, and that person cannot then review the change it opened.
  const changeRequest = {
    title: 'payments-api to development', description: 'From CI', type: 'enhancement', priority: 'low', impact: 'low', risk: 'low',
    schedule: { planned: client.now.toISOString(), duration: 30 }, implementationPlan: 'i', rollbackPlan: 'r', testingPlan: 't',
  };
  const requested = { specversion: '1.0', id: `deploy-${releaseId}-dev`, source: 'ci/payments-api', type: 'gatehouse.deployment.requested', data: { release: { releaseId }, environment: 'development', changeRequest } };
  await refused(client, () => client.call('POST', '/api/ingest', 'rel', requested), 400, 'ValidationError');
  const accepted = await client.ok('POST', '/api/ingest', 'rel', { ...requested, initiator: 'rui' });
  const ingested: string = accepted.result.streamId.replace('changeRequest-', '');
  await refused(client, () => client.call('POST', `/api/change-requests/${ingested}/review`, 'rui', { action: 'start' }), 403, 'SeparationOfDutiesViolation', 'author_cannot_review');
}
