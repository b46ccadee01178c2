import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import {
  authenticatedCommandBus,
  CommandFailedError,
  createJetStreamEventConsumerFactory,
  createNatsCommandBus,
  encodeEnvelope,
  ensureEventStream,
  eventSubjectFor,
  generateCommandKeys,
  type NatsCommandBus,
  commandSubject,
  toEnvelope,
} from '@gatehouse/bus';
import { DomainError, parseOrThrow, systemClock } from '@gatehouse/domain';
import type { AuditableEventStore, StoredEvent } from '@gatehouse/eventstore';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { Controller, Inject, Module } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Registry } from 'prom-client';
import { z } from 'zod';
import type { PolicyRegistry } from '../policy/policy-registry.js';
import type { RunningService, ServiceContext, ServiceLogger } from '../service.js';
import { nestService, SERVICE_CONTEXT } from './nest-service.js';
import { busCommand, busConsumer, busEvents, type CommandRpcContext, type EventRpcContext } from './transport.js';

const describeNats = (await requireNats()) ? describe : describe.skip;

class WidgetLockedError extends DomainError {
  override readonly name = 'WidgetLockedError';
  readonly code = 'WIDGET_LOCKED' as const;
  constructor(readonly widgetId: string) {
    super(`widget ${widgetId} is locked`);
  }
}

const PolishWidget = z.strictObject({ widgetId: z.string().min(1).max(40) });
const WidgetMadeData = z.object({ n: z.number().int() });

/** What the test service's handlers saw. */
const seen = {
  commands: [] as Array<{ widgetId: string; caller: string | undefined }>,
  deliveries: [] as Array<{ n: number; deliveryCount: number; subject: string }>,
};

@Controller()
class WidgetsController {
  constructor(@Inject(SERVICE_CONTEXT) private readonly context: ServiceContext) {}

  @MessagePattern(busCommand('widgets', 'polish'))
  polish(@Payload() raw: unknown, @Ctx() rpc: CommandRpcContext): { widgetId: string; polishedBy: string; service: string } {
    const { widgetId } = parseOrThrow(PolishWidget, raw, 'widgets.polish payload');
    seen.commands.push({ widgetId, caller: rpc.getCaller()?.subject });
    if (widgetId === 'locked') throw new WidgetLockedError(widgetId);
    return { widgetId, polishedBy: rpc.getCaller()?.subject ?? '', service: this.context.name };
  }

  @EventPattern(busConsumer('widgets-on-made'), busEvents({ categories: ['widget'], eventTypes: ['WidgetMade'], dataSchemas: { WidgetMade: WidgetMadeData } }))
  onMade(@Payload() event: StoredEvent, @Ctx() rpc: EventRpcContext): void {
    const { n } = event.data as z.infer<typeof WidgetMadeData>;
    seen.deliveries.push({ n, deliveryCount: rpc.getDeliveryCount(), subject: rpc.getReceived().subject });
    // n = 13 fails its first delivery: JetStream must hand it back.
    if (n === 13 && rpc.getDeliveryCount() === 1) throw new Error('transient: the dependency is down');
  }
}

@Module({ controllers: [WidgetsController] })
class WidgetsModule {}

const silent: ServiceLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

