import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { deeplyNested, hostilePayloads, natsUrl, requireNats, startOwnNatsServer, type OwnNatsServer } from '@gatehouse/testing';
import { BusUnavailableError, CommandFailedError, CommandTimeoutError, NoResponderError } from '../errors.js';
import { InvalidCommandPayloadError, MAX_COMMAND_PAYLOAD_DEPTH } from './payload-limits.js';
import { uniqueSuffix } from '../test-support/events.js';
import { commandPattern, commandServerOptions, createCommandClient, createNatsCommandBus, type CommandClient } from './nats.js';
import { runCommand } from './reply.js';
import type { CommandBus } from './types.js';

const describeNats = (await requireNats()) ? describe : describe.skip;
// Decorators are evaluated at class definition, so the prefix must be known at module load.
const prefix = `t${uniqueSuffix()}`;

class BlackoutError extends Error {
  override readonly name = 'BlackoutError';
  readonly code = 'BLACKOUT';
  constructor(readonly until: string) {
    super(`production is in blackout until ${until}`);
  }
}

@Controller()
class ApprovalsController {
  @MessagePattern(commandPattern('approvals', 'ApproveChange', prefix))
  approve(@Payload() payload: { changeId: string; approver: string }) {
    return runCommand(() => {
      if (payload.changeId === 'blocked') throw new BlackoutError('2026-11-28T00:00Z');
      // A top-level `response` key in a Nest reply would be unwrapped: the envelope keeps it nested.
      return { changeId: payload.changeId, approvedBy: payload.approver, response: 'kept' };
    });
  }

  @MessagePattern(commandPattern('approvals', 'Hang', prefix))
  hang() {
    return new Promise(() => undefined);
  }
}

@Module({ controllers: [ApprovalsController] })
class ApprovalsModule {}

