/**
 * The workflow runner on real JetStream durable consumers: a reaction that arrives before the fact it
 * depends on waits (the consumer's back-off) instead of being refused for good, a final refusal is
 * recorded once, a dependency that is briefly down is retried, and poison is dead-lettered at once.
 * The workflow is a small one of its own (a parcel that must be packed before it ships), so each rule
 * of the runner shows in isolation; the change lifecycle workflow runs on it in change-requests.
 */
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createJetStreamEventConsumerFactory, DeadLetterHeaders, encodeEnvelope, ensureEventStream, type EventConsumer, eventSubjectFor, PoisonMessageError, toEnvelope } from '@gatehouse/bus';
import { commandIdFor, type Decider, IllegalTransitionError, type Workflow, type WorkflowOutput } from '@gatehouse/domain';
import { ANY, type AuditableEventStore, createInMemoryEventStore, type StoredEvent } from '@gatehouse/eventstore';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { handleCommand } from './command-handler.js';
import type { ServiceLogger } from './service.js';
import { supportsMultipleFilterSubjects } from './standalone/single-filter.js';
import { runWorkflow } from './workflow-runner.js';

// ---------------------------------------------------------------- a parcel: packed, then shipped

type ParcelCommand = { type: 'Pack'; data: { parcelId: string } } | { type: 'Ship'; data: { parcelId: string } };
type ParcelEvent = { type: 'ParcelPacked'; data: { parcelId: string } } | { type: 'ParcelShipped'; data: { parcelId: string } };
type ParcelState = { status: 'empty' | 'packed' | 'shipped' };
const parcelDecider: Decider<ParcelCommand, ParcelEvent, ParcelState> = {
  decide: (command, state) => {
    const allowed = command.type === 'Pack' ? ['empty'] : ['packed'];
    if (!allowed.includes(state.status)) throw new IllegalTransitionError('parcel', command.type, state.status, allowed);
    return [{ type: command.type === 'Pack' ? 'ParcelPacked' : 'ParcelShipped', data: command.data }];
  },
  evolve: (_state, event) => ({ status: event.type === 'ParcelPacked' ? 'packed' : 'shipped' }),
  initialState: () => ({ status: 'empty' }),
};

/** Warehouse facts (another context's events) the workflow reacts to. */
type Input = { eventId: string; type: 'ItemsPicked' | 'CourierArrived' | 'CourierArrivedAgain'; parcelId: string };
type Output = WorkflowOutput<'parcel', ParcelCommand>;
const shippingWorkflow: Workflow<Input, ParcelState, Output, ParcelEvent> = {
  decide: ({ eventId, type, parcelId }, state) => {
    const send = (command: ParcelCommand): Output => ({ kind: 'send', target: 'parcel', streamId: `parcel-${parcelId}`, commandId: commandIdFor({ eventId }, command.type), command });
    if (type === 'ItemsPicked') return [send({ type: 'Pack', data: { parcelId } })];
    // The courier may be reported before the items were picked (events of different streams): wait for the packing.
    if (state.status === 'empty') return [{ kind: 'await', reason: `parcel ${parcelId} is not packed yet` }];
    return [send({ type: 'Ship', data: { parcelId } })];
  },
  evolve: parcelDecider.evolve,
  initialState: parcelDecider.initialState,
};
const Schemas = { ItemsPicked: z.object({ parcelId: z.string().min(1) }), CourierArrived: z.object({ parcelId: z.string().min(1) }), CourierArrivedAgain: z.object({ parcelId: z.string().min(1) }) };

// ---------------------------------------------------------------- the suite

