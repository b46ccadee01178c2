/**
 * Rebuilding the read models through the interfaces people use: POST /api/admin/read-models/rebuild and
 * `gatehouse admin rebuild-read-models`, on `npm start`'s process (gateway and every service) over PostgreSQL.
 * Only an SRE or release engineer may; anyone else is refused and nothing is rebuilt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { type RunningGatehouse, startGatehouse } from '@gatehouse/gatehouse';
import { readGatewayConfig } from '@gatehouse/gateway';
import { isolatedSchema, requirePostgres } from '@gatehouse/testing';
import { type CliIo, run as runCli } from '../index.js';

const postgres = await requirePostgres();
const describePostgres = postgres.available ? describe : describe.skip;
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const JWT_SECRET = 'read-models-admin-test-secret-of-32-chars';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

const tokenFor = (sub: string, roles: string[]): Promise<string> =>
  new SignJWT({ roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));

describePostgres('rebuilding the read models over HTTP and the CLI', () => {
  const schema = isolatedSchema('rebuild_admin');
  let gatehouse: RunningGatehouse;
  const gateway = () => gatehouse.gateway;
  let dataDir: string;

  const generation = async (): Promise<number> =>
    (await gateway().store.sql!.executor.query<{ generation: number }>(`SELECT generation FROM "${schema.name}_projections".read_models`))[0]!.generation;
  const post = async (token: string | null): Promise<{ status: number; body: Json }> => {
    const response = await fetch(`${gateway().url}/api/admin/read-models/rebuild`, { method: 'POST', headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.json() };
  };
  const cli = async (argv: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: { GATEHOUSE_URL: gateway().url, GATEHOUSE_TOKEN: token }, cwd: dataDir, now: () => new Date() };
    return { code: await runCli(argv, io), stdout, stderr };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-rebuild-'));
    gatehouse = await startGatehouse(
      readGatewayConfig({ PORT: '0', DATABASE_URL: postgres.url, GATEHOUSE_DB_SCHEMA: schema.name, GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, GATEHOUSE_JWT_SECRET: JWT_SECRET, GATEHOUSE_TREE_HEAD_INTERVAL_MS: '0', LOG_LEVEL: 'silent' }),
    );
  });
  afterAll(async () => {
    await gatehouse?.close();
    await schema.drop();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses callers without an operator role (HTTP 401/403, CLI exit 4) and rebuilds nothing', async () => {
    const before = await generation();
    expect(await post(null)).toMatchObject({ status: 401 });
    const refused = await post(await tokenFor('dev', ['developer', 'auditor']));
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toMatch(/sre|release_engineer/);
    const ran = await cli(['admin', 'rebuild-read-models'], await tokenFor('dev', ['developer']));
    expect(ran.code).toBe(4);
    expect(ran.stderr).toContain('403');
    expect(await generation()).toBe(before);
  });

  it('rebuilds for an SRE (HTTP) and a release engineer (CLI), into a new generation of tables each time', async () => {
    const before = await generation();
    const rebuilt = await post(await tokenFor('sam', ['sre']));
    expect(rebuilt).toMatchObject({
      status: 200,
      body: {
        rebuilt: { generation: before + 1, requestedBy: 'sam', events: expect.any(Number), position: expect.stringMatching(/^\d+$/) },
        watchIndex: { requestedBy: 'sam', tables: true, events: expect.any(Number), entries: expect.any(Number), position: expect.stringMatching(/^\d+$/) },
      },
    });
    expect(rebuilt.body.rebuilt.events).toBeGreaterThan(0);
    const ran = await cli(['admin', 'rebuild-read-models'], await tokenFor('rita', ['release_engineer']));
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(ran.stdout).toMatch(
      new RegExp(`^read models rebuilt: \\d+ events to position \\d+ in \\d+ ms \\(tables generation ${before + 2}\\), requested by rita\\nwatch index rebuilt: \\d+ events, \\d+ entries, to position \\d+ in \\d+ ms\\n$`),
    );
    expect(await generation()).toBe(before + 2);
    // The views answer from the rebuilt tables.
    const versions = await fetch(`${gateway().url}/api/versions`, { headers: { authorization: `Bearer ${await tokenFor('sam', ['sre'])}` } });
    expect(versions.status).toBe(200);
  });
});
