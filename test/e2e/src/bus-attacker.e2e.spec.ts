/**
 * The distributed form on a NATS server that enforces users and permissions (deploy/nats's configuration,
 * on this suite's own server and port), attacked from the bus: no credentials, stolen service
 * credentials, a forged event that passes as a CloudEvent, forged and unsigned commands. Every attack
 * must be refused, write nothing, and leave the read models telling the truth — also after a restart.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createCommandSigner, DeadLetterHeaders, encodeKeyPair, inboxPrefixOf, natsPermissions, natsServerConfig, parseSigningKey } from '@gatehouse/bus';
import { GatehouseClient, type GatehouseSystem, type Json, MINUTE, HOUR, type OwnNatsServer, requireNats, requirePostgres, startDistributedGatehouse, startOwnNatsServer } from '@gatehouse/testing';
import { approve, createRelease, review, submit } from './scenarios.js';

const START = '2026-11-30T09:00:00Z';
const FORGED_POSITION = '999999999999';
const id = randomBytes(3).toString('hex');
const subjects = { prefix: `atk-${id}`, eventStream: `ATK_${id.toUpperCase()}_EVENTS`, deadLetterStream: `ATK_${id.toUpperCase()}_DLQ` };
const layout = { prefix: subjects.prefix, eventStream: subjects.eventStream, deadLetterStream: subjects.deadLetterStream };
const PASSWORDS = Object.fromEntries([...Object.keys(natsPermissions(layout)), 'admin'].map((user) => [user, randomBytes(12).toString('hex')]));
const credentials = Object.fromEntries(Object.entries(PASSWORDS).map(([user, password]) => [user, { user, password }]));
/** Command keys as an operator would configure them (`gatehouse command-keys`): each signer its own. */
const keys = Object.fromEntries(['gateway', 'approvals', 'monitoring'].map((name) => [name, encodeKeyPair(generateKeyPairSync('ed25519').privateKey)]));
const PUBLIC_KEYS = Object.entries(keys).map(([name, pair]) => `${name}=${pair.publicKey}`).join(',');
const commandKeyEnv = (name: string) => ({ GATEHOUSE_COMMAND_PUBLIC_KEYS: PUBLIC_KEYS, ...(keys[name] ? { GATEHOUSE_COMMAND_SIGNING_KEY: keys[name].signingKey } : {}) });

