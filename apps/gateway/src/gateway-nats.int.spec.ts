import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { authenticatedCommandBus, createNatsCommandBus, developmentCommandKeys, type CommandBus } from '@gatehouse/bus';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { SignJWT } from 'jose';
import { type RunningGateway, startGateway } from './bootstrap.js';
import { readGatewayConfig } from './config.js';

const nats = await requireNats();
const describeNats = nats ? describe : describe.skip;
const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');
const SECRET = 'gateway-nats-test-secret-of-32-characters!';

describeNats('standalone gateway with NATS_URL: commands reach services in other processes', () => {
  // A subject prefix of our own keeps this suite apart from anything else on the server.
  const prefix = `gwtest${randomBytes(4).toString('hex')}`;
  let dataDir: string;
  let gateway: RunningGateway;
  let service: CommandBus;
  const received: unknown[] = [];

  beforeAll(async () => {
    // Verifies what the gateway signs with the development keys, as a service without configured keys does.
    service = authenticatedCommandBus(createNatsCommandBus({ servers: natsUrl(), name: 'projections-stand-in', subjectPrefix: prefix }), { keys: developmentCommandKeys(['projections']), name: 'projections' });
    await service.register('projections', 'query', (payload, meta) => {
      received.push({ ...(payload as object), caller: meta.caller });
      return { asOfPosition: '7', items: [{ changeRequestId: 'cr-1', status: 'scheduled' }] };
    });
    dataDir = await mkdtemp(path.join(tmpdir(), 'gatehouse-gateway-nats-'));
    gateway = await startGateway(
      readGatewayConfig({
        PORT: '0',
        GATEHOUSE_DATA_DIR: dataDir,
        GATEHOUSE_POLICIES: POLICIES,
        GATEHOUSE_JWT_SECRET: SECRET,
        NATS_URL: natsUrl(),
        GATEHOUSE_NATS_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      }),
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await service?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a read-model query from the service over NATS request/reply', async () => {
    const token = await new SignJWT({ roles: ['developer'], name: 'ana' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ana')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const response = await fetch(`${gateway.url}/api/change-requests?status=scheduled`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ asOfPosition: '7', items: [{ changeRequestId: 'cr-1', status: 'scheduled' }] });
    expect(received).toEqual([expect.objectContaining({ view: 'changeRequests', filter: { status: 'scheduled' }, caller: { subject: 'gateway', roles: [], signer: 'gateway' } })]);
  });

  it('answers 503 naming the service when none is listening', async () => {
    const token = await new SignJWT({ roles: ['developer'], name: 'ana' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('ana')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    const response = await fetch(`${gateway.url}/api/releases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'campaign-api', version: '2.2.0', type: 'minor', title: 'x', previousVersion: '2.1.0' }),
    });
    expect(response.status).toBe(503);
    expect(JSON.stringify(await response.json())).toMatch(/changeRequests/);
  });
});
