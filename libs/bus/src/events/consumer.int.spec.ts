import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { natsUrl, requireNats } from '@gatehouse/testing';
import type { StoredEvent } from '@gatehouse/eventstore';
import { z } from 'zod';
import { encodeEnvelope, toEnvelope } from '../envelope.js';
import { ensureEventStream } from '../stream.js';
import { eventFilter, eventSubjectFor } from '../subjects.js';
import { storedEvent, uniqueSuffix, waitFor } from '../test-support/events.js';
import { DeadLetterHeaders, FIRST_RETRY_DELAY_MS, PoisonMessageError, consumeEvents, type EventConsumer, type ReceivedEvent } from './consumer.js';
import { createJetStreamEventConsumerFactory } from './factory.js';

const describeNats = (await requireNats()) ? describe : describe.skip;

describeNats('consumeEvents (JetStream)', () => {
  const suffix = uniqueSuffix();
  const subjectPrefix = `t${suffix}`;
  const streamName = `T_EVENTS_${suffix}`;
  const deadLetterStreamName = `T_DLQ_${suffix}`;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const running: EventConsumer[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, { subjectPrefix, streamName, deadLetterStreamName });
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
  });

  afterAll(async () => {
    await jsm?.streams.delete(streamName).catch(() => undefined);
    await jsm?.streams.delete(deadLetterStreamName).catch(() => undefined);
    await nc?.close();
  });

  async function publish(event: StoredEvent): Promise<void> {
    await js.publish(eventSubjectFor(event.streamId, event.type, subjectPrefix), encodeEnvelope(toEnvelope(event)), { msgID: event.id });
  }

  async function start(options: Omit<Parameters<typeof consumeEvents>[0], 'js' | 'jsm' | 'streamName' | 'subjectPrefix'>): Promise<EventConsumer> {
    const consumer = await consumeEvents({ js, jsm, streamName, subjectPrefix, ackWaitMs: 5_000, retryDelayMs: () => 50, ...options } as Parameters<typeof consumeEvents>[0]);
    running.push(consumer);
    return consumer;
  }

  async function deadLetters(): Promise<StoredMsg[]> {
    const info = await jsm.streams.info(deadLetterStreamName);
    const out: StoredMsg[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
      const msg = await jsm.streams.getMessage(deadLetterStreamName, { seq });
      if (msg) out.push(msg);
    }
    return out;
  }

  it('hands each event, parsed and in stream order, to the handler and acks it', async () => {
    const events = [1, 2, 3].map((n) => storedEvent(`happy-${n}`, 'ChangeRequested', { n }));
    for (const event of events) await publish(event);
    const received: ReceivedEvent[] = [];
    await start({ durableName: 'happy', filterSubjects: [eventFilter({ category: 'happy' }, subjectPrefix)], handler: (r) => void received.push(r) });
    await waitFor(() => received.length === 3, { what: '3 events' });
    expect(received.map((r) => r.event.id)).toEqual(events.map((e) => e.id));
    expect(received[0]!.event).toEqual(events[0]);
    expect(received[0]!.event.globalPosition).toBe(events[0]!.globalPosition);
    expect(received.every((r) => r.deliveryCount === 1)).toBe(true);
  });

  it('redelivers after a handler failure and succeeds on the next attempt', async () => {
    const event = storedEvent('retry-1', 'ChangeRequested');
    await publish(event);
    const attempts: number[] = [];
    await start({
      durableName: 'retry',
      filterSubjects: [eventFilter({ category: 'retry' }, subjectPrefix)],
      handler: ({ deliveryCount }) => {
        attempts.push(deliveryCount);
        if (deliveryCount === 1) throw new Error('transient: database busy');
      },
    });
    await waitFor(() => attempts.length === 2, { what: 'the redelivery' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(attempts).toEqual([1, 2]);
    expect(await deadLetters()).toHaveLength(0);
  });

  it('a PoisonMessageError is parked at its first attempt with the reason; a transient failure backs off by default instead', async () => {
    const forged = storedEvent('verdict-1', 'ChangeRequested', { title: 'forged' });
    const flaky = storedEvent('verdict-2', 'ChangeRequested', { title: 'flaky' });
    for (const event of [forged, flaky]) await publish(event);
    const attempts: string[] = [];
    const retries: number[] = [];
    // The default retry delay (no retryDelayMs): the first back-off is about a second, not 50 ms.
    const consumer = await consumeEvents({
      js,
      jsm,
      streamName,
      subjectPrefix,
      durableName: 'verdict',
      filterSubjects: [eventFilter({ category: 'verdict' }, subjectPrefix)],
      hooks: { onRetry: (r) => retries.push(r.delayMs) },
      handler: ({ event, deliveryCount }) => {
        attempts.push(`${event.id}#${deliveryCount}`);
        if (event.id === forged.id) throw new PoisonMessageError('signed by an unknown key');
        if (deliveryCount === 1) throw new Error('approvals unavailable');
      },
    });
    running.push(consumer);
    await waitFor(() => attempts.includes(`${flaky.id}#2`), { what: 'the retried transient failure', timeoutMs: 10_000 });
    expect(attempts.filter((a) => a.startsWith(forged.id))).toEqual([`${forged.id}#1`]);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toBeGreaterThanOrEqual(FIRST_RETRY_DELAY_MS / 2);
    expect(retries[0]).toBeLessThanOrEqual(FIRST_RETRY_DELAY_MS);
    let parked: StoredMsg[] = [];
    for (let i = 0; i < 100 && parked.length === 0; i += 1) {
      parked = (await deadLetters()).filter((m) => m.header.get(DeadLetterHeaders.Consumer) === 'verdict');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(parked).toHaveLength(1);
    expect(parked[0]!.header.get(DeadLetterHeaders.Reason)).toBe('poison');
    expect(parked[0]!.header.get(DeadLetterHeaders.EventId)).toBe(forged.id);
    expect(parked[0]!.header.get(DeadLetterHeaders.ErrorMessage)).toBe('signed by an unknown key');
    expect(parked[0]!.header.get(DeadLetterHeaders.DeliveryCount)).toBe('1');
  });

  it('parks poison messages in the DLQ with the reason while later messages still flow', async () => {
    const schemas = { ChangeRequested: z.object({ title: z.string() }) };
    const garbageSubject = `${subjectPrefix}.evt.poison.ChangeRequested`;
    await js.publish(garbageSubject, new TextEncoder().encode('{not json'), { msgID: `garbage-${suffix}` });
    const badData = storedEvent('poison-1', 'ChangeRequested', { title: 42 });
    const alwaysFails = storedEvent('poison-2', 'ChangeRequested', { title: 'explodes' });
    const fine = [storedEvent('poison-3', 'ChangeRequested', { title: 'ok 1' }), storedEvent('poison-4', 'ChangeRequested', { title: 'ok 2' })];
    for (const event of [badData, alwaysFails, ...fine]) await publish(event);

    const handled: string[] = [];
    const titles: string[] = [];
    const attemptsOfPoison: number[] = [];
    // Called directly (not through start()) so the schema types the handler's event.data.
    const consumer = await consumeEvents({
      js,
      jsm,
      streamName,
      subjectPrefix,
      ackWaitMs: 5_000,
      retryDelayMs: () => 50,
      durableName: 'poison',
      filterSubjects: [eventFilter({ category: 'poison' }, subjectPrefix)],
      maxDeliver: 3,
      dataSchemas: schemas,
      handler: ({ event, deliveryCount }) => {
        if (event.id === alwaysFails.id) {
          attemptsOfPoison.push(deliveryCount);
          throw new TypeError('cannot schedule: window table corrupt');
        }
        titles.push(event.data.title); // typed as string by the schema
        handled.push(event.id);
      },
    });
    running.push(consumer);
    await waitFor(() => handled.length === 2, { what: 'the healthy events' });
    expect(handled).toEqual(fine.map((e) => e.id));
    expect(titles).toEqual(['ok 1', 'ok 2']);
    await waitFor(() => attemptsOfPoison.length === 3, { what: 'three attempts of the poison event' });

    let parked: StoredMsg[] = [];
    for (let i = 0; i < 100 && parked.length < 3; i += 1) {
      parked = (await deadLetters()).filter((m) => m.header.get(DeadLetterHeaders.Consumer) === 'poison');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const byReason = new Map(parked.map((m) => [m.header.get(DeadLetterHeaders.Reason), m]));
    expect([...byReason.keys()].sort()).toEqual(['handler_failed', 'invalid_data', 'invalid_envelope']);

    const garbage = byReason.get('invalid_envelope')!;
    expect(garbage.subject).toBe(`${subjectPrefix}.dlq.poison.ChangeRequested`);
    expect(garbage.header.get(DeadLetterHeaders.OriginalSubject)).toBe(garbageSubject);
    expect(garbage.header.get(DeadLetterHeaders.DeliveryCount)).toBe('1');
    expect(new TextDecoder().decode(garbage.data)).toBe('{not json');

    const failed = byReason.get('handler_failed')!;
    expect(failed.header.get(DeadLetterHeaders.DeliveryCount)).toBe('3');
    expect(failed.header.get(DeadLetterHeaders.ErrorName)).toBe('TypeError');
    expect(failed.header.get(DeadLetterHeaders.ErrorMessage)).toBe('cannot schedule: window table corrupt');
    expect(failed.header.get(DeadLetterHeaders.EventId)).toBe(alwaysFails.id);
    expect(failed.header.get(DeadLetterHeaders.Consumer)).toBe('poison');

    expect(byReason.get('invalid_data')!.header.get(DeadLetterHeaders.EventId)).toBe(badData.id);

    // Nothing left pending or awaiting an ack: the poison did not block the consumer.
    let info = await jsm.consumers.info(streamName, 'poison');
    for (let i = 0; i < 50 && info.num_pending + info.num_ack_pending > 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      info = await jsm.consumers.info(streamName, 'poison');
    }
    expect(info.num_pending + info.num_ack_pending).toBe(0);
  });

  it('resumes a durable after restart without reprocessing acked messages', async () => {
    const first = [1, 2, 3].map((n) => storedEvent(`resume-${n}`, 'ChangeRequested'));
    for (const event of first) await publish(event);
    const seenByFirst: string[] = [];
    const consumer = await start({ durableName: 'resume', filterSubjects: [eventFilter({ category: 'resume' }, subjectPrefix)], handler: ({ event }) => void seenByFirst.push(event.id) });
    await waitFor(() => seenByFirst.length === 3, { what: 'first batch' });
    await consumer.stop();

    const second = [4, 5].map((n) => storedEvent(`resume-${n}`, 'ChangeRequested'));
    for (const event of second) await publish(event);
    const seenBySecond: string[] = [];
    await start({ durableName: 'resume', filterSubjects: [eventFilter({ category: 'resume' }, subjectPrefix)], handler: ({ event }) => void seenBySecond.push(event.id) });
    await waitFor(() => seenBySecond.length === 2, { what: 'second batch' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seenByFirst).toEqual(first.map((e) => e.id));
    expect(seenBySecond).toEqual(second.map((e) => e.id));
  });

  it('the JetStream EventConsumerFactory subscribes by category and type like the in-process one', async () => {
    const wanted = storedEvent('factory-1', 'ChangeApproved');
    await publish(storedEvent('factory-1', 'ChangeRequested'));
    await publish(wanted);
    const factory = createJetStreamEventConsumerFactory({ js, jsm, streamName, subjectPrefix, ackWaitMs: 5_000 });
    const received: string[] = [];
    running.push(await factory.consume({ name: 'factory', categories: ['factory'], eventTypes: ['ChangeApproved'], handler: ({ event }) => void received.push(event.id) }));
    await waitFor(() => received.length === 1, { what: 'the filtered event' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([wanted.id]);
  });
  it('on a server that takes one filter subject, narrows a broader one by subject: only the selected events are read, the others acked unparsed', async () => {
    const wanted = [storedEvent('narrowA-1', 'Done'), storedEvent('narrowB-2', 'Done')];
    await publish(storedEvent('narrowA-1', 'Started'));
    await publish(wanted[0]!);
    await publish(storedEvent('narrowC-3', 'Done'));
    // Not an event at all, on a subject the subscription did not select: skipped unread, not parked.
    await js.publish(`${subjectPrefix}.evt.narrowA.Started`, new TextEncoder().encode('{not json'), { msgID: `narrow-garbage-skipped-${suffix}` });
    // The same garbage on a selected subject is read, and parked.
    await js.publish(`${subjectPrefix}.evt.narrowB.Done`, new TextEncoder().encode('{not json'), { msgID: `narrow-garbage-read-${suffix}` });
    await publish(wanted[1]!);
    const parked: string[] = [];
    const factory = createJetStreamEventConsumerFactory({ js, jsm, streamName, deadLetterStreamName, subjectPrefix, ackWaitMs: 5_000, multipleFilterSubjects: false, hooks: { onDeadLetter: ({ subject }) => void parked.push(subject) } });
    const durable: string[] = [];
    running.push(await factory.consume({ name: 'narrowed', categories: ['narrowA', 'narrowB'], eventTypes: ['Done'], handler: ({ event }) => void durable.push(event.id) }));
    const replayed: string[] = [];
    running.push(await factory.consume({ name: 'narrowed-replay', replay: true, categories: ['narrowA', 'narrowB'], eventTypes: ['Done'], handler: ({ event }) => void replayed.push(event.id) }));
    await waitFor(() => durable.length === 2 && replayed.length === 2, { what: 'the selected events' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(durable).toEqual(wanted.map((e) => e.id));
    expect(replayed).toEqual(wanted.map((e) => e.id));
    // Reported by each of the two consumers (the durable parks it, the replay skips it); the unselected garbage by neither.
    expect(parked).toEqual([`${subjectPrefix}.evt.narrowB.Done`, `${subjectPrefix}.evt.narrowB.Done`]);
    const info = await jsm.consumers.info(streamName, 'narrowed');
    // Several categories, one type: the type's subject in every category.
    expect(info.config.filter_subject).toBe(`${subjectPrefix}.evt.*.Done`);
    expect(info.num_ack_pending + info.num_pending).toBe(0);
  });

  it('reads from the subject which types have no data schema, and skips them unparsed', async () => {
    const wanted = storedEvent('schemaSkip-1', 'Approved', { by: 'bob' });
    await js.publish(`${subjectPrefix}.evt.schemaSkip.Ignored`, new TextEncoder().encode('{not json'), { msgID: `schema-skip-garbage-${suffix}` });
    await publish(wanted);
    const parked: string[] = [];
    const received: string[] = [];
    await start({ durableName: 'schema-skip', filterSubjects: [eventFilter({ category: 'schemaSkip' }, subjectPrefix)], dataSchemas: { Approved: z.object({ by: z.string() }) }, hooks: { onDeadLetter: ({ subject }) => void parked.push(subject) }, handler: ({ event }) => void received.push(event.id) });
    await waitFor(() => received.length === 1, { what: 'the event with a schema' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([wanted.id]);
    expect(parked).toEqual([]);
  });

  describe('replay: true (ordered ephemeral consumer)', () => {
    async function consumerNames(): Promise<string[]> {
      const names: string[] = [];
      for await (const info of jsm.consumers.list(streamName)) names.push(info.name);
      return names.sort();
    }

    it('sees every matching event from the start, then live ones, and leaves no consumer behind after stop', async () => {
      const wanted = [1, 2, 3].map((n) => storedEvent(`replay-${n}`, 'ChangeRequested', { n }));
      await publish(storedEvent('replay-1', 'ChangeApproved'));
      await publish(storedEvent('other-1', 'ChangeRequested'));
      for (const event of wanted.slice(0, 2)) await publish(event);
      const before = await consumerNames();
      const factory = createJetStreamEventConsumerFactory({ js, jsm, streamName, subjectPrefix });
      const received: ReceivedEvent[] = [];
      const consumer = await factory.consume({ name: 'replay-rebuild', replay: true, categories: ['replay'], eventTypes: ['ChangeRequested'], handler: (r) => void received.push(r) });
      await waitFor(() => received.length === 2, { what: 'the replayed events' });
      expect((await consumerNames()).length).toBe(before.length + 1);
      await publish(wanted[2]!);
      await waitFor(() => received.length === 3, { what: 'the live event' });
      await consumer.stop();
      expect(received.map((r) => r.event.id)).toEqual(wanted.map((e) => e.id));
      expect(received[0]!.event).toEqual(wanted[0]);
      expect(await consumerNames()).toEqual(before);

      // A second start replays the whole history again.
      const again: string[] = [];
      const second = await factory.consume({ name: 'replay-rebuild', replay: true, categories: ['replay'], eventTypes: ['ChangeRequested'], handler: ({ event }) => void again.push(event.id) });
      await waitFor(() => again.length === 3, { what: 'the second replay' });
      await second.stop();
      expect(again).toEqual(wanted.map((e) => e.id));
      expect(await consumerNames()).toEqual(before);
    });

    it('retries a failing handler in place, reports it and keeps flowing; garbage is skipped', async () => {
      await js.publish(`${subjectPrefix}.evt.replayPoison.ChangeRequested`, new TextEncoder().encode('{not json'), { msgID: `replay-garbage-${suffix}` });
      const poison = storedEvent('replayPoison-1', 'ChangeRequested', { title: 'poison' });
      const fine = storedEvent('replayPoison-2', 'ChangeRequested', { title: 'fine' });
      await publish(poison);
      await publish(fine);
      const reasons: string[] = [];
      const attempts: string[] = [];
      const factory = createJetStreamEventConsumerFactory({ js, jsm, streamName, subjectPrefix, maxDeliver: 2, hooks: { onDeadLetter: (d) => reasons.push(d.reason) } });
      const consumer = await factory.consume({
        name: 'replay-poison',
        replay: true,
        categories: ['replayPoison'],
        dataSchemas: { ChangeRequested: z.object({ title: z.string() }) },
        handler: ({ event, deliveryCount }) => {
          attempts.push(`${event.data.title}#${deliveryCount}`);
          if (event.data.title === 'poison') throw new Error('boom');
        },
      });
      running.push(consumer);
      await waitFor(() => attempts.includes('fine#1'), { what: 'the healthy event' });
      expect(attempts).toEqual(['poison#1', 'poison#2', 'fine#1']);
      expect(reasons).toEqual(['invalid_envelope', 'handler_failed']);
    });
  });
});
