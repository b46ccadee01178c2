/** Scenarios 1–4 against `npm start`'s one process (apps/gatehouse: PGlite, in-process bus), as a child process. */
import { GatehouseClient, type GatehouseSystem, startEmbeddedGatehouse } from '@gatehouse/testing';
import { type Harness, lifecycleScenarios, START_AT } from './scenarios.js';

describe('Gatehouse embedded: npm start in one process', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;

  beforeAll(async () => {
    system = await startEmbeddedGatehouse({ startAt: START_AT });
    client = new GatehouseClient(system.url, system.jwtSecret, START_AT);
    expect(await client.setClock(START_AT)).toEqual(['gatehouse']);
  }, 180_000);
  afterAll(async () => system?.close());

  lifecycleScenarios((): Harness => ({ system, client }));
});
