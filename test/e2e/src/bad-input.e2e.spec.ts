/**
 * Scenario 6: bad input through every endpoint of the distributed form. The endpoints come from the
 * gateway's own OpenAPI document, so a new endpoint is covered without editing this file. Every answer
 * must be a 4xx that says what is wrong, and not one event may be written.
 */
import { GatehouseClient, type GatehouseSystem, type Json, requireNats, requirePostgres, startDistributedGatehouse } from '@gatehouse/testing';
import { createRelease, submit } from './scenarios.js';

const START = '2026-11-30T09:00:00Z';

interface Operation {
  method: string;
  path: string;
  secured: boolean;
  bodySchema: Json | undefined;
  hasPathParams: boolean;
}

/** Operations of the OpenAPI document (the API's own description of itself). */
function operationsOf(document: Json): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
    for (const [method, operation] of Object.entries(item as Record<string, Json>)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        secured: Array.isArray(operation.security) && operation.security.length > 0,
        bodySchema: schema?.$ref ? document.components.schemas[schema.$ref.split('/').pop()] : schema,
        hasPathParams: path.includes('{'),
      });
    }
  }
  return operations;
}

/** A value of the wrong type for a JSON Schema property. */
function wrongValue(schema: Json): unknown {
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  switch (type) {
    case 'string':
      return 12_345;
    case 'number':
    case 'integer':
      return 'not-a-number';
    case 'boolean':
      return 'yes';
    case 'array':
      return 'not-an-array';
    case 'object':
      return 42;
    default:
      return { unexpected: ['structure'] };
  }
}

