import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { ensureEventStream } from '../stream.js';
import { createFakeEventStore } from '../test-support/fake-store.js';
import { failingOnce, readWholeStream } from '../test-support/jetstream.js';
import { uniqueSuffix, waitFor } from '../test-support/events.js';
import { startRelay, type Relay } from './relay.js';

const describeNats = (await requireNats()) ? describe : describe.skip;

/**
 * Relay semantics against real JetStream with an in-memory store (fast, and
 * lets us inject failures). The crash test with PostgreSQL and a child
 * process is relay.crash.int.spec.ts.
 */
describeNats('outbox relay → JetStream', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const created: string[] = [];
  const relays: Relay[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  });

  afterAll(async () => {
    for (const name of created) await jsm.streams.delete(name).catch(() => undefined);
    await nc?.close();
  });

  async function freshStreams() {
    const suffix = uniqueSuffix();
    const names = { subjectPrefix: `t${suffix}`, streamName: `T_RELAY_${suffix}`, deadLetterStreamName: `T_RELAY_DLQ_${suffix}` };
    created.push(names.streamName, names.deadLetterStreamName);
    await ensureEventStream(jsm, names);
    return names;
  }

  async function seed(store: ReturnType<typeof createFakeEventStore>, count: number, streams = 7): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      await store.appendToStream(`changeRequest-${i % streams}`, [{ type: i % 2 === 0 ? 'ChangeRequested' : 'ChangeApproved', data: { i } }]);
    }
  }

  it('publishes every event once, in commit order, with Nats-Msg-Id = event id, then follows live appends', async () => {
    const { subjectPrefix, streamName } = await freshStreams();
    const store = createFakeEventStore();
    await seed(store, 2_000);
    const checkpoints: bigint[] = [];
    const relay = startRelay({ store, js, checkpointName: 'relay', subjectPrefix, maxInFlight: 64, pollIntervalMs: 20, hooks: { onCheckpoint: (p) => checkpoints.push(p) } });
    relays.push(relay);
    await relay.waitUntilCaughtUp();
    await seed(store, 50);
    await relay.waitUntilCaughtUp();

    const streamed = await readWholeStream(js, streamName);
    expect(streamed).toHaveLength(2_050);
    expect(streamed.map((m) => m.msgId)).toEqual(store.events.map((e) => e.id));
    expect(streamed.map((m) => m.id)).toEqual(store.events.map((e) => e.id));
    expect(streamed[1]!.subject).toBe(`${subjectPrefix}.evt.changeRequest.ChangeApproved`);
    expect(await store.readCheckpoint('relay')).toBe(2_050n);
    // Checkpoints only move forward.
    expect([...checkpoints].sort((a, b) => (a < b ? -1 : 1))).toEqual(checkpoints);
    expect(relay.metrics()).toMatchObject({ published: 2_050, duplicates: 0, caughtUp: true, ackedPosition: 2_050n });
  });

  it('after a crash that lost the checkpoint, re-published events are absorbed as duplicates', async () => {
    const { subjectPrefix, streamName } = await freshStreams();
    const store = createFakeEventStore();
    await seed(store, 1_000);
    const first = startRelay({ store, js, checkpointName: 'relay', subjectPrefix });
    await first.waitUntilCaughtUp();
    await first.stop();
    // Simulate dying after the acks but before the checkpoint write.
    await store.storeCheckpoint('relay', 400n);
    await seed(store, 100);

    const second = startRelay({ store, js, checkpointName: 'relay', subjectPrefix });
    relays.push(second);
    await second.waitUntilCaughtUp();
    expect(second.metrics()).toMatchObject({ duplicates: 600, published: 100 });
    const streamed = await readWholeStream(js, streamName);
    expect(streamed.map((m) => m.id)).toEqual(store.events.map((e) => e.id));
  });

  it('keeps commit order when one publish in a full window fails (server rejects the ones behind it)', async () => {
    const { subjectPrefix, streamName } = await freshStreams();
    const store = createFakeEventStore();
    await seed(store, 500);
    const lost = new Set([store.events[100]!.id, store.events[300]!.id]);
    const errors: unknown[] = [];
    const relay = startRelay({ store, js: failingOnce(js, lost), checkpointName: 'relay', subjectPrefix, maxInFlight: 64, retryDelayMs: 10, hooks: { onError: (e) => errors.push(e) } });
    relays.push(relay);
    await relay.waitUntilCaughtUp();
    expect(errors).toHaveLength(2);
    const streamed = await readWholeStream(js, streamName);
    expect(streamed.map((m) => m.id)).toEqual(store.events.map((e) => e.id));
  });

  it('without enforceOrder, the same failure stores later events ahead of the lost one (why the option defaults on)', async () => {
    const { subjectPrefix, streamName } = await freshStreams();
    const store = createFakeEventStore();
    await seed(store, 300);
    const relay = startRelay({ store, js: failingOnce(js, new Set([store.events[100]!.id])), checkpointName: 'relay', subjectPrefix, maxInFlight: 64, retryDelayMs: 10, enforceOrder: false });
    relays.push(relay);
    await relay.waitUntilCaughtUp();
    const streamed = await readWholeStream(js, streamName);
    expect(new Set(streamed.map((m) => m.id))).toEqual(new Set(store.events.map((e) => e.id)));
    expect(streamed.map((m) => m.id)).not.toEqual(store.events.map((e) => e.id));
  });

  it('does not lose a wake-up that arrives while a pass is reading', async () => {
    const { subjectPrefix } = await freshStreams();
    const inner = createFakeEventStore();
    await seed(inner, 10);
    // Appends once a pass has read to the end of the log but before it returns: too late for that
    // pass, so only the wake-up it raises can get the event published before the next poll.
    let appendAfterRead: (() => Promise<unknown>) | undefined;
    const store = {
      ...inner,
      readAll: (options?: Parameters<typeof inner.readAll>[0]) =>
        (async function* () {
          yield* inner.readAll(options);
          const append = appendAfterRead;
          appendAfterRead = undefined;
          await append?.();
        })(),
    };
    const pollIntervalMs = 1_000;
    const relay = startRelay({ store, js, checkpointName: 'relay', subjectPrefix, pollIntervalMs });
    relays.push(relay);
    await waitFor(() => relay.metrics().published === 10, { what: 'the seeded events' });
    // Let the re-checks after catching up back off to the poll interval: the next pass is a poll that finds nothing.
    await new Promise((resolve) => setTimeout(resolve, 2 * pollIntervalMs));

    let appendedAt = 0;
    appendAfterRead = async () => {
      appendedAt = performance.now();
      await seed(inner, 1);
    };
    await waitFor(() => relay.metrics().published === 11, { what: 'the event appended during a pass', timeoutMs: 3 * pollIntervalMs });
    expect(performance.now() - appendedAt).toBeLessThan(pollIntervalMs / 2);
  });

  it('polls a store that cannot wake it', async () => {
    const { subjectPrefix } = await freshStreams();
    const store = createFakeEventStore({ wakeUps: false });
    expect(store.watchAppends).toBeUndefined();
    const relay = startRelay({ store, js, checkpointName: 'relay', subjectPrefix, pollIntervalMs: 20 });
    relays.push(relay);
    await relay.waitUntilCaughtUp();
    await seed(store, 5);
    await waitFor(() => relay.metrics().published === 5, { what: 'polled events' });
  });

  it('stops cleanly and stores the checkpoint of what was acknowledged', async () => {
    const { subjectPrefix } = await freshStreams();
    const store = createFakeEventStore();
    await seed(store, 3_000);
    const relay = startRelay({ store, js, checkpointName: 'relay', subjectPrefix, checkpointEvery: 1_000_000 });
    await waitFor(() => relay.metrics().published > 100, { what: 'some progress' });
    await relay.stop();
    const { ackedPosition } = relay.metrics();
    expect(ackedPosition).toBeGreaterThan(0n);
    expect(await store.readCheckpoint('relay')).toBe(ackedPosition);
  });
});
