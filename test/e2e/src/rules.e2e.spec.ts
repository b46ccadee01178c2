/** Rules that hold (issue 8) against both forms: the distributed system over PostgreSQL and NATS, and npm start's one process. */
import { GatehouseClient, type GatehouseSystem, requireNats, requirePostgres, startDistributedGatehouse, startEmbeddedGatehouse } from '@gatehouse/testing';
import { flagScenarios } from './flags-scenario.js';
import { RULES_START_AT, rulesScenarios } from './rules-scenarios.js';

describe('rules that hold — distributed: every service its own process over PostgreSQL and NATS', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  beforeAll(async () => {
    if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
    system = await startDistributedGatehouse({ startAt: RULES_START_AT });
    client = new GatehouseClient(system.url, system.jwtSecret, RULES_START_AT);
    await client.setClock(RULES_START_AT);
  }, 180_000);
  afterAll(async () => system?.close());

  rulesScenarios(() => ({ system, client }));
  flagScenarios(() => ({ system, client }));
});

describe('rules that hold — embedded: npm start in one process', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  beforeAll(async () => {
    system = await startEmbeddedGatehouse({ startAt: RULES_START_AT });
    client = new GatehouseClient(system.url, system.jwtSecret, RULES_START_AT);
    await client.setClock(RULES_START_AT);
  }, 180_000);
  afterAll(async () => system?.close());

  rulesScenarios(() => ({ system, client }));
  flagScenarios(() => ({ system, client }));
});
