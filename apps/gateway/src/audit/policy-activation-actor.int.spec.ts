/**
 * Who activated a policy version: the operator or deploy identity the process was started with
 * (GATEHOUSE_POLICY_ACTIVATED_BY) is recorded on the activation and shown by the compliance report, in
 * JSON, CSV and Markdown; without it the activation is the system's. A blank identity is refused at start.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { secretKey } from '../auth/jwt.js';
import { type RunningGateway, startGateway } from '../bootstrap.js';
import { readGatewayConfig } from '../config.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const SECRET = 'policy-actor-test-secret-long-enough-for-hs256';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

const start = (dataDir: string, activatedBy?: string): Promise<RunningGateway> =>
  startGateway(
    readGatewayConfig({
      PORT: '0',
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_POLICIES: POLICIES,
      GATEHOUSE_JWT_SECRET: SECRET,
      LOG_LEVEL: 'silent',
      ...(activatedBy === undefined ? {} : { GATEHOUSE_POLICY_ACTIVATED_BY: activatedBy }),
    }),
  );

async function report(gateway: RunningGateway, format: 'json' | 'csv' | 'markdown'): Promise<string> {
  const token = await new SignJWT({ roles: ['auditor'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('aud').setIssuedAt().setExpirationTime('1h').sign(secretKey(SECRET));
  const period = `from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
  const response = await fetch(`${gateway.url}/api/audit/compliance?${period}&format=${format}`, { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return response.text();
}

describe('policy changes name who activated them', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-policy-actor-'));
  });
  afterEach(async () => rm(dataDir, { recursive: true, force: true }));

  it('records GATEHOUSE_POLICY_ACTIVATED_BY on the activation and shows it in the compliance report; a restart with the same files records nothing', async () => {
    let gateway = await start(dataDir, 'ops-lead@example.com');
    try {
      const json = JSON.parse(await report(gateway, 'json')) as Json;
      expect(json.policyChanges).toEqual([expect.objectContaining({ actor: 'ops-lead@example.com', previousVersion: null })]);
      expect(await report(gateway, 'csv')).toMatch(/^policy_change,sha256:[0-9a-f]+,[^,]+,,,[^,]+,,ops-lead@example\.com,/m);
      expect(await report(gateway, 'markdown')).toMatch(/\| ops-lead@example\.com \| first version \|/);
    } finally {
      await gateway.close();
    }
    // Same files, another operator: the version is already active, so the record (and who made it) stays.
    gateway = await start(dataDir, 'someone-else');
    try {
      const json = JSON.parse(await report(gateway, 'json')) as Json;
      expect(json.policyChanges.map((p: Json) => p.actor)).toEqual(['ops-lead@example.com']);
    } finally {
      await gateway.close();
    }
  });

  it('without an activator configured, the activation is recorded as the system\'s', async () => {
    const gateway = await start(dataDir);
    try {
      const json = JSON.parse(await report(gateway, 'json')) as Json;
      expect(json.policyChanges.map((p: Json) => p.actor)).toEqual(['system']);
    } finally {
      await gateway.close();
    }
  });

  it('refuses a blank activator at start, naming the setting', () => {
    expect(() => readGatewayConfig({ GATEHOUSE_POLICY_ACTIVATED_BY: '   ' })).toThrow(/GATEHOUSE_POLICY_ACTIVATED_BY/);
  });
});
