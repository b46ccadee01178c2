/**
 * The rendered nats-server configuration, enforced by a real nats-server of this suite's own (never the
 * shared one): who can connect, publish and subscribe. Attacks are tried and must be refused by the server.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NATS_SERVER_BINARY, type OwnNatsServer, requireNats, startOwnNatsServer } from '@gatehouse/testing';
import { ensureEventStream } from '../stream.js';
import { inboxPrefixOf, natsPasswordVariable, natsPermissions, natsServerConfig } from './nats-permissions.js';

const describeNats = (await requireNats()) ? describe : describe.skip;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const USERS = [...Object.keys(natsPermissions()), 'admin'];
const PASSWORDS = Object.fromEntries(USERS.map((user) => [user, `pw-${user}-${Math.random().toString(36).slice(2)}`]));

describeNats('NATS users and permissions (nats-server with deploy/nats configuration)', () => {
  let server: OwnNatsServer;
  const open: NatsConnection[] = [];
  const as = async (user: string, password = PASSWORDS[user]) => {
    const nc = await connect({ servers: server.url, user, pass: password, inboxPrefix: inboxPrefixOf(user), reconnect: false });
    open.push(nc);
    return nc;
  };

  beforeAll(async () => {
    server = await startOwnNatsServer({ config: ({ port, storeDir }) => natsServerConfig({ passwords: PASSWORDS, port, storeDir, host: '127.0.0.1' }) });
    await ensureEventStream(await jetstreamManager(await as('relay')));
  });
  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close()));
    await server?.close();
  });

  it('the committed deploy/nats/nats-server.conf is valid for nats-server with its passwords in the environment', async () => {
    const env = { ...process.env, ...Object.fromEntries(USERS.map((user) => [natsPasswordVariable(user), 'x'])) };
    const { stderr, stdout } = await promisify(execFile)(NATS_SERVER_BINARY, ['-t', '-c', path.join(REPO_ROOT, 'deploy/nats/nats-server.conf')], { env });
    expect(`${stdout}${stderr}`).toContain('is valid');
    expect(readFileSync(path.join(REPO_ROOT, 'deploy/nats/nats-server.conf'), 'utf8')).toBe(natsServerConfig());
  });

  it('refuses a connection without credentials or with a wrong password', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/);
    await expect(connect({ servers: server.url, user: 'gateway', pass: 'guess', reconnect: false })).rejects.toThrow(/Authorization Violation/);
  });

  it('only the relay publishes events: a service, the gateway and CI are refused; the relay is stored', async () => {
    const forged = JSON.stringify({ specversion: '1.0', type: 'ChangeCancelled' });
    for (const user of ['projections', 'approvals', 'gateway', 'ci']) {
      await expect(jetstream(await as(user)).publish('gatehouse.evt.changeRequest.ChangeCancelled', forged, { timeout: 2_000 })).rejects.toThrow(/Permissions Violation for Publish to "gatehouse.evt.changeRequest.ChangeCancelled"/);
    }
    await expect(jetstream(await as('relay')).publish('gatehouse.evt.changeRequest.ChangeCancelled', forged)).resolves.toMatchObject({ stream: 'GATEHOUSE_EVENTS' });
  });

  it('commands: CI and the relay cannot send any, a service only what it is known to send; the gateway reaches every service', async () => {
    const violation = /Permissions Violation for Publish to "gatehouse.cmd/;
    await expect((await as('ci')).request('gatehouse.cmd.approvals.grant', '{}', { timeout: 2_000 })).rejects.toThrow(violation);
    await expect((await as('relay')).request('gatehouse.cmd.approvals.grant', '{}', { timeout: 2_000 })).rejects.toThrow(violation);
    await expect((await as('projections')).request('gatehouse.cmd.approvals.grant', '{}', { timeout: 2_000 })).rejects.toThrow(violation);
    await expect((await as('monitoring')).request('gatehouse.cmd.approvals.grant', '{}', { timeout: 2_000 })).rejects.toThrow(violation);
    // Rollbacks are deployments' own reaction to monitoring's trigger events: monitoring sends no command at all.
    await expect((await as('monitoring')).request('gatehouse.cmd.deployments.rollback', '{}', { timeout: 2_000 })).rejects.toThrow(violation);
    // Allowed to publish: the server answers "no responders" since no service runs here.
    await expect((await as('approvals')).request('gatehouse.cmd.changeRequests.getChange', '{}', { timeout: 2_000 })).rejects.toThrow(/no responders/i);
    await expect((await as('gateway')).request('gatehouse.cmd.approvals.grant', '{}', { timeout: 2_000 })).rejects.toThrow(/no responders/i);
    // CI publishes release facts on ingest only.
    await expect((await as('ci')).request('gatehouse.ingest.release.built', '{}', { timeout: 2_000 })).rejects.toThrow(/no responders/i);
  });

  it('a service subscribes only to the commands it serves: it cannot listen in on, or answer for, another context', async () => {
    const nc = await as('approvals');
    const refused = new Promise<Error>((resolve) => nc.subscribe('gatehouse.cmd.deployments.>', { callback: (error) => void (error !== null && resolve(error)) }));
    await expect(refused).resolves.toMatchObject({ message: expect.stringMatching(/Permissions Violation for Subscription to "gatehouse.cmd.deployments.>"/) });
    // Nor read replies meant for others: the shared inbox space and the gateway's inboxes are closed to it.
    for (const inbox of ['_INBOX.>', '_INBOX_gateway.>']) {
      const other = await as('approvals');
      const denied = new Promise<Error>((resolve) => other.subscribe(inbox, { callback: (error) => void (error !== null && resolve(error)) }));
      await expect(denied).resolves.toMatchObject({ message: expect.stringMatching(/Permissions Violation for Subscription/) });
    }
    const own = nc.subscribe('gatehouse.cmd.approvals.>', { callback: (_error, msg) => void msg.respond('ok') });
    await nc.flush();
    expect((await (await as('gateway')).request('gatehouse.cmd.approvals.grant', '{}', { timeout: 2_000 })).string()).toBe('ok');
    own.unsubscribe();
  });
});
