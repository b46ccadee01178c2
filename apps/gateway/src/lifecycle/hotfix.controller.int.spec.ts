import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { authenticatedCommandBus, type CommandBus, createInProcessCommandBus, generateCommandKeys } from '@gatehouse/bus';
import {
  CompletePostIncidentReviewPayload,
  CompleteStagingValidationPayload,
  CreateHotfixBranchPayload,
  GetHotfixPayload,
  IdentifyIncidentPayload,
  StartStagingValidationPayload,
} from '@gatehouse/contracts';
import { NotAProductionTagError, NotFoundError } from '@gatehouse/domain';
import type { ZodType } from 'zod';
import { secretKey } from '../auth/jwt.js';
import { type RunningGateway, startGateway } from '../bootstrap.js';
import { readGatewayConfig } from '../config.js';
import { hotfixIdFor } from './hotfix.controller.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
/** The hotfixes service's payload contracts: the fake refuses what the real service would. */
const CONTRACTS: Record<string, ZodType> = {
  identifyIncident: IdentifyIncidentPayload,
  createHotfixBranch: CreateHotfixBranchPayload,
  startStagingValidation: StartStagingValidationPayload,
  completeStagingValidation: CompleteStagingValidationPayload,
  completePostIncidentReview: CompletePostIncidentReviewPayload,
  getHotfix: GetHotfixPayload,
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (response: Response): Promise<any> => response.json() as Promise<any>;
const token = (sub: string, roles: string[]) => new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(secretKey(SECRET));

describe('hotfix API: roles, strict bodies, commands on the bus', () => {
  let dataDir: string;
  let gateway: RunningGateway;
  let bus: CommandBus;
  const received: { command: string; payload: Record<string, unknown> }[] = [];
  const contractViolations: string[] = [];
  let failWith: Error | undefined;
  /** The fake verifies what the gateway signs, as the service does. */
  const commandKeys = generateCommandKeys(['gateway', 'fake-hotfixes']);
  const auth: Record<string, string> = {};

  const call = async (method: string, url: string, user?: string, body?: unknown) =>
    fetch(`${gateway.url}${url}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(user ? { authorization: `Bearer ${auth[user]}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-hotfix-api-'));
    bus = createInProcessCommandBus({ defaultTimeoutMs: 300 });
    gateway = await startGateway(readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, LOG_LEVEL: 'silent', GATEHOUSE_JWT_SECRET: SECRET }), { commands: bus, commandKeys });
    for (const command of Object.keys(CONTRACTS)) {
      await authenticatedCommandBus(bus, { keys: commandKeys, name: 'fake-hotfixes' }).register<Record<string, unknown>>('hotfixes', command, (payload) => {
        received.push({ command, payload });
        contractViolations.push(...(CONTRACTS[command]!.safeParse(payload).error?.issues.map((i) => `${command} ${i.path.join('.')}: ${i.message}`) ?? []));
        const failure = failWith;
        failWith = undefined;
        if (failure) throw failure;
        return command === 'getHotfix' ? { hotfixId: payload['hotfixId'], status: 'validating' } : { events: ['Done'], status: 'ok', duplicate: false };
      });
    }
    auth.sam = await token('sam', ['sre']);
    auth.rita = await token('rita', ['release_engineer']);
    auth.tess = await token('tess', ['tech_lead']);
    auth.victor = await token('victor', ['vp_engineering']);
    auth.dev = await token('dev', ['developer']);
  });
  afterEach(() => {
    expect(contractViolations.splice(0)).toEqual([]);
  });
  beforeEach(() => {
    received.length = 0;
    failWith = undefined;
  });
  afterAll(async () => {
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const incident = { incidentId: 'INC-2041', service: 'checkout-api', severity: 'critical', identifiedAt: '2026-11-27T14:50:00Z' };

  it('opens one lane per incident: the hotfix id is derived from the incident, the caller is the actor', async () => {
    const response = await call('POST', '/api/hotfixes', 'sam', incident);
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body.hotfixId).toBe(hotfixIdFor('INC-2041'));
    expect(received).toEqual([{ command: 'identifyIncident', payload: expect.objectContaining({ ...incident, hotfixId: body.hotfixId, actor: 'sam', commandId: expect.any(String) }) }]);
    expect((await json(await call('POST', '/api/hotfixes', 'victor', incident))).hotfixId).toBe(body.hotfixId);
  });

  it('sends each step of the lane to its command, for every role that drives it', async () => {
    const id = hotfixIdFor('INC-2041');
    const steps: Array<[user: string, url: string, body: object, command: string]> = [
      ['sam', `/api/hotfixes/${id}/branch`, { branch: 'hotfix/inc-2041', fromTag: 'v2.0.3' }, 'createHotfixBranch'],
      ['rita', `/api/hotfixes/${id}/validation/start`, { releaseId: 'rel-204' }, 'startStagingValidation'],
      ['tess', `/api/hotfixes/${id}/validation/complete`, { outcome: 'passed', notes: 'smoke green' }, 'completeStagingValidation'],
      ['victor', `/api/hotfixes/${id}/review`, { reviewRef: 'PIR-2041' }, 'completePostIncidentReview'],
    ];
    for (const [user, url, body, command] of steps) {
      const response = await call('POST', url, user, body);
      expect(response.status).toBe(200);
      expect(await json(response)).toMatchObject({ hotfixId: id, result: { events: ['Done'] } });
      expect(received.at(-1)).toEqual({ command, payload: expect.objectContaining({ ...body, hotfixId: id, actor: user }) });
    }
  });

  it('403s anyone outside the lane’s roles, naming the roles, and sends nothing', async () => {
    const response = await call('POST', '/api/hotfixes', 'dev', incident);
    expect(response.status).toBe(403);
    expect((await json(response)).message).toMatch(/sre, release_engineer, tech_lead, vp_engineering/);
    expect((await call('POST', `/api/hotfixes/${hotfixIdFor('x')}/review`, 'dev', { reviewRef: 'PIR-1' })).status).toBe(403);
    expect((await call('POST', '/api/hotfixes', undefined, incident)).status).toBe(401);
    expect(received).toEqual([]);
  });

  it('400s unknown fields and bad values, naming the field, and sends nothing', async () => {
    const id = hotfixIdFor('INC-2041');
    const cases: Array<[url: string, body: object, field: string]> = [
      ['/api/hotfixes', { ...incident, productionTags: ['v9'] }, ''],
      ['/api/hotfixes', { ...incident, severity: 'apocalyptic' }, 'severity'],
      ['/api/hotfixes', { ...incident, identifiedAt: 'yesterday' }, 'identifiedAt'],
      [`/api/hotfixes/${id}/branch`, { branch: 'hotfix/x', fromTag: 'v1', productionTags: ['v1'] }, ''],
      [`/api/hotfixes/${id}/validation/complete`, { outcome: 'meh' }, 'outcome'],
      [`/api/hotfixes/${id}/review`, {}, 'reviewRef'],
      ['/api/hotfixes/not%20an%20id/review', { reviewRef: 'PIR-1' }, 'id'],
    ];
    for (const [url, body, field] of cases) {
      const response = await call('POST', url, 'sam', body);
      expect(response.status).toBe(400);
      if (field !== '') expect(JSON.stringify(await json(response))).toContain(field);
    }
    expect(received).toEqual([]);
  });

  it('answers GET with the view and the stream’s history for any token; domain refusals keep their status', async () => {
    const id = hotfixIdFor('INC-2041');
    const response = await call('GET', `/api/hotfixes/${id}`, 'dev');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({ hotfix: { hotfixId: id, status: 'validating' }, history: [] });

    failWith = new NotFoundError('hotfix', 'nope');
    expect((await call('GET', '/api/hotfixes/nope', 'dev')).status).toBe(404);
    failWith = new NotAProductionTagError('v0.0.1', ['2.0.3', 'v2.0.3']);
    const refused = await call('POST', `/api/hotfixes/${id}/branch`, 'sam', { branch: 'hotfix/x', fromTag: 'v0.0.1' });
    expect(refused.status).toBe(422);
    expect(await json(refused)).toMatchObject({ error: 'NotAProductionTagError', message: expect.stringContaining('production runs: 2.0.3, v2.0.3') });
  });
});
