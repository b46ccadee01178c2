import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { natsUrl, requireNats } from '@gatehouse/testing';
import { DEFAULT_DUPLICATE_WINDOW_MS, ensureEventStream } from './stream.js';
import { uniqueSuffix } from './test-support/events.js';

const describeNats = (await requireNats()) ? describe : describe.skip;

describeNats('ensureEventStream', () => {
  const suffix = uniqueSuffix();
  const names = { subjectPrefix: `t${suffix}`, streamName: `T_STREAMS_${suffix}`, deadLetterStreamName: `T_STREAMS_DLQ_${suffix}` };
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl() });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await jsm?.streams.delete(names.streamName).catch(() => undefined);
    await jsm?.streams.delete(names.deadLetterStreamName).catch(() => undefined);
    await nc?.close();
  });

  it('creates both streams with file storage, the prefix subjects and a 2 h duplicate window; idempotent under concurrent calls', async () => {
    const results = await Promise.all([ensureEventStream(jsm, names), ensureEventStream(jsm, names), ensureEventStream(jsm, names)]);
    const { events, deadLetters } = results[0]!;
    expect(events.config).toMatchObject({ name: names.streamName, subjects: [`t${suffix}.evt.>`], storage: 'file', duplicate_window: DEFAULT_DUPLICATE_WINDOW_MS * 1_000_000 });
    expect(deadLetters.config).toMatchObject({ name: names.deadLetterStreamName, subjects: [`t${suffix}.dlq.>`], storage: 'file' });
  });

  it('updates the mutable settings of an existing stream', async () => {
    const { events } = await ensureEventStream(jsm, { ...names, duplicateWindowMs: 60_000 });
    expect(events.config.duplicate_window).toBe(60_000 * 1_000_000);
  });
});
