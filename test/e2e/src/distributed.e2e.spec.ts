/**
 * Scenarios 1–4 against the distributed form: the gateway, the six services and the outbox relay each
 * run as their own process over PostgreSQL and NATS JetStream (what docker-compose.yml and deploy/k8s run).
 */
import { GatehouseClient, type GatehouseSystem, requireNats, requirePostgres, startDistributedGatehouse } from '@gatehouse/testing';
import { type Harness, lifecycleScenarios, START_AT, submit } from './scenarios.js';

describe('Gatehouse distributed: every service its own process over PostgreSQL and NATS', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;

  beforeAll(async () => {
    // The distributed form cannot run without them: fail rather than skip.
    if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
    system = await startDistributedGatehouse({ startAt: START_AT });
    client = new GatehouseClient(system.url, system.jwtSecret, START_AT);
    // Every process follows the clock the gateway moves.
    expect(await client.setClock(START_AT)).toEqual(['approvals', 'change-requests', 'deployments', 'gateway', 'monitoring', 'projections', 'scheduling']);
  }, 180_000);
  afterAll(async () => system?.close());

  lifecycleScenarios((): Harness => ({ system, client }));

  it('the gateway process serves the web console, and streams a change live over SSE from PostgreSQL (LISTEN/NOTIFY)', async () => {
    const page = await fetch(`${system.url}/changes/anything`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<div id="root">');
    expect((await fetch(`${system.url}/api/no-such-endpoint`)).headers.get('content-type')).toContain('application/json');

    // A service of its own, so nothing here touches what the scenarios assert about campaign-api.
    const { releaseId: release } = await client.ok('POST', '/api/releases', 'ana', { service: 'console-probe', version: '1.1.0', type: 'minor', title: 'Console probe 1.1.0', previousVersion: '1.0.0', changes: [{ kind: 'feature', description: 'Probe' }] });
    const changeRequestId = await submit(client, 'development', release);
    const stream = await fetch(`${system.url}/api/stream/change-requests/${changeRequestId}`, { headers: { authorization: `Bearer ${await client.token('ana')}` } });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const until = async (text: string): Promise<void> => {
      while (!received.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${text}; received:\n${received}`);
        received += value;
      }
    };
    await until('event: caught-up');
    expect(received).toContain('"type":"ChangeRequestSubmitted"');
    // Appended by the change-requests process; the gateway hears of it from PostgreSQL, not from polling per viewer.
    await client.ok('POST', `/api/change-requests/${changeRequestId}/review`, 'rui', { action: 'start' });
    await until('"type":"ChangeReviewStarted"');
    await reader.cancel();
  });
});
