/**
 * Records the pinned history the auditors' reports are tested on (libs/domain/src/audit/fixtures): scenarios
 * 1–4 of scenarios.ts (Black Friday week's hotfix, the dev → staging → production lifecycle, a
 * migration release rolled back on its own) run against `npm start`'s one process, then the whole log
 * is written as JSON Lines, one `/api/events` event view a line. Not part of the suite; regenerate with
 *   npm run build && cd test/e2e && NODE_OPTIONS='--experimental-vm-modules --no-warnings' \
 *     npx jest --runInBand --testMatch '<rootDir>/src/record-audit-history.ts'
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatehouseClient, type GatehouseSystem, startEmbeddedGatehouse } from '@gatehouse/testing';
import { type Harness, lifecycleScenarios, START_AT } from './scenarios.js';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../libs/domain/src/audit/fixtures/black-friday-week.ndjson');

describe('record the Black Friday week history', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;

  beforeAll(async () => {
    system = await startEmbeddedGatehouse({ startAt: START_AT });
    client = new GatehouseClient(system.url, system.jwtSecret, START_AT);
    await client.setClock(START_AT);
  }, 180_000);
  afterAll(async () => system?.close());

  lifecycleScenarios((): Harness => ({ system, client }));

  it('writes the log', async () => {
    const lines: string[] = [];
    for (let after = '0'; ; ) {
      const page = await client.ok('GET', `/api/events?after=${after}&limit=1000`, 'aud');
      for (const event of page.events) lines.push(JSON.stringify(event));
      if (page.next === null) break;
      after = page.next;
    }
    await writeFile(FIXTURE, `${lines.join('\n')}\n`);
  });
});