describeNats('commands over NATS request/reply', () => {
  let app: INestMicroservice;
  let client: CommandClient;
  const buses: CommandBus[] = [];

  beforeAll(async () => {
    app = await NestFactory.createMicroservice<MicroserviceOptions>(ApprovalsModule, { ...commandServerOptions({ servers: natsUrl() }), logger: false });
    await app.listen();
    client = createCommandClient({ servers: natsUrl(), subjectPrefix: prefix });
  });

  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    await client?.close();
    await app?.close();
  });

  it('a Nest @MessagePattern handler answers a command sent by CommandClient', async () => {
    await expect(client.send('approvals', 'ApproveChange', { changeId: 'c-1', approver: 'alice' })).resolves.toEqual({
      changeId: 'c-1',
      approvedBy: 'alice',
      response: 'kept',
    });
  });

  it('a domain error comes back typed, with its name, code and facts', async () => {
    const failure = client.send('approvals', 'ApproveChange', { changeId: 'blocked', approver: 'alice' });
    await expect(failure).rejects.toBeInstanceOf(CommandFailedError);
    await expect(failure).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      subject: `${prefix}.cmd.approvals.ApproveChange`,
      remoteName: 'BlackoutError',
      details: { code: 'BLACKOUT', until: '2026-11-28T00:00Z' },
    });
  });

  it('fails fast with NoResponderError naming the subject when no service listens', async () => {
    const startedAt = Date.now();
    const failure = client.send('scheduling', 'BookWindow', {}, { timeoutMs: 5_000 });
    await expect(failure).rejects.toBeInstanceOf(NoResponderError);
    await expect(failure).rejects.toMatchObject({ code: 'NO_RESPONDER', subject: `${prefix}.cmd.scheduling.BookWindow` });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });

  it('turns silence from a stuck handler into CommandTimeoutError', async () => {
    const failure = client.send('approvals', 'Hang', {}, { timeoutMs: 200 });
    await expect(failure).rejects.toBeInstanceOf(CommandTimeoutError);
    await expect(failure).rejects.toMatchObject({ code: 'COMMAND_TIMEOUT', subject: `${prefix}.cmd.approvals.Hang`, timeoutMs: 200 });
  });

  it('the NATS CommandBus serves commands itself and reaches Nest handlers, replicas sharing one queue group', async () => {
    const replicaA = createNatsCommandBus({ servers: natsUrl(), subjectPrefix: prefix });
    const replicaB = createNatsCommandBus({ servers: natsUrl(), subjectPrefix: prefix });
    buses.push(replicaA, replicaB);
    const servedBy: string[] = [];
    await replicaA.register('scheduling', 'Book', (payload: { n: number }) => (servedBy.push('A'), { booked: payload.n }));
    await replicaB.register('scheduling', 'Book', (payload: { n: number }) => (servedBy.push('B'), { booked: payload.n }));

    const results = await Promise.all(Array.from({ length: 40 }, (_, n) => replicaA.send('scheduling', 'Book', { n })));
    expect(results).toEqual(Array.from({ length: 40 }, (_, n) => ({ booked: n })));
    // Queue group: each request served exactly once, by either replica.
    expect(servedBy).toHaveLength(40);
    expect(new Set(servedBy)).toEqual(new Set(['A', 'B']));

    await expect(replicaB.send('approvals', 'ApproveChange', { changeId: 'c-2', approver: 'bob' })).resolves.toMatchObject({ changeId: 'c-2' });
    await expect(replicaB.send('approvals', 'Unknown', {}, { timeoutMs: 2_000 })).rejects.toBeInstanceOf(NoResponderError);
  });

  describe('hostile requests on a command subject', () => {
    let raw: NatsConnection;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    /** Well-formed requests whose data is wrong: only the handler's own validation can refuse them. */
    const REACH_HANDLER = ['null data', 'string data', 'array data', 'wrong field types', 'prototype pollution'];

    beforeAll(async () => {
      raw = await connect({ servers: natsUrl() });
      process.on('unhandledRejection', onUnhandled);
    });
    afterAll(async () => {
      process.off('unhandledRejection', onUnhandled);
      await raw?.close();
    });

    /** Sends every hostile body to `subject`; each must get a JSON reply refusing it (bare or in Nest's packet). */
    async function throwCorpusAt(subject: string, handlerValidates = true): Promise<Array<{ name: string; error: { name: string; message: string; issues?: unknown } }>> {
      const answers = [];
      for (const payload of hostilePayloads()) {
        const reply = await raw.request(subject, payload.body, { timeout: 2_000 }).catch((error: unknown) => {
          throw new Error(`'${payload.name}' got no reply: ${String(error)}`);
        });
        const body = reply.json<{ ok?: boolean; response?: { ok: boolean; error: { name: string; message: string } }; error?: { name: string; message: string } }>();
        const answer = body.response ?? body;
        const reachesHandler = REACH_HANDLER.includes(payload.name);
        if (handlerValidates || !reachesHandler) expect({ payload: payload.name, ok: answer.ok }).toEqual({ payload: payload.name, ok: false });
        answers.push({ name: payload.name, error: answer.error! });
      }
      return answers;
    }

    it('serve() answers every one with { ok: false, error } naming the field, and keeps serving', async () => {
      const bus = createNatsCommandBus({ servers: natsUrl(), subjectPrefix: prefix });
      buses.push(bus);
      const seen: unknown[] = [];
      await bus.register('orders', 'Place', (payload: unknown) => {
        seen.push(payload);
        const orderId = (payload as { orderId?: unknown } | null)?.orderId;
        if (typeof orderId !== 'string') throw Object.assign(new Error('invalid payload: orderId: required'), { name: 'ValidationError', issues: [{ field: 'orderId', reason: 'required' }] });
        return { placed: orderId };
      });
      const answers = await throwCorpusAt(`${prefix}.cmd.orders.Place`);
      const byName = Object.fromEntries(answers.map((a) => [a.name, a.error]));
      expect(byName['JSON null']).toMatchObject({ name: 'InvalidCommandPayloadError', issues: [{ field: '', reason: expect.stringMatching(/JSON object/) }] });
      expect(byName['empty']).toMatchObject({ name: 'InvalidCommandPayloadError', issues: [{ field: '', reason: expect.stringMatching(/empty/) }] });
      expect(byName['not JSON']).toMatchObject({ name: 'InvalidCommandPayloadError', issues: [{ reason: expect.stringMatching(/not JSON/) }] });
      expect(byName['a numeric id']).toMatchObject({ issues: [{ field: 'id' }] });
      expect(byName['5,000 levels deep (30 KB evidence)']).toMatchObject({ name: 'InvalidCommandPayloadError', issues: [{ field: 'evidence', reason: expect.stringMatching(`deeper than ${MAX_COMMAND_PAYLOAD_DEPTH} levels`) }] });
      expect(byName['null data']).toMatchObject({ name: 'ValidationError', issues: [{ field: 'orderId' }] });
      // Neither too-deep nor malformed requests reached the handler.
      expect(seen).toHaveLength(REACH_HANDLER.length);
      await expect(bus.send('orders', 'Place', { orderId: 'o-1' })).resolves.toEqual({ placed: 'o-1' });
      expect(unhandled).toEqual([]);
    });

    it('a Nest @MessagePattern server refuses them the same way and keeps answering', async () => {
      const answers = await throwCorpusAt(`${prefix}.cmd.approvals.ApproveChange`, false);
      expect(answers.find((a) => a.name === 'JSON null')?.error).toMatchObject({ name: 'InvalidCommandPayloadError' });
      expect(answers.find((a) => a.name === '5,000 levels deep (30 KB evidence)')?.error).toMatchObject({ issues: [{ field: 'evidence' }] });
      await expect(client.send('approvals', 'ApproveChange', { changeId: 'c-9', approver: 'alice' })).resolves.toMatchObject({ changeId: 'c-9' });
      expect(unhandled).toEqual([]);
    });

    it('the sender refuses a payload nested too deep before serialising it, naming the field', async () => {
      const evidence = JSON.parse(deeplyNested(5_000)) as unknown;
      const failure = client.send('approvals', 'ApproveChange', { changeId: 'c-10', evidence });
      await expect(failure).rejects.toBeInstanceOf(InvalidCommandPayloadError);
      await expect(failure).rejects.toMatchObject({ limit: 'depth', issues: [{ field: 'evidence' }] });
      await expect(client.send('approvals', 'ApproveChange', { changeId: 'c-11', notes: 'x'.repeat(600_000) })).rejects.toMatchObject({ limit: 'size' });
    });
  });
});

