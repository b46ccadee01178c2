/**
 * Feature flags (issue 10) and the release plan's prerequisites (issue 8 item 10) through the HTTP API of either form
 * (run from rules.e2e.spec.ts on its systems): a flag changed only with the environment's deploy roles, a refused
 * change writing nothing, sticky evaluation; an approval refused while a prerequisite is open, writing nothing.
 */
import type { Json } from '@gatehouse/testing';
import { eventsAfter, type Harness, headPosition, review, submit } from './scenarios.js';

/** Users the evaluation property is checked over (each one evaluated twice). */
const USERS = 60;

export function flagScenarios(get: () => Harness): void {
  it('F1. changes a flag only with the environment’s deploy roles (a refusal writes nothing) and evaluates users stickily', async () => {
    const { client } = get();
    const before = await headPosition(client);
    const refused = await client.call('PUT', '/api/flags/e2e-checkout', 'ana', { environment: 'production', enabled: true, rollout: { strategy: 'percentage', percentage: 40 } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'FlagChangeForbiddenError' });
    const bad = await client.call('PUT', '/api/flags/e2e-checkout', 'sam', { environment: 'production', enabled: true, rollout: { strategy: 'percentage', percentage: -5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: Json) => i.field)).toEqual(['rollout.percentage']);
    expect(await eventsAfter(client, before)).toEqual([]);

    expect(await client.ok('PUT', '/api/flags/e2e-checkout', 'sam', { environment: 'production', enabled: true, rollout: { strategy: 'percentage', percentage: 40 } })).toMatchObject({ events: ['FeatureFlagChanged'] });
    const answers = new Map<string, boolean>();
    for (let i = 0; i < USERS; i++) {
      const reply = await client.ok('GET', `/api/flags/e2e-checkout/evaluate?environment=production&userId=e2e-user-${i}`, 'aud');
      answers.set(reply.userId, reply.enabled);
    }
    for (let i = 0; i < USERS; i++) {
      expect((await client.ok('GET', `/api/flags/e2e-checkout/evaluate?environment=production&userId=e2e-user-${i}`, 'aud')).enabled).toBe(answers.get(`e2e-user-${i}`));
    }
    const on = [...answers.values()].filter(Boolean).length;
    expect(on).toBeGreaterThan(0);
    expect(on).toBeLessThan(USERS);
    expect((await client.events('flag-e2e-checkout')).map((e: Json) => e.type)).toEqual(['FeatureFlagChanged']);
  });

  it('F2. refuses an approval while a release prerequisite is open, naming its owner; nothing is written', async () => {
    const { client } = get();
    const { releaseId } = await client.ok('POST', '/api/releases', 'ana', { service: 'plan-api', version: '1.1.0', type: 'minor', title: 'plan-api 1.1.0', changes: [{ kind: 'feature', description: 'Exports' }] });
    const deadline = new Date(client.now.getTime() + 30 * 24 * 3_600_000).toISOString();
    await client.ok('POST', `/api/releases/${releaseId}/prerequisites`, 'rel', { prerequisiteId: 'vendor-contract', type: 'third_party', description: 'Signed export vendor contract', owner: 'dora', deadline });
    const changeRequestId = await submit(client, 'development', releaseId);
    await review(client, changeRequestId);
    await client.waitFor(`approval request of ${changeRequestId}`, async () => (await client.events(`approval-${changeRequestId}`)).length > 0);
    const before = await headPosition(client);
    const refused = await client.call('POST', `/api/change-requests/${changeRequestId}/approvals`, 'rui', { role: 'code_reviewer' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'PrerequisitesOpenError' });
    expect(refused.body.message).toContain("third_party prerequisite 'vendor-contract'");
    expect(refused.body.message).toContain('owner dora');
    expect(await eventsAfter(client, before)).toEqual([]);
    await client.ok('PUT', `/api/releases/${releaseId}/prerequisites/vendor-contract/status`, 'dora', { status: 'completed' });
    await client.ok('POST', `/api/change-requests/${changeRequestId}/approvals`, 'rui', { role: 'code_reviewer' });
  });
}
