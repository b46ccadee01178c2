import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { createInProcessCommandBus } from '../commands/in-process.js';
import { encodeEnvelope, toEnvelope } from '../envelope.js';
import { ensureEventStream } from '../stream.js';
import { eventFilter, eventSubjectFor } from '../subjects.js';
import { storedEvent, uniqueSuffix, waitFor } from '../test-support/events.js';
import { consumeEvents, type EventConsumer, PoisonMessageError } from './consumer.js';
import { createDeadLetterAdmin, DEAD_LETTER_CONTEXT, DeadLetterNotFoundError, registerDeadLetterCommands } from './dead-letters.js';

describe('dead letters: list, show, redrive (JetStream)', () => {
  const suffix = uniqueSuffix();
  const subjectPrefix = `d${suffix}`;
  const streamName = `D_EVENTS_${suffix}`;
  const deadLetterStreamName = `D_DLQ_${suffix}`;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let consumer: EventConsumer | undefined;

  beforeAll(async () => {
    if (!(await requireNats())) throw new Error('NATS JetStream must run on 127.0.0.1:4222 for this suite');
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { subjectPrefix, streamName, deadLetterStreamName });
  });
  afterAll(async () => {
    await consumer?.stop();
    await jsm?.streams.delete(streamName).catch(() => undefined);
    await jsm?.streams.delete(deadLetterStreamName).catch(() => undefined);
    await nc?.close();
  });

  it('a parked event is listed with its reason, shown with its payload, and redriven to its consumer only, which handles it', async () => {
    const event = storedEvent('parcel-1', 'ParcelShipped', { parcelId: 'p1' });
    await js.publish(eventSubjectFor(event.streamId, event.type, subjectPrefix), encodeEnvelope(toEnvelope(event)), { msgID: event.id });
    // Refused as poison until an operator fixed what made it so (here: a key that was missing from the trust list).
    let trusted = false;
    const handled: string[] = [];
    consumer = await consumeEvents({
      js,
      jsm,
      streamName,
      deadLetterStreamName,
      subjectPrefix,
      durableName: 'shipping',
      filterSubjects: [eventFilter({ category: 'parcel' }, subjectPrefix)],
      handler: ({ event: received, deliveryCount }) => {
        if (!trusted) throw new PoisonMessageError('signed by a key not in the trust list');
        handled.push(`${received.id}#${deliveryCount}`);
      },
    });
    const bus = createInProcessCommandBus();
    await registerDeadLetterCommands(bus, createDeadLetterAdmin({ js, jsm, deadLetterStreamName, subjectPrefix }));

    type Listed = { deadLetters: Array<{ id: string; reason: string; consumer: string; eventId: string; error: string; originalSubject: string }>; next: string | null };
    let listed: Listed = { deadLetters: [], next: null };
    for (let i = 0; i < 100 && listed.deadLetters.length === 0; i += 1) {
      listed = await bus.send<Listed>(DEAD_LETTER_CONTEXT, 'list', {});
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(listed.deadLetters).toEqual([
      expect.objectContaining({ reason: 'poison', consumer: 'shipping', eventId: event.id, error: 'signed by a key not in the trust list', originalSubject: `${subjectPrefix}.evt.parcel.ParcelShipped` }),
    ]);
    const id = listed.deadLetters[0]!.id;
    const shown = await bus.send<{ payload: { id: string; data: unknown } }>(DEAD_LETTER_CONTEXT, 'get', { id });
    expect(shown.payload).toMatchObject({ id: event.id, data: { parcelId: 'p1' } });

    trusted = true;
    const redriven = await bus.send<{ consumer: string; eventId: string }>(DEAD_LETTER_CONTEXT, 'redrive', { id });
    expect(redriven).toMatchObject({ consumer: 'shipping', eventId: event.id });
    await waitFor(() => handled.length === 1, { what: 'the redriven event handled' });
    expect(handled).toEqual([`${event.id}#1`]);
    expect((await bus.send<Listed>(DEAD_LETTER_CONTEXT, 'list', {})).deadLetters).toEqual([]);
    // Redriven once: it is no longer a dead letter.
    await expect(createDeadLetterAdmin({ js, jsm, deadLetterStreamName, subjectPrefix }).redrive(Number(id))).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    await expect(bus.send(DEAD_LETTER_CONTEXT, 'get', { id })).rejects.toMatchObject({ remoteName: 'NotFoundError' });
    await bus.close();
  });

  it('a redriven event that fails again is parked again, with its original subject and the new reason', async () => {
    const event = storedEvent('crate-1', 'CrateLost', { crateId: 'c1' });
    await js.publish(eventSubjectFor(event.streamId, event.type, subjectPrefix), encodeEnvelope(toEnvelope(event)), { msgID: event.id });
    let attempt = 0;
    const crates = await consumeEvents({
      js,
      jsm,
      streamName,
      deadLetterStreamName,
      subjectPrefix,
      durableName: 'crates',
      filterSubjects: [eventFilter({ category: 'crate' }, subjectPrefix)],
      handler: () => {
        attempt += 1;
        throw new PoisonMessageError(`refused, attempt ${attempt}`);
      },
    });
    const admin = createDeadLetterAdmin({ js, jsm, deadLetterStreamName, subjectPrefix });
    const mine = async () => (await admin.list()).deadLetters.filter((d) => d.consumer === 'crates');
    let parked = await mine();
    for (let i = 0; i < 100 && parked.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      parked = await mine();
    }
    await admin.redrive(Number(parked[0]!.id));
    for (let i = 0; i < 100 && (parked.length !== 1 || parked[0]!.error !== 'refused, attempt 2'); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      parked = await mine();
    }
    await crates.stop();
    expect(parked).toEqual([expect.objectContaining({ reason: 'poison', eventId: event.id, error: 'refused, attempt 2', originalSubject: `${subjectPrefix}.evt.crate.CrateLost` })]);
  });
});
