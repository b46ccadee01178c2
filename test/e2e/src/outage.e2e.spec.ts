/**
 * Infrastructure faults against the distributed form, on a nats-server and a PostgreSQL cluster of
 * this suite's own (free ports; the shared 4222/5432 are never touched):
 * - a corpus of hostile payloads at every command subject the running services subscribe to;
 * - with lifecycles in flight, NATS stopped for ~20 s, then PostgreSQL stopped (immediate mode) for
 *   ~20 s. Commands during each outage get 503 naming what is down within 2 s, no 5xx is
 *   remembered against an Idempotency-Key, and afterwards every process recovers by itself (no
 *   process exits or is restarted), the lifecycles finish, and no effect happens twice.
 */
import { connect } from '@nats-io/transport-node';
import {
  GatehouseClient,
  type GatehouseSystem,
  HOUR,
  hostilePayloads,
  type Json,
  MINUTE,
  type OwnNatsServer,
  type OwnServer,
  startDistributedGatehouse,
  startOwnNatsServer,
  startOwnPostgres,
  subscribedSubjects,
} from '@gatehouse/testing';
import { appliedSteps, approve, review, submit } from './scenarios.js';

const MONDAY_MORNING = '2026-11-30T09:00:00Z';
/** How long each server stays down. */
const OUTAGE_MS = 20_000;
/** Every command during an outage must be answered within this. */
const FAIL_FAST_MS = 2_000;
const LIFECYCLES = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('infrastructure faults: the distributed form on its own NATS and PostgreSQL', () => {
  let nats: OwnNatsServer;
  let postgres: OwnServer;
  let system: GatehouseSystem;
  let client: GatehouseClient;
  const pids = new Map<string, number | undefined>();

  const everyProcessReady = async (): Promise<boolean> => {
    for (const process of system.processes.values()) {
      if ((await fetch(`${process.url}/health/ready`).then((r) => r.status, () => 0)) !== 200) return false;
    }
    return true;
  };
  /** Ready, or an error naming each process that is not and what its readiness says (waitFor reports the last). */
  const everyProcessReadyOrWhyNot = async (): Promise<boolean> => {
    const notReady: string[] = [];
    for (const [name, process] of system.processes) {
      const answer = await fetch(`${process.url}/health/ready`).then(async (r) => (r.status === 200 ? undefined : `${r.status} ${await r.text()}`), (error: unknown) => String(error));
      if (answer !== undefined) notReady.push(`${name}: ${answer.slice(0, 300)}`);
    }
    if (notReady.length > 0) throw new Error(`not ready: ${notReady.join('; ')}`);
    return true;
  };
  /** No process exited, none was restarted: the pids seen at start are alive. */
  const expectSameProcessesAlive = (): void => {
    for (const [name, pid] of pids) {
      expect({ name, pid: system.process(name as never).pid }).toEqual({ name, pid });
      expect({ name, alive: isAlive(pid) }).toEqual({ name, alive: true });
    }
  };
  let releaseCount = 0;
  const newRelease = (): Json => {
    releaseCount += 1;
    return { service: 'outage-api', version: `1.0.${releaseCount}`, type: 'patch', title: `Outage probe ${releaseCount}`, previousVersion: '1.0.0' };
  };
  /** A command sent during an outage: 503 naming what is down, answered within FAIL_FAST_MS. */
  const expectRefusedFast = async (key: string, names: RegExp): Promise<void> => {
    const started = Date.now();
    const reply = await client.call('POST', '/api/releases', 'ana', newRelease(), { 'idempotency-key': key });
    const elapsed = Date.now() - started;
    expect({ status: reply.status, message: reply.body?.message as string, fast: elapsed < FAIL_FAST_MS }).toEqual({ status: 503, message: expect.stringMatching(names), fast: true });
  };

  beforeAll(async () => {
    [nats, postgres] = await Promise.all([startOwnNatsServer(), startOwnPostgres()]);
    system = await startDistributedGatehouse({ startAt: MONDAY_MORNING, databaseUrl: postgres.url, natsUrl: nats.url });
    client = new GatehouseClient(system.url, system.jwtSecret, MONDAY_MORNING);
    await client.setClock(MONDAY_MORNING);
    for (const [name, process] of system.processes) pids.set(name, process.pid);
  }, 240_000);
  afterAll(async () => {
    // Cleaning up needs both servers up, whatever a failed test left behind.
    await Promise.all([nats?.start().catch(() => undefined), postgres?.start().catch(() => undefined)]);
    await system?.close().catch(() => undefined);
    await Promise.all([nats?.close(), postgres?.close()]);
  }, 120_000);

  it('answers every hostile payload on every command subject the services serve, and every service stays up and ready', async () => {
    const subjects = (await subscribedSubjects(nats)).filter((s) => s.includes('.cmd.'));
    expect(subjects.length).toBeGreaterThan(20);
    const nc = await connect({ servers: nats.url });
    try {
      for (const subject of subjects) {
        for (const payload of hostilePayloads()) {
          const reply = await nc.request(subject, payload.body, { timeout: 5_000 }).catch((error: unknown) => {
            throw new Error(`${subject} did not answer '${payload.name}': ${String(error)}`);
          });
          const body = reply.json<Json>();
          const answer = body.response ?? body;
          expect({ subject, payload: payload.name, ok: answer.ok, named: typeof answer.error?.name }).toEqual({ subject, payload: payload.name, ok: false, named: 'string' });
        }
      }
    } finally {
      await nc.close();
    }
    expect(await everyProcessReady()).toBe(true);
    expectSameProcessesAlive();
    // And a valid command still goes through.
    expect((await client.call('POST', '/api/releases', 'ana', newRelease())).status).toBe(201);
  });

  it('lifecycles in flight survive a NATS outage and then a PostgreSQL outage, without a restart and without doubled effects', async () => {
    const changes: string[] = [];
    for (let i = 0; i < LIFECYCLES; i += 1) {
      // One service each: two rollouts of one workload at once would contend for it (a separate matter from outages).
      const { releaseId: release } = await client.ok('POST', '/api/releases', 'ana', { service: `outage-svc-${i}`, version: '2.1.0', type: 'minor', title: `Outage lifecycle ${i}`, previousVersion: '2.0.0', changes: [{ kind: 'feature', description: `Outage lifecycle ${i}` }] });
      const change = await submit(client, 'development', release);
      await review(client, change);
      changes.push(change);
    }
    // The last approvals land, and NATS goes down while the reactions to them are under way.
    for (const change of changes) await approve(client, change, [['rui', 'code_reviewer']]);

    await nats.stop();
    const natsKey = 'outage-nats-key-1';
    for (const deadline = Date.now() + OUTAGE_MS; Date.now() < deadline; await sleep(2_000)) await expectRefusedFast(natsKey, /NATS/);
    expect(await everyProcessReady()).toBe(false);
    await nats.start();
    await client.waitFor('every process ready after the NATS outage', everyProcessReady, { timeoutMs: 90_000, intervalMs: 500 });
    expectSameProcessesAlive();
    // The 503s were not remembered: the same key is sent for real now.
    expect((await client.call('POST', '/api/releases', 'ana', { service: 'outage-api', version: '1.0.1', type: 'patch', title: 'Outage probe 1', previousVersion: '1.0.0' }, { 'idempotency-key': natsKey })).status).not.toBe(503);

    // Reactions that met the outage were retried, not dead-lettered.
    expect(await system.deadLetters()).toEqual([]);
    // The reactions held up by the outage arrive by themselves, before the clock moves on (a booking
    // whose window start the clock has passed is refused: a separate issue of the running clock).
    for (const change of changes) {
      await client.waitFor(`${change} scheduled after the NATS outage`, async () => ['scheduled', 'implementing', 'validating', 'closed'].includes(await client.changeStatus(change)), { timeoutMs: 90_000, intervalMs: 500 });
    }
    // Halfway: every change on its way (deploying or further), then PostgreSQL goes down.
    for (const change of changes) await client.advanceUntilStatus(change, ['implementing', 'validating', 'closed'], { step: MINUTE, limit: 2 * HOUR });
    await postgres.stop();
    const postgresKey = 'outage-postgres-key-1';
    for (const deadline = Date.now() + OUTAGE_MS; Date.now() < deadline; await sleep(2_000)) await expectRefusedFast(postgresKey, /PostgreSQL/);
    expect(await everyProcessReady()).toBe(false);
    await postgres.start();
    await client.waitFor('every process ready after the PostgreSQL outage', everyProcessReadyOrWhyNot, { timeoutMs: 90_000, intervalMs: 500 });
    expectSameProcessesAlive();
    expect((await client.call('POST', '/api/releases', 'ana', newRelease(), { 'idempotency-key': postgresKey })).status).toBe(201);
    // Reactions whose handlers met PostgreSQL down were retried, not dead-lettered (their effects would be lost).
    await sleep(5_000);
    expect(await system.deadLetters()).toEqual([]);

    // Everything finishes, once.
    for (const change of changes) await client.advanceUntilStatus(change, 'closed', { step: 5 * MINUTE, limit: 6 * HOUR });
    for (const change of changes) {
      const deployment = await client.events(`deployment-${change}`);
      expect({ change, started: deployment.filter((e: Json) => e.type === 'DeploymentStarted').length, succeeded: deployment.filter((e: Json) => e.type === 'DeploymentSucceeded').length }).toEqual({ change, started: 1, succeeded: 1 });
      const applied = await appliedSteps(client, system, change);
      expect(applied).not.toBeNull();
      expect(new Set(applied).size).toBe(applied!.length);
      expect((await client.events(`schedule-${change}`)).filter((e: Json) => e.type === 'DeploymentScheduled')).toHaveLength(1);
      expect((await client.eventTypes(`changeRequest-${change}`)).filter((t) => t === 'ChangeClosed')).toHaveLength(1);
    }
    const stored = await system.countEvents();
    const published = await client.waitFor('the relay to publish everything', async () => {
      const counts = await system.countPublished();
      return counts.events === stored ? counts : undefined;
    });
    expect(published).toEqual({ events: stored, deadLetters: 0 });
    expectSameProcessesAlive();
    expect((await client.ok('GET', '/api/audit/verify', 'aud')).ok).toBe(true);
  }, 600_000);
});

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