describe('runWorkflow on JetStream', () => {
  const id = randomBytes(4).toString('hex');
  const subjectPrefix = `wf${id}`;
  const streamName = `WF_EVENTS_${id}`;
  const deadLetterStreamName = `WF_DLQ_${id}`;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let store: AuditableEventStore;
  let consumer: EventConsumer | undefined;
  const warnings: string[] = [];
  const logger: ServiceLogger = { info: () => {}, debug: () => {}, error: () => {}, warn: (_fields, message) => warnings.push(message) };
  let sendFailures = 0;

  beforeAll(async () => {
    if (!(await requireNats())) throw new Error('NATS JetStream must run on 127.0.0.1:4222 for this suite');
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { subjectPrefix, streamName, deadLetterStreamName });
  });
  beforeEach(async () => {
    store = createInMemoryEventStore();
    sendFailures = 0;
    warnings.length = 0;
    // As the services run it: one filter subject on servers older than 2.10 (Debian's is 2.9).
    const events = createJetStreamEventConsumerFactory({ js, jsm, streamName, subjectPrefix, retryDelayMs: () => 100, multipleFilterSubjects: supportsMultipleFilterSubjects(nc.info?.version) });
    consumer = await runWorkflow({
      name: `shipping-${expect.getState().currentTestName?.length ?? 0}-${randomBytes(2).toString('hex')}`,
      events,
      categories: ['warehouse'],
      dataSchemas: Schemas,
      workflow: shippingWorkflow,
      maxAwaitDeliveries: 6,
      prepare: async (event) => {
        if (event.data.parcelId.includes('/')) throw new PoisonMessageError(`parcel id "${event.data.parcelId}" names no parcel stream`);
        const history = await store.readStream(`parcel-${event.data.parcelId}`);
        const state = history.reduce((s, e) => shippingWorkflow.evolve(s, e as unknown as ParcelEvent), shippingWorkflow.initialState());
        return { input: { eventId: event.id, type: event.type as Input['type'], parcelId: event.data.parcelId }, state };
      },
      send: async (output) => {
        if (sendFailures > 0) {
          sendFailures -= 1;
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        const result = await handleCommand({ store, decider: parcelDecider, streamId: output.streamId, command: output.command, commandId: output.commandId });
        return result.events.map((e) => e.type);
      },
      classifyRefusal: (error) => (error instanceof IllegalTransitionError && error.status === 'empty' ? 'order' : 'final'),
      logger,
      metrics: new Registry(),
    });
  });
  afterEach(async () => consumer?.stop());
  afterAll(async () => {
    await jsm?.streams.delete(streamName).catch(() => undefined);
    await jsm?.streams.delete(deadLetterStreamName).catch(() => undefined);
    await nc?.close();
  });

  /** Another context records a warehouse fact; the relay would publish it like this. */
  async function happened(type: Input['type'], parcelId: string): Promise<StoredEvent> {
    const { events } = await store.appendToStream(`warehouse-${parcelId.replaceAll('/', '_')}`, [{ type, data: { parcelId } }], { expectedVersion: ANY });
    const event = events[0]!;
    await js.publish(eventSubjectFor(event.streamId, event.type, subjectPrefix), encodeEnvelope(toEnvelope(event)), { msgID: event.id });
    return event;
  }
  const parcel = async (parcelId: string) => (await store.readStream(`parcel-${parcelId}`)).map((e) => e.type);
  async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  async function deadLetters(): Promise<{ reason: string | undefined; eventId: string | undefined; error: string | undefined; deliveries: string | undefined }[]> {
    const info = await jsm.streams.info(deadLetterStreamName);
    const found = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq += 1) {
      const msg = await jsm.streams.getMessage(deadLetterStreamName, { seq });
      if (msg) found.push({ reason: msg.header.get(DeadLetterHeaders.Reason), eventId: msg.header.get(DeadLetterHeaders.EventId), error: msg.header.get(DeadLetterHeaders.ErrorMessage), deliveries: msg.header.get(DeadLetterHeaders.DeliveryCount) });
    }
    return found;
  }

  it('a fact delivered before the one it depends on waits for it, then is handled: nothing refused, nothing dead-lettered', async () => {
    const courier = await happened('CourierArrived', 'p1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await parcel('p1')).toEqual([]);
    await happened('ItemsPicked', 'p1');
    await until('the parcel shipped', async () => (await parcel('p1')).length === 2);
    expect(await parcel('p1')).toEqual(['ParcelPacked', 'ParcelShipped']);
    expect(warnings).not.toContain('workflow command refused');
    expect((await deadLetters()).filter((d) => d.eventId === courier.id)).toEqual([]);
  });

  it('a refusal that retrying cannot change is recorded once and the event is done', async () => {
    await happened('ItemsPicked', 'p2');
    await happened('CourierArrived', 'p2');
    await until('the parcel shipped', async () => (await parcel('p2')).length === 2);
    const again = await happened('CourierArrivedAgain', 'p2');
    await until('the refusal', async () => warnings.includes('workflow command refused'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(warnings.filter((w) => w === 'workflow command refused')).toHaveLength(1);
    expect(await parcel('p2')).toEqual(['ParcelPacked', 'ParcelShipped']);
    expect((await deadLetters()).filter((d) => d.eventId === again.id)).toEqual([]);
  });

  it('a dependency that is down is retried until it is back (not dead-lettered)', async () => {
    sendFailures = 3;
    const picked = await happened('ItemsPicked', 'p3');
    await until('the parcel packed', async () => (await parcel('p3')).length === 1);
    expect(sendFailures).toBe(0);
    expect((await deadLetters()).filter((d) => d.eventId === picked.id)).toEqual([]);
  });

  it('poison is dead-lettered at its first delivery with the reason', async () => {
    const forged = await happened('ItemsPicked', '../p4');
    await until('the dead letter', async () => (await deadLetters()).some((d) => d.eventId === forged.id));
    expect((await deadLetters()).filter((d) => d.eventId === forged.id)).toEqual([{ reason: 'poison', eventId: forged.id, error: 'parcel id "../p4" names no parcel stream', deliveries: '1' }]);
  });

  it('a fact that never comes is waited for a bounded number of deliveries, then dead-lettered saying what it waited for', async () => {
    const courier = await happened('CourierArrived', 'p5');
    await until('the dead letter', async () => (await deadLetters()).some((d) => d.eventId === courier.id));
    const [parked] = (await deadLetters()).filter((d) => d.eventId === courier.id);
    expect(parked).toMatchObject({ reason: 'poison', deliveries: '6' });
    expect(parked?.error).toMatch(/gave up after 6 deliveries: .*parcel p5 is not packed yet/);
  });
});