describeNats('the command client when NATS goes away (its own nats-server)', () => {
  let server: OwnNatsServer;
  let bus: CommandBus;
  let client: CommandClient;

  beforeAll(async () => {
    server = await startOwnNatsServer();
    bus = createNatsCommandBus({ servers: server.url, subjectPrefix: prefix });
    client = createCommandClient({ servers: server.url, subjectPrefix: prefix });
    await bus.register('outage', 'Hang', () => new Promise(() => undefined));
    await bus.register('outage', 'Echo', (payload: unknown) => payload);
  }, 60_000);
  afterAll(async () => {
    await server?.start().catch(() => undefined);
    await client?.close();
    await bus?.close();
    await server?.close();
  }, 60_000);

  it('a send waiting for its reply fails with BusUnavailableError as the connection drops, sends fail at once while it is down, and work again after', async () => {
    await expect(client.send('outage', 'Echo', { n: 1 })).resolves.toEqual({ n: 1 });
    const waiting = client.send('outage', 'Hang', {}, { timeoutMs: 30_000 });
    const outcome = waiting.then(
      () => 'answered',
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stoppedAt = Date.now();
    await server.stop();
    const failure = await outcome;
    expect(failure).toBeInstanceOf(BusUnavailableError);
    expect(failure).toMatchObject({ subject: `${prefix}.cmd.outage.Hang` });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);

    const startedAt = Date.now();
    await expect(client.send('outage', 'Echo', { n: 2 })).rejects.toBeInstanceOf(BusUnavailableError);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    await expect(client.ready()).rejects.toThrow(/NATS connection/);

    await server.start();
    const deadline = Date.now() + 20_000;
    let answer: unknown;
    while (answer === undefined && Date.now() < deadline) {
      answer = await client.send('outage', 'Echo', { n: 3 }).catch(() => new Promise((resolve) => setTimeout(() => resolve(undefined), 200)));
    }
    expect(answer).toEqual({ n: 3 });
  }, 60_000);
});