describeNats('GatehouseTransport (Nest @MessagePattern / @EventPattern on the Gatehouse bus, real NATS)', () => {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
  const subjectPrefix = `nest${suffix}`;
  const streamName = `NEST_EVENTS_${suffix}`;
  const deadLetterStreamName = `NEST_DLQ_${suffix}`;
  const keys = generateCommandKeys(['gateway', 'widgets']);
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let serviceBus: NatsCommandBus;
  let callerBus: NatsCommandBus;
  let running: RunningService | undefined;

  const widgets = nestService('widgets', WidgetsModule);
  const start = async (): Promise<RunningService> =>
    (running = await widgets.start({
      name: 'widgets',
      store: {} as AuditableEventStore,
      commands: authenticatedCommandBus(serviceBus, { keys, name: 'widgets' }),
      events: createJetStreamEventConsumerFactory({ js, jsm, streamName, deadLetterStreamName, subjectPrefix, ackWaitMs: 5_000, retryDelayMs: () => 50 }),
      clock: systemClock,
      policies: {} as PolicyRegistry,
      metrics: new Registry(),
      logger: silent,
    }));
  const asGateway = () => authenticatedCommandBus(callerBus, { keys, name: 'gateway' });

  async function publish(n: unknown): Promise<StoredEvent> {
    const event: StoredEvent = {
      id: randomUUID(),
      type: 'WidgetMade',
      streamId: `widget-${randomUUID()}`,
      streamVersion: 0n,
      globalPosition: 1n,
      recordedAt: new Date(),
      data: { n },
      metadata: { actor: 'test' },
      hash: 'f'.repeat(64),
      previousHash: '0'.repeat(64),
    };
    await js.publish(eventSubjectFor(event.streamId, event.type, subjectPrefix), encodeEnvelope(toEnvelope(event)), { msgID: event.id });
    return event;
  }

  async function waitFor(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { subjectPrefix, streamName, deadLetterStreamName });
    serviceBus = createNatsCommandBus({ servers: natsUrl(), subjectPrefix });
    callerBus = createNatsCommandBus({ servers: natsUrl(), subjectPrefix });
    await start();
  });

  afterAll(async () => {
    await running?.stop();
    await serviceBus?.close();
    await callerBus?.close();
    await jsm?.streams.delete(streamName).catch(() => undefined);
    await jsm?.streams.delete(deadLetterStreamName).catch(() => undefined);
    await nc?.close();
  });

  it('answers a signed command through its @MessagePattern handler, with the verified caller in @Ctx()', async () => {
    const reply = await asGateway().send('widgets', 'polish', { widgetId: 'w-1' }, { caller: { subject: 'alice', roles: ['engineer'] } });
    expect(reply).toEqual({ widgetId: 'w-1', polishedBy: 'alice', service: 'widgets' });
  });

  it('refuses an unsigned command and a forged one before the handler runs', async () => {
    const before = seen.commands.length;
    const unsigned = callerBus.send('widgets', 'polish', { widgetId: 'w-unsigned' });
    await expect(unsigned).rejects.toBeInstanceOf(CommandFailedError);
    await expect(unsigned).rejects.toMatchObject({ remoteName: 'ForbiddenCommand' });
    // Signed with a key pair of the right name that the service does not trust.
    const forger = authenticatedCommandBus(callerBus, { keys: generateCommandKeys(['gateway']), name: 'gateway' });
    await expect(forger.send('widgets', 'polish', { widgetId: 'w-forged' }, { caller: { subject: 'root', roles: ['admin'] } })).rejects.toMatchObject({
      remoteName: 'ForbiddenCommand',
      details: expect.objectContaining({ code: 'FORBIDDEN_COMMAND' }),
    });
    expect(seen.commands.length).toBe(before);
  });

  it("keeps a domain error's name, code and facts in the error reply (not Nest's 'Internal server error')", async () => {
    await expect(asGateway().send('widgets', 'polish', { widgetId: 'locked' })).rejects.toMatchObject({
      remoteName: 'WidgetLockedError',
      remoteMessage: 'widget locked is locked',
      details: expect.objectContaining({ code: 'WIDGET_LOCKED', widgetId: 'locked' }),
    });
  });

  it('answers hostile payloads with { ok: false, error } naming the field, and keeps serving', async () => {
    await expect(asGateway().send('widgets', 'polish', { widgetId: { $ne: null }, admin: true })).rejects.toMatchObject({
      remoteName: 'ValidationError',
      details: expect.objectContaining({ issues: expect.arrayContaining([expect.objectContaining({ field: 'widgetId' })]) }),
    });
    // Not JSON at all, straight on the subject: answered by the bus, never reaching Nest.
    const garbage = await nc.request(commandSubject('widgets', 'polish', subjectPrefix), new TextEncoder().encode('{"id":'), { timeout: 5_000 });
    expect(JSON.parse(garbage.string())).toMatchObject({ ok: false, error: { name: 'InvalidCommandPayloadError' } });
    expect(await asGateway().send('widgets', 'polish', { widgetId: 'w-after' })).toMatchObject({ widgetId: 'w-after' });
  });

  it('runs an @EventPattern handler as a durable JetStream consumer that resumes where it stopped', async () => {
    await publish(1);
    await waitFor(() => seen.deliveries.some((d) => d.n === 1), 'event 1');
    expect(seen.deliveries.find((d) => d.n === 1)).toMatchObject({ deliveryCount: 1, subject: expect.stringContaining(`${subjectPrefix}.evt.widget.WidgetMade`) });
    await running!.stop();
    // Published while the service is down: the durable consumer hands it over at the next start, and only it.
    await publish(2);
    await start();
    await waitFor(() => seen.deliveries.some((d) => d.n === 2), 'event 2 after the restart');
    expect(seen.deliveries.filter((d) => d.n === 1)).toHaveLength(1);
    expect((await jsm.consumers.info(streamName, 'widgets-on-made')).config.durable_name).toBe('widgets-on-made');
  });

  it('redelivers an event whose handler failed, and dead-letters data that breaks its schema without calling the handler', async () => {
    await publish(13);
    await waitFor(() => seen.deliveries.filter((d) => d.n === 13).length === 2, 'the redelivery of event 13');
    expect(seen.deliveries.filter((d) => d.n === 13).map((d) => d.deliveryCount)).toEqual([1, 2]);
    const before = seen.deliveries.length;
    await publish('not a number');
    const deadline = Date.now() + 10_000;
    while ((await jsm.streams.info(deadLetterStreamName)).state.messages === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await jsm.streams.info(deadLetterStreamName)).state.messages).toBe(1);
    expect(seen.deliveries.length).toBe(before);
  });
});
