import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import pg from 'pg';
import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { secretKey } from './auth/jwt.js';
import { readGatewayConfig } from './config.js';
import { type RunningGateway, startGateway } from './bootstrap.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (response: Response): Promise<any> => response.json() as Promise<any>;
const SECRET = 'gateway-test-secret-long-enough-for-hs256!';

describePostgres('gateway on PostgreSQL', () => {
  const schema = isolatedSchema('gateway');
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway(
      readGatewayConfig({
        PORT: '0',
        DATABASE_URL: postgres.url,
        GATEHOUSE_DB_SCHEMA: schema.name,
        GATEHOUSE_POLICIES: POLICIES,
        GATEHOUSE_JWT_SECRET: SECRET,
        LOG_LEVEL: 'silent',
      }),
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await schema.drop();
  });

  it('names the altered row when a stored event was tampered with', async () => {
    const jwt = await new SignJWT({ roles: ['auditor'], name: 'aud' }).setProtectedHeader({ alg: 'HS256' }).setSubject('aud').setIssuedAt().setExpirationTime('1h').sign(secretKey(SECRET));
    const auditor = { headers: { authorization: `Bearer ${jwt}` } };
    expect(await json(await fetch(`${gateway.url}/api/audit/verify`, auditor))).toMatchObject({ ok: true, eventsChecked: 1 });
    const { events } = await json(await fetch(`${gateway.url}/api/events`, auditor));
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      await client.query(`UPDATE "${schema.name}".events SET data = jsonb_set(data, '{previousVersion}', '"sha256:forged"') WHERE id = $1`, [
        events[0].id,
      ]);
    } finally {
      await client.end();
    }
    const verification = await json(await fetch(`${gateway.url}/api/audit/verify`, auditor));
    expect(verification).toMatchObject({ ok: false, firstBadPosition: events[0].globalPosition, streamId: 'policy-active', streamVersion: events[0].streamVersion });
    expect(verification.reason).toEqual(expect.any(String));
  });
});