describe('an attacker on the bus of the distributed form (NATS with users and permissions, signed commands)', () => {
  let server: OwnNatsServer;
  let system: GatehouseSystem;
  let client: GatehouseClient;
  let firstChange = '';
  const connections: NatsConnection[] = [];
  const as = async (user: string) => {
    const nc = await connect({ servers: server.url, user, pass: PASSWORDS[user], inboxPrefix: inboxPrefixOf(user), reconnect: false });
    connections.push(nc);
    return nc;
  };
  /** A command as Nest's NATS transport frames it, sent with someone's NATS credentials: the raw reply. */
  const rawCommand = async (user: string, context: string, command: string, data: unknown): Promise<Json> => {
    const subject = `${subjects.prefix}.cmd.${context}.${command}`;
    const reply = await (await as(user)).request(subject, JSON.stringify({ id: randomUUID(), pattern: subject, data }), { timeout: 5_000 });
    return reply.json<Json>().response;
  };
  const listed = async (): Promise<Json> => client.ok('GET', '/api/change-requests?limit=200', 'ana');

  beforeAll(async () => {
    if (!(await requirePostgres()).available || !(await requireNats())) throw new Error('PostgreSQL and NATS JetStream must run for the distributed end-to-end tests (.ci/run starts them)');
    server = await startOwnNatsServer({ config: ({ port, storeDir }) => natsServerConfig({ ...layout, passwords: PASSWORDS, port, storeDir, host: '127.0.0.1' }) });
    system = await startDistributedGatehouse({
      startAt: START,
      subjects,
      natsServer: { url: server.url, users: credentials },
      env: {
        gateway: commandKeyEnv('gateway'),
        relay: commandKeyEnv('relay'),
        'change-requests': commandKeyEnv('change-requests'),
        approvals: commandKeyEnv('approvals'),
        scheduling: commandKeyEnv('scheduling'),
        deployments: commandKeyEnv('deployments'),
        monitoring: commandKeyEnv('monitoring'),
        projections: commandKeyEnv('projections'),
      },
    });
    client = new GatehouseClient(system.url, system.jwtSecret, START);
    await client.setClock(START);
  });
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await system?.close();
    await server?.close();
  });

  it('runs a development change to the end with every process inside its permissions', async () => {
    const releaseId = await createRelease(client, '1.1.0', '1.0.0', [{ kind: 'feature', description: 'First release' }]);
    firstChange = await submit(client, 'development', releaseId);
    await review(client, firstChange);
    await approve(client, firstChange, [['rui', 'code_reviewer']]);
    await client.advanceUntilStatus(firstChange, 'closed', { step: MINUTE, limit: 2 * HOUR });
    expect(server.log()).not.toMatch(/Violation/);
  });

  it('refuses a connection without credentials, and one with a service user publishing events or CI sending commands', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    const forged = JSON.stringify({ specversion: '1.0', id: randomUUID(), type: 'ChangeCancelled' });
    await expect(jetstream(await as('projections')).publish(`${subjects.prefix}.evt.changeRequest.ChangeCancelled`, forged, { timeout: 2_000 })).rejects.toThrow(/Permissions Violation for Publish/);
    await expect(jetstream(await as('approvals')).publish(`${subjects.prefix}.evt.approval.ApprovalGranted`, forged, { timeout: 2_000 })).rejects.toThrow(/Permissions Violation for Publish/);
    await expect((await as('ci')).request(`${subjects.prefix}.cmd.approvals.grant`, '{}', { timeout: 2_000 })).rejects.toThrow(/Permissions Violation for Publish/);
    await expect((await as('scheduling')).request(`${subjects.prefix}.cmd.approvals.grant`, '{}', { timeout: 2_000 })).rejects.toThrow(/Permissions Violation for Publish/);
  });

  it('refuses forged and unsigned commands with ForbiddenCommand, even over the gateway’s own NATS credentials, and writes nothing', async () => {
    const releaseId = await createRelease(client, '1.2.0', '1.1.0', [{ kind: 'feature', description: 'Second release' }]);
    const change = await submit(client, 'development', releaseId);
    await review(client, change);
    await client.waitFor('approval request', async () => (await client.events(`approval-${change}`)).length > 0);
    const before = await system.countEvents();

    const claimingRoles = { commandId: randomUUID(), changeRequestId: change, role: 'code_reviewer', approver: 'mallory', approverRoles: ['code_reviewer', 'vp_engineering'] };
    expect(await rawCommand('gateway', 'approvals', 'grant', claimingRoles)).toMatchObject({ ok: false, error: { name: 'ForbiddenCommand', details: { reason: 'unsigned' } } });
    // Signed as "gateway" with a key of the attacker's own.
    const impostor = createCommandSigner({ name: 'gateway', privateKey: generateKeyPairSync('ed25519').privateKey });
    const signed = impostor.sign('approvals', 'grant', { commandId: randomUUID(), changeRequestId: change, role: 'code_reviewer' }, { subject: 'rui', roles: ['code_reviewer'] });
    expect(await rawCommand('gateway', 'approvals', 'grant', signed)).toMatchObject({ ok: false, error: { name: 'ForbiddenCommand', details: { reason: 'bad_signature' } } });
    // A real signature lifted from one command and replayed on another.
    const lifted = createCommandSigner({ name: 'gateway', privateKey: parseSigningKey(keys['gateway']!.signingKey) });
    const revoke = lifted.sign('approvals', 'revoke', { commandId: randomUUID(), changeRequestId: change, reason: 'replayed' }, { subject: 'rui', roles: ['code_reviewer'] });
    expect(await rawCommand('gateway', 'approvals', 'grant', revoke)).toMatchObject({ ok: false, error: { name: 'ForbiddenCommand', details: { reason: 'wrong_command' } } });
    expect(await rawCommand('gateway', 'changeRequests', 'cancelChange', { commandId: randomUUID(), actor: 'ana', changeRequestId: change, reason: 'forged' })).toMatchObject({ ok: false, error: { name: 'ForbiddenCommand' } });

    expect(await system.countEvents()).toBe(before);
    expect(await client.changeStatus(change)).toBe('awaiting_approval');
  });

  it('dead-letters a forged event that passes as a CloudEvent; later changes still show, also after the projections restart', async () => {
    const beforeForgery = await listed();
    const stored = await client.events(`changeRequest-${firstChange}`);
    const forged = {
      specversion: '1.0',
      id: randomUUID(),
      source: 'gatehouse/change-requests',
      type: 'ChangeCancelled',
      time: client.now.toISOString(),
      subject: `changeRequest-${firstChange}`,
      datacontenttype: 'application/json',
      data: { changeRequestId: firstChange, cancelledBy: 'mallory', reason: 'forged', cancelledAt: client.now.toISOString() },
      streamversion: String(stored.length),
      globalposition: FORGED_POSITION,
      actor: 'mallory',
      eventhash: 'f'.repeat(64),
      previoushash: 'e'.repeat(64),
    };
    // Only the relay's credentials may publish events: the attacker has stolen them.
    await jetstream(await as('relay')).publish(`${subjects.prefix}.evt.changeRequest.ChangeCancelled`, JSON.stringify(forged), { msgID: forged.id });

    const jsm = await jetstreamManager(await as('admin'));
    const parked = await client.waitFor('the forged event in the dead-letter stream', async () =>
      (await jsm.streams.getMessage(subjects.deadLetterStream, { last_by_subj: `${subjects.prefix}.dlq.changeRequest.ChangeCancelled` }).catch(() => undefined)) ?? undefined,
    );
    expect(parked.header.get(DeadLetterHeaders.Reason)).toBe('event_not_in_store');
    expect(parked.header.get(DeadLetterHeaders.EventId)).toBe(forged.id);

    // A change made after the forgery shows, and the read models were not moved to the forged position.
    const releaseId = await createRelease(client, '1.3.0', '1.2.0', [{ kind: 'feature', description: 'Third release' }]);
    const later = await submit(client, 'development', releaseId);
    const after = await client.waitFor('the later change in the projections', async () => {
      const page = await listed();
      return page.items.some((item: Json) => item.changeRequestId === later) ? page : undefined;
    });
    expect(BigInt(after.asOfPosition)).toBeLessThan(BigInt(FORGED_POSITION));
    expect(BigInt(after.asOfPosition)).toBeGreaterThan(BigInt(beforeForgery.asOfPosition));
    expect(after.items.find((item: Json) => item.changeRequestId === firstChange)).toMatchObject({ status: 'closed' });

    // A restart replays the whole event stream, the forgery included: it is refused again.
    await system.process('projections').restart();
    const replayed = await client.waitFor('the projections after restart', async () => {
      const page = await listed();
      return page.items.some((item: Json) => item.changeRequestId === later) ? page : undefined;
    });
    expect(BigInt(replayed.asOfPosition)).toBeLessThan(BigInt(FORGED_POSITION));
    expect(replayed.items.find((item: Json) => item.changeRequestId === firstChange)).toMatchObject({ status: 'closed' });
    expect((await client.ok('GET', `/api/change-requests/${firstChange}`, 'ana')).changeRequest.status).toBe('closed');
  });
});
