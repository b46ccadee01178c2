import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { authenticatedCommandBus, type CommandBus, createInProcessCommandBus, generateCommandKeys, type VerifiedCaller } from '@gatehouse/bus';
import { IllegalTransitionError, NotFoundError, SeparationOfDutiesViolation, ValidationError } from '@gatehouse/domain';
import { WrongExpectedVersionError } from '@gatehouse/eventstore';
import { readGatewayConfig } from '../config.js';
import { type RunningGateway, startGateway } from '../bootstrap.js';
import { secretKey } from '../auth/jwt.js';
import {
  AbortDeploymentPayload,
  CancelChangePayload,
  CloseChangePayload,
  CompleteReviewPayload,
  CreateReleasePayload,
  GetChangePayload,
  GrantApprovalPayload,
  ingestJsonSchema,
  ProjectionQueryPayload,
  PromoteDeploymentPayload,
  RecordMigrationPayload,
  RecordSamplesPayload,
  RejectApprovalPayload,
  RejectChangePayload,
  ReviseReleasePayload,
  RollbackDeploymentPayload,
  StartReviewPayload,
  SubmitChangePayload,
} from '@gatehouse/contracts';
import type { ZodType } from 'zod';
import { releaseIdFor } from './ids.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
const CR_ID = 'cr-0001';
/** The owning services' payload contracts: a fake refuses what the real service would. */
const CONTRACTS: Record<string, ZodType> = {
  'changeRequests.createRelease': CreateReleasePayload,
  'changeRequests.reviseRelease': ReviseReleasePayload,
  'changeRequests.submitChange': SubmitChangePayload,
  'changeRequests.startReview': StartReviewPayload,
  'changeRequests.completeReview': CompleteReviewPayload,
  'changeRequests.rejectChange': RejectChangePayload,
  'changeRequests.cancelChange': CancelChangePayload,
  'changeRequests.closeChange': CloseChangePayload,
  'changeRequests.recordMigration': RecordMigrationPayload,
  'changeRequests.getChange': GetChangePayload,
  'approvals.grant': GrantApprovalPayload,
  'approvals.reject': RejectApprovalPayload,
  'deployments.promote': PromoteDeploymentPayload,
  'deployments.abort': AbortDeploymentPayload,
  'deployments.rollback': RollbackDeploymentPayload,
  'monitoring.recordSamples': RecordSamplesPayload,
  'projections.query': ProjectionQueryPayload,
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
const json = (response: Response): Promise<any> => response.json() as Promise<any>;

async function token(sub: string, roles: string[], { secret = SECRET, expiresIn = '1h' }: { secret?: string; expiresIn?: string | number } = {}): Promise<string> {
  return new SignJWT({ roles, name: sub }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(secretKey(secret));
}

const draft = {
  title: 'Spring campaigns',
  description: 'Adds campaign scheduling',
  type: 'enhancement',
  priority: 'medium',
  impact: 'medium',
  risk: 'medium',
  environments: ['production'],
  schedule: { planned: '2026-12-01T10:00:00Z', duration: 60 },
  implementationPlan: 'canary',
  rollbackPlan: 'redeploy previous',
  testingPlan: 'e2e on staging',
  runbookRef: 'RB-12',
};

describe('lifecycle API: auth, validation, idempotency and commands on the bus', () => {
  let dataDir: string;
  let gateway: RunningGateway;
  let bus: CommandBus;
  let base: string;
  /** Every command a fake service received, in order. */
  const received: { command: string; payload: Record<string, unknown>; caller: VerifiedCaller | undefined }[] = [];
  /** The fakes verify what the gateway signs, as the services do. */
  const commandKeys = generateCommandKeys(['gateway', 'fake-services']);
  const contractViolations: string[] = [];
  /** What the next handled command does instead of succeeding. */
  let failWith: Error | undefined;
  /** The next handled command never answers (a stuck service). */
  let hang = false;

  const fake = async (context: string, command: string, reply: (payload: Record<string, unknown>) => unknown = () => ({ events: ['Done'], duplicate: false })) =>
    authenticatedCommandBus(bus, { keys: commandKeys, name: 'fake-services' }).register<Record<string, unknown>>(context, command, (payload, meta) => {
      received.push({ command: `${context}.${command}`, payload, caller: meta.caller });
      const contract = CONTRACTS[`${context}.${command}`];
      if (contract === undefined) throw new Error(`test has no contract for ${context}.${command}`);
      contractViolations.push(...contract.safeParse(payload).error?.issues.map((i) => `${context}.${command} ${i.path.join('.')}: ${i.message}`) ?? []);
      const failure = failWith;
      failWith = undefined;
      if (failure) throw failure;
      if (hang) return new Promise(() => undefined);
      return reply(payload);
    });

  const call = async (method: string, url: string, { auth, body, headers = {} }: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(`${base}${url}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-lifecycle-'));
    bus = createInProcessCommandBus({ defaultTimeoutMs: 300 });
    gateway = await startGateway(
      readGatewayConfig({ PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_POLICIES: POLICIES, LOG_LEVEL: 'silent', GATEHOUSE_JWT_SECRET: SECRET }),
      { commands: bus, commandKeys },
    );
    base = gateway.url;
    for (const command of ['createRelease', 'reviseRelease', 'submitChange', 'startReview', 'completeReview', 'rejectChange', 'cancelChange', 'closeChange', 'recordMigration']) {
      await fake('changeRequests', command);
    }
    await fake('changeRequests', 'getChange', (p) => ({ changeRequestId: p['changeRequestId'], status: 'implementing', draft: { ...draft, author: 'ana' } }));
    for (const command of ['grant', 'reject']) await fake('approvals', command);
    for (const command of ['promote', 'abort', 'rollback']) await fake('deployments', command);
    await fake('monitoring', 'recordSamples');
    await fake('projections', 'query', (p) => ({ asOfPosition: '7', items: [{ view: p['view'], filter: p['filter'] }] }));
  });
  afterEach(() => {
    expect(contractViolations.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    received.length = 0;
    failWith = undefined;
    hang = false;
  });

  async function eventCount(): Promise<number> {
    let n = 0;
    for await (const _ of gateway.store.readAll()) n += 1;
    return n;
  }

  describe('authentication', () => {
    it('401s without a token, with a bad signature, an expired token or missing roles, and sends nothing', async () => {
      const before = await eventCount();
      const cases = [
        [undefined, 'missing bearer token'],
        [await token('ana', ['developer'], { secret: 'another-secret-that-is-also-long-enough' }), 'signature'],
        [await token('ana', ['developer'], { expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'expired'],
        [await token('ana', []), 'roles'],
        ['not.a.jwt', 'well-formed'],
      ] as const;
      for (const [auth, reason] of cases) {
        const response = await call('POST', '/api/releases', { auth, body: { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'x' } });
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toContain('Bearer');
        const body = await json(response);
        expect(body).toMatchObject({ error: 'Unauthorized' });
        expect(body.message).toContain(reason);
      }
      expect(received).toEqual([]);
      expect(await eventCount()).toBe(before);
    });

    it('keeps policy, calendar, schemas and health public', async () => {
      expect((await call('GET', '/api/policies')).status).toBe(200);
      expect((await call('GET', '/api/ingest/schemas')).status).toBe(200);
      expect((await call('GET', '/health/live')).status).toBe(200);
    });
  });

  describe('authorisation', () => {
    it('403s a production promotion by a developer, naming the roles that are needed', async () => {
      const response = await call('POST', `/api/deployments/${CR_ID}/promote`, { auth: await token('dev', ['developer']), body: {} });
      expect(response.status).toBe(403);
      expect((await json(response)).message).toMatch(/production needs one of the roles sre, release_engineer/);
      expect(received.map((r) => r.command)).toEqual(['changeRequests.getChange']);
    });

    it('403s an approval in a role the caller does not hold', async () => {
      const response = await call('POST', `/api/change-requests/${CR_ID}/approvals`, { auth: await token('tl', ['tech_lead']), body: { role: 'sre' } });
      expect(response.status).toBe(403);
      expect((await json(response)).message).toContain('sre');
      expect(received).toEqual([]);
    });

    it('403s metric samples for an environment the caller cannot operate', async () => {
      const response = await call('POST', '/api/metrics/samples', {
        auth: await token('qa', ['qa']),
        body: { service: 'campaign-api', environment: 'production', samples: [{ metric: 'error_rate', at: '2026-12-01T10:00:00Z', value: 0.01 }] },
      });
      expect(response.status).toBe(403);
    });
  });

  describe('validation', () => {
    it('400s wrong types and unknown fields, naming each field, and sends nothing', async () => {
      const auth = await token('ana', ['developer']);
      const wrongType = await call('POST', '/api/releases', { auth, body: { service: 'campaign-api', version: '2.1.0', type: 'giant', title: 42 } });
      expect(wrongType.status).toBe(400);
      expect((await json(wrongType)).issues.map((i: { field: string }) => i.field)).toEqual(expect.arrayContaining(['type', 'title']));

      const unknown = await call('POST', '/api/change-requests', { auth, body: { ...draft, urgency: 'now' } });
      expect(unknown.status).toBe(400);
      expect((await json(unknown)).message).toContain('urgency');

      const twoEnvironments = await call('POST', '/api/change-requests', { auth, body: { ...draft, environments: ['staging', 'production'] } });
      expect(twoEnvironments.status).toBe(400);
      expect((await json(twoEnvironments)).issues).toEqual([expect.objectContaining({ field: 'environments' })]);

      const badParam = await call('POST', '/api/change-requests/has.dots/cancel', { auth, body: { reason: 'x' } });
      expect(badParam.status).toBe(400);
      expect(received).toEqual([]);
    });

    it('413s an oversized body', async () => {
      const response = await call('POST', '/api/releases', {
        auth: await token('ana', ['developer']),
        body: { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'x'.repeat(300 * 1024) },
      });
      expect(response.status).toBe(413);
      expect(received).toEqual([]);
    });
  });

  describe('commands', () => {
    it('sends each endpoint to its command with the caller as actor and the request id as correlation id', async () => {
      const ana = await token('ana', ['developer']);
      const reviewer = await token('rita', ['code_reviewer']);
      const sre = await token('sam', ['sre']);
      const correlation = { 'x-correlation-id': 'corr-42' };
      const steps: [string, string, string, unknown][] = [
        [ana, 'POST', '/api/releases', { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'Spring' }],
        [ana, 'POST', '/api/releases/rel-1/revisions', { title: 'Spring campaigns' }],
        [ana, 'POST', '/api/change-requests', draft],
        [reviewer, 'POST', `/api/change-requests/${CR_ID}/review`, { action: 'start' }],
        [reviewer, 'POST', `/api/change-requests/${CR_ID}/review`, { action: 'complete', notes: 'fine' }],
        [sre, 'POST', `/api/change-requests/${CR_ID}/approvals`, { role: 'sre' }],
        [sre, 'POST', `/api/change-requests/${CR_ID}/rejections`, { reason: 'no runbook' }],
        [reviewer, 'POST', `/api/change-requests/${CR_ID}/rejections`, { reason: 'incomplete', stage: 'review' }],
        [ana, 'POST', `/api/change-requests/${CR_ID}/cancel`, { reason: 'superseded' }],
        [ana, 'POST', `/api/change-requests/${CR_ID}/close`, { postImplementationReviewRef: 'PIR-7' }],
        [sre, 'POST', `/api/deployments/${CR_ID}/promote`, {}],
        [sre, 'POST', `/api/deployments/${CR_ID}/abort`, { reason: 'errors' }],
        [sre, 'POST', `/api/deployments/${CR_ID}/rollback`, { reason: 'errors', evidence: { errorRate: 0.07 }, incidentReviewRef: 'INC-9' }],
        [sre, 'POST', '/api/metrics/samples', { service: 'campaign-api', environment: 'production', samples: [{ metric: 'error_rate', at: '2026-12-01T10:00:00Z', value: 0.01 }] }],
      ];
      for (const [auth, method, url, body] of steps) {
        const response = await call(method, url, { auth, body, headers: correlation });
        expect([response.status, url]).toEqual([expect.any(Number), url]);
        expect(response.status).toBeLessThan(300);
      }
      const sent = received.filter((r) => r.command !== 'changeRequests.getChange');
      expect(sent.map((r) => r.command)).toEqual([
        'changeRequests.createRelease',
        'changeRequests.reviseRelease',
        'changeRequests.submitChange',
        'changeRequests.startReview',
        'changeRequests.completeReview',
        'approvals.grant',
        'approvals.reject',
        'changeRequests.rejectChange',
        'changeRequests.cancelChange',
        'changeRequests.closeChange',
        'deployments.promote',
        'deployments.abort',
        'deployments.rollback',
        'monitoring.recordSamples',
      ]);
      for (const { payload } of sent) {
        expect(payload['commandId']).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
        expect(payload['correlationId']).toBe('corr-42');
      }
      const byCommand = Object.fromEntries(sent.map((r) => [r.command, r.payload]));
      expect(byCommand['changeRequests.createRelease']).toMatchObject({
        actor: 'ana',
        releaseId: expect.any(String),
        release: { service: 'campaign-api', version: '2.1.0', type: 'minor', title: 'Spring' },
      });
      expect(byCommand['changeRequests.submitChange']).toMatchObject({ actor: 'ana', kind: 'normal', draft: { ...draft, author: 'ana' } });
      expect(byCommand['approvals.grant']).toEqual({
        commandId: expect.any(String),
        correlationId: 'corr-42',
        changeRequestId: CR_ID,
        role: 'sre',
      });
      expect(byCommand['approvals.reject']).toEqual({ commandId: expect.any(String), correlationId: 'corr-42', changeRequestId: CR_ID, reason: 'no runbook' });
      // Who approves or rejects travels only as the signed caller, from the token.
      const callerOf = (command: string) => sent.find((r) => r.command === command)?.caller;
      expect(callerOf('approvals.grant')).toEqual({ subject: 'sam', roles: ['sre'], signer: 'gateway' });
      expect(callerOf('approvals.reject')).toEqual({ subject: 'sam', roles: ['sre'], signer: 'gateway' });
      expect(callerOf('changeRequests.completeReview')).toMatchObject({ subject: 'rita', signer: 'gateway' });
      expect(byCommand['changeRequests.completeReview']).toMatchObject({ actor: 'rita', changeRequestId: CR_ID, notes: 'fine' });
      expect(byCommand['deployments.rollback']).toMatchObject({ actor: 'sam', changeRequestId: CR_ID, initiator: 'manual', reason: 'errors', evidence: { errorRate: 0.07 }, incidentReviewRef: 'INC-9' });
      expect(byCommand['monitoring.recordSamples']).toMatchObject({ actor: 'sam', service: 'campaign-api', environment: 'production' });
      const metrics = await (await call('GET', '/metrics')).text();
      expect(metrics).toMatch(/gatehouse_gateway_commands_total\{[^}]*command="deployments.rollback",outcome="ok"[^}]*\} 1\n/);
      expect(metrics).toMatch(/gatehouse_gateway_command_duration_seconds_count\{[^}]*command="approvals.grant"[^}]*\} 1\n/);
    });

    it('reuses an Idempotency-Key: same answer, one command; a different body under that key is refused', async () => {
      const auth = await token('ana', ['developer']);
      const headers = { 'idempotency-key': 'key-00000001' };
      const first = await call('POST', '/api/change-requests', { auth, body: draft, headers });
      const second = await call('POST', '/api/change-requests', { auth, body: draft, headers });
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(await json(second)).toEqual(await json(first));
      expect(received.map((r) => r.command)).toEqual(['changeRequests.submitChange']);

      const other = await call('POST', '/api/change-requests', { auth, body: { ...draft, title: 'Other' }, headers });
      expect(other.status).toBe(422);
      expect((await json(other)).error).toBe('IdempotencyKeyReused');
      expect(received).toHaveLength(1);
    });

    it('answers GET read models from projections and the change history from the store', async () => {
      const auth = await token('aud', ['auditor']);
      const list = await json(await call('GET', '/api/change-requests?status=scheduled', { auth }));
      expect(list).toEqual({ asOfPosition: '7', items: [{ view: 'changeRequests', filter: { status: 'scheduled' } }] });
      expect((await json(await call('GET', '/api/approvals/pending?role=sre', { auth }))).items[0]).toEqual({ view: 'pendingApprovals', filter: { role: 'sre' } });
      expect((await json(await call('GET', '/api/schedule?environment=production', { auth }))).items[0]).toEqual({ view: 'schedule', filter: { environment: 'production' } });
      expect((await json(await call('GET', '/api/versions', { auth }))).items[0].view).toBe('versions');
      expect((await json(await call('GET', '/api/deployments/active', { auth }))).items[0].view).toBe('activeDeployments');
      const one = await json(await call('GET', `/api/change-requests/${CR_ID}`, { auth }));
      expect(one).toMatchObject({ changeRequest: { changeRequestId: CR_ID }, history: [] });
      expect((await call('GET', '/api/change-requests?status=sleeping', { auth })).status).toBe(400);
    });
  });

  describe('ingestion over HTTP', () => {
    const built = {
      specversion: '1.0',
      id: 'build-77',
      source: 'ci/campaign-api',
      type: 'gatehouse.release.built',
      data: { service: 'campaign-api', version: '2.2.0', type: 'minor', title: 'Summer', changes: [{ kind: 'fix', description: 'timezone' }] },
    };

    it('maps a release built to createRelease, idempotent by the CloudEvent id, and accepts application/cloudevents+json', async () => {
      const auth = await token('ci-bot', ['release_engineer']);
      const first = await call('POST', '/api/ingest', { auth, body: built });
      expect(first.status).toBe(202);
      const answer = await json(first);
      expect(answer).toMatchObject({ type: 'gatehouse.release.built', command: 'changeRequests.createRelease' });
      const again = await call('POST', '/api/ingest', { auth, body: JSON.stringify(built), headers: { 'content-type': 'application/cloudevents+json' } });
      expect(again.status).toBe(202);
      expect((await json(again)).commandId).toBe(answer.commandId);
      expect(received.map((r) => r.payload)).toEqual([
        {
          commandId: answer.commandId,
          actor: 'ci-bot',
          correlationId: expect.any(String),
          releaseId: releaseIdFor('campaign-api', '2.2.0'),
          release: { service: 'campaign-api', version: '2.2.0', type: 'minor', title: 'Summer', description: '', changes: [{ kind: 'fix', description: 'timezone' }] },
        },
        expect.objectContaining({ commandId: answer.commandId }),
      ]);
    });

    it('maps a deployment request to submitChange with the publisher as author and the release named by service+version', async () => {
      const { environments: _environments, ...changeRequest } = draft;
      const response = await call('POST', '/api/ingest', {
        auth: await token('ci-bot', ['release_engineer']),
        body: {
          specversion: '1.0',
          id: 'deploy-1',
          source: 'ci/campaign-api',
          initiator: 'ivan',
          type: 'gatehouse.deployment.requested',
          data: { release: { service: 'campaign-api', version: '2.2.0' }, environment: 'staging', changeRequest },
        },
      });
      expect(response.status).toBe(202);
      expect(received[0]).toMatchObject({
        command: 'changeRequests.submitChange',
        payload: { kind: 'normal', draft: { environments: ['staging'], author: 'ci-bot', initiator: 'ivan', releaseId: releaseIdFor('campaign-api', '2.2.0') } },
      });
    });

    it('refuses a deployment request that does not name the person behind the push (initiator), sending nothing', async () => {
      const response = await call('POST', '/api/ingest', {
        auth: await token('ci-bot', ['release_engineer']),
        body: {
          specversion: '1.0',
          id: 'deploy-2',
          source: 'ci/campaign-api',
          type: 'gatehouse.deployment.requested',
          data: { release: { service: 'campaign-api', version: '2.2.0' }, environment: 'staging', changeRequest: { ...draft, environments: undefined } },
        },
      });
      expect(response.status).toBe(400);
      expect((await json(response)).issues).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'initiator' })]));
      expect(received).toEqual([]);
    });

    it('refuses a person setting the initiator of their own change request over HTTP (it comes only from CI)', async () => {
      const response = await call('POST', '/api/change-requests', { auth: await token('ana', ['developer']), body: { ...draft, initiator: 'bob' } });
      expect(response.status).toBe(400);
      expect(received).toEqual([]);
    });

    it('refuses an approval that claims to be on call: on call comes from the roster', async () => {
      const response = await call('POST', `/api/change-requests/${CR_ID}/approvals`, { auth: await token('sam', ['sre']), body: { role: 'sre', onCall: true } });
      expect(response.status).toBe(400);
      expect(received).toEqual([]);
    });

    it('maps a migration to recordMigration on the release named by service+version, and answers with what the service did', async () => {
      const response = await call('POST', '/api/ingest', {
        auth: await token('ci-bot', ['release_engineer']),
        body: {
          specversion: '1.0',
          id: 'mig-1',
          source: 'ci/campaign-api',
          type: 'gatehouse.migration.included',
          data: { release: { service: 'campaign-api', version: '2.2.0' }, migrationId: '0042_add_index', description: 'adds an index', reversible: false },
        },
      });
      expect(response.status).toBe(202);
      expect(await json(response)).toMatchObject({ type: 'gatehouse.migration.included', command: 'changeRequests.recordMigration', result: { events: ['Done'] } });
      expect(received).toEqual([
        {
          command: 'changeRequests.recordMigration',
          payload: expect.objectContaining({ actor: 'ci-bot', releaseId: releaseIdFor('campaign-api', '2.2.0'), migrationId: '0042_add_index', reversible: false }),
          caller: { subject: 'ci-bot', roles: ['release_engineer'], signer: 'gateway' },
        },
      ]);
    });

    it('400s an invalid or unknown CloudEvent with the fields, 403s a token without a CI role, and sends nothing', async () => {
      const auth = await token('ci-bot', ['release_engineer']);
      const invalid = await call('POST', '/api/ingest', { auth, body: { ...built, data: { ...built.data, version: 'latest' }, extra: 1 } });
      expect(invalid.status).toBe(400);
      expect((await json(invalid)).issues.map((i: { field: string }) => i.field)).toEqual(expect.arrayContaining(['data.version', '']));
      const unknown = await call('POST', '/api/ingest', { auth, body: { ...built, type: 'gatehouse.release.deleted' } });
      expect(unknown.status).toBe(400);
      expect((await json(unknown)).issues).toEqual([expect.objectContaining({ field: 'type' })]);
      const auditor = await call('POST', '/api/ingest', { auth: await token('aud', ['auditor']), body: built });
      expect(auditor.status).toBe(403);
      expect(received).toEqual([]);
    });

    it('serves the JSON Schema of each type, publicly', async () => {
      const list = await json(await call('GET', '/api/ingest/schemas'));
      expect(list.schemas.map((s: { type: string }) => s.type)).toContain('gatehouse.testgate.result');
      expect(await json(await call('GET', '/api/ingest/schemas/gatehouse.testgate.result'))).toEqual(ingestJsonSchema('gatehouse.testgate.result'));
      expect((await call('GET', '/api/ingest/schemas/gatehouse.nope')).status).toBe(404);
    });
  });

  describe('bus errors', () => {
    const cases: [string, Error, number, string][] = [
      ['ValidationError', new ValidationError('change request', [{ field: 'draft.title', reason: 'a change needs a title' }]), 400, 'ValidationError'],
      ['SeparationOfDutiesViolation', new SeparationOfDutiesViolation('ana', 'author_cannot_approve', 'ana wrote the change'), 403, 'SeparationOfDutiesViolation'],
      ['IllegalTransitionError', new IllegalTransitionError('change request', 'CancelChange', 'closed', ['submitted']), 409, 'IllegalTransitionError'],
      ['NotFoundError', new NotFoundError('change request', CR_ID), 404, 'NotFoundError'],
      ['WrongExpectedVersionError', new WrongExpectedVersionError(`changeRequest-${CR_ID}`, 1n, 2n), 409, 'WrongExpectedVersionError'],
    ];
    it.each(cases)('maps %s', async (_name, error, status, name) => {
      failWith = error;
      const response = await call('POST', `/api/change-requests/${CR_ID}/cancel`, { auth: await token('ana', ['developer']), body: { reason: 'superseded' } });
      expect(response.status).toBe(status);
      const body = await json(response);
      expect(body.error).toBe(name);
      if (name === 'ValidationError') expect(body.issues).toEqual([{ field: 'draft.title', reason: 'a change needs a title' }]);
    });

    it('503s naming the service when nobody answers or it times out, and lets the same key retry', async () => {
      const noResponder = await call('POST', '/api/ingest', {
        auth: await token('ci', ['release_engineer']),
        body: {
          specversion: '1.0',
          id: 'gate-1',
          source: 'ci/campaign-api',
          type: 'gatehouse.testgate.result',
          data: { release: { service: 'campaign-api', version: '2.1.0' }, environment: 'staging', gateId: 'e2e', status: 'passed', startedAt: '2026-12-01T10:00:00Z', finishedAt: '2026-12-01T10:20:00Z' },
        },
      });
      expect(noResponder.status).toBe(503);
      expect(await (await call('GET', '/metrics')).text()).toMatch(/gatehouse_gateway_commands_total\{[^}]*command="changeRequests.recordGateResult",outcome="unavailable"[^}]*\} 1\n/);
      expect((await json(noResponder)).message).toMatch(/changeRequests service .*recordGateResult/);

      const auth = await token('ana', ['developer']);
      const headers = { 'idempotency-key': 'key-timeout-1' };
      hang = true;
      const timedOut = await call('POST', `/api/change-requests/${CR_ID}/cancel`, { auth, body: { reason: 'superseded' }, headers });
      expect(timedOut.status).toBe(503);
      expect((await json(timedOut)).message).toMatch(/changeRequests service did not answer within 300 ms/);
      hang = false;
      const retried = await call('POST', `/api/change-requests/${CR_ID}/cancel`, { auth, body: { reason: 'superseded' }, headers });
      expect(retried.status).toBe(200);
      expect(received.map((r) => r.payload['commandId'])).toEqual([received[0]?.payload['commandId'], received[0]?.payload['commandId']]);
    });
  });
});