describe('bad input through every endpoint', () => {
  let system: GatehouseSystem;
  let client: GatehouseClient;
  let operations: Operation[];
  let changeRequestId = '';
  let eventsBefore = 0;
  const answers: { request: string; status: number; body: Json }[] = [];

  /** Fills `{param}` placeholders with an existing change request (so authorisation and validation are what is tested). */
  const concrete = (path: string): string => path.replace(/\{[^}]+\}/g, changeRequestId);

  async function record(request: string, reply: { status: number; body: Json }): Promise<{ status: number; body: Json }> {
    answers.push({ request, ...reply });
    return reply;
  }

  beforeAll(async () => {
    if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
    system = await startDistributedGatehouse({ startAt: START });
    client = new GatehouseClient(system.url, system.jwtSecret, START);
    await client.setClock(START);
    const releaseId = await createRelease(client, '1.1.0', '1.0.0', [{ kind: 'feature', description: 'First release' }]);
    changeRequestId = await submit(client, 'development', releaseId);
    operations = operationsOf((await client.call('GET', '/docs/openapi.json', undefined)).body);
    // Let the services finish reacting to the setup before counting.
    await client.waitFor('the setup to settle', async () => {
      const first = await system.countEvents();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return (await system.countEvents()) === first;
    });
    eventsBefore = await system.countEvents();
  }, 240_000);
  afterAll(async () => system?.close());

  it('finds the endpoints in the OpenAPI document', () => {
    const paths = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of ['POST /api/releases', 'POST /api/change-requests', 'POST /api/change-requests/{id}/approvals', 'POST /api/deployments/{crId}/rollback', 'POST /api/metrics/samples', 'POST /api/ingest', 'PUT /api/admin/clock', 'GET /api/events']) {
      expect(paths).toContain(expected);
    }
  });

  it('answers 401 to every secured endpoint without a token, and to a forged one', async () => {
    const secured = operations.filter((o) => o.secured);
    expect(secured.length).toBeGreaterThan(15);
    for (const operation of secured) {
      const body = operation.bodySchema ? {} : undefined;
      const missing = await record(`${operation.method} ${operation.path} (no token)`, await client.call(operation.method, concrete(operation.path), undefined, body));
      expect({ request: `${operation.method} ${operation.path}`, status: missing.status }).toEqual({ request: `${operation.method} ${operation.path}`, status: 401 });
      const forged = await client.call(operation.method, concrete(operation.path), undefined, body, { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldmUiLCJyb2xlcyI6WyJ2cF9lbmdpbmVlcmluZyJdfQ.forged' });
      expect(forged.status).toBe(401);
    }
  });

  it('answers 400 naming the field to wrong types, unknown fields and malformed JSON in every body', async () => {
    for (const operation of operations.filter((o) => o.bodySchema !== undefined)) {
      const request = `${operation.method} ${operation.path}`;
      const properties = Object.entries((operation.bodySchema?.properties ?? {}) as Record<string, Json>);
      if (properties.length > 0) {
        const wrong = Object.fromEntries(properties.map(([name, schema]) => [name, wrongValue(schema)]));
        const reply = await record(`${request} (wrong types)`, await client.call(operation.method, concrete(operation.path), 'rel', operation.path === '/api/ingest' ? { specversion: 1 } : wrong));
        expect({ request, status: reply.status }).toEqual({ request, status: 400 });
        expect(Array.isArray(reply.body.issues) && reply.body.issues.length > 0 ? reply.body.issues[0].field : reply.body.message).toBeTruthy();
      }
      const unknown = await record(`${request} (unknown field)`, await client.call(operation.method, concrete(operation.path), 'rel', { surpriseField: true }));
      expect({ request, status: unknown.status }).toEqual({ request, status: 400 });
      expect(unknown.body.issues?.[0]).toEqual(expect.objectContaining({ field: expect.any(String), reason: expect.any(String) }));
      const malformed = await record(`${request} (malformed JSON)`, await client.call(operation.method, concrete(operation.path), 'rel', '{"title": '));
      expect({ request, status: malformed.status }).toEqual({ request, status: 400 });
    }
  });

  it('answers 413 to an oversized body on every endpoint that takes one', async () => {
    const huge = JSON.stringify({ description: 'x'.repeat(2 * 1024 * 1024) });
    for (const operation of operations.filter((o) => o.bodySchema !== undefined)) {
      const reply = await record(`${operation.method} ${operation.path} (2 MiB)`, await client.call(operation.method, concrete(operation.path), 'rel', huge));
      expect({ request: `${operation.method} ${operation.path}`, status: reply.status }).toEqual({ request: `${operation.method} ${operation.path}`, status: 413 });
    }
  });

  it('answers 400 to malformed ids and unknown query parameters', async () => {
    for (const operation of operations.filter((o) => o.method === 'GET' && o.hasPathParams && o.secured)) {
      const reply = await record(`${operation.path} (bad id)`, await client.call('GET', operation.path.replace(/\{[^}]+\}/g, encodeURIComponent('../../etc/passwd')), 'aud'));
      expect({ path: operation.path, answer: reply.status >= 400 && reply.status < 500 ? '4xx' : reply.status }).toEqual({ path: operation.path, answer: '4xx' });
    }
    for (const path of ['/api/change-requests?colour=red', '/api/schedule?environment=Prod!', '/api/events?limit=100000', '/api/approvals/pending?role=wizard']) {
      const reply = await record(path, await client.call('GET', path, 'aud'));
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
    }
  });

  it('answers 403 naming the roles that would do, to a caller with the wrong role', async () => {
    const cases: [string, string, string, string, Json][] = [
      ['POST', '/api/releases', 'aud', 'auditor', { service: 'x', version: '1.0.0', type: 'minor', title: 't', changes: [{ kind: 'feature', description: 'd' }] }],
      ['POST', `/api/change-requests/${changeRequestId}/approvals`, 'ana', 'developer', { role: 'sre' }],
      ['POST', `/api/change-requests/${changeRequestId}/review`, 'ana', 'developer', { action: 'start' }],
      ['POST', `/api/deployments/${changeRequestId}/rollback`, 'qa', 'qa', { reason: 'testing' }],
      ['POST', '/api/metrics/samples', 'qa', 'qa', { service: 'campaign-api', environment: 'production', samples: [{ metric: 'error_rate', at: START, value: 0.5 }] }],
      ['PUT', '/api/admin/clock', 'ana', 'developer', { at: '2026-12-01T10:00:00Z' }],
      ['GET', '/api/events', 'ana', 'developer', undefined],
      ['GET', '/api/audit/verify', 'ana', 'developer', undefined],
    ];
    for (const [method, path, user, role, body] of cases) {
      const reply = await record(`${method} ${path} as ${role}`, await client.call(method, path, user, body));
      expect({ path, status: reply.status }).toEqual({ path, status: 403 });
      expect(reply.body.message).toMatch(new RegExp(role));
    }
  });

  it('never answered 5xx, and not one event was written', async () => {
    expect(answers.length).toBeGreaterThan(50);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(await system.countEvents()).toBe(eventsBefore);
  });
});
