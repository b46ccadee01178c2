import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, type MicroserviceOptions } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { CommandFailedError, CommandTimeoutError, NoResponderError } from '../errors.js';
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
});
