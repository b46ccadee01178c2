/**
 * Scenarios 1–4 against the distributed form: the gateway, the six services and the outbox relay each
 * run as their own process over PostgreSQL and NATS JetStream (what docker-compose.yml and deploy/k8s run).
 */
import { GatehouseClient, type GatehouseSystem, requireNats, requirePostgres, startDistributedGatehouse } from '@gatehouse/testing';
import { type Harness, lifecycleScenarios, START_AT } from './scenarios.js';

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
});
