/**
 * Relay process for the crash test (relay.crash.int.spec.ts): runs startRelay
 * until SIGTERM (clean stop) or SIGKILL (the crash under test), reporting
 * progress as JSON lines on stdout. Configured by environment only.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { startRelay } from '../relay/relay.js';
import { openTestStore } from './store.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`relay-child: ${name} is required`);
  return value;
};
const emit = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
};

const nc = await connect({ servers: env('NATS_URL'), noAsyncTraces: true });
const store = await openTestStore(env('DATABASE_URL'), env('STORE_SCHEMA'));
const relay = startRelay({
  store,
  js: jetstream(nc),
  checkpointName: env('CHECKPOINT_NAME'),
  subjectPrefix: env('SUBJECT_PREFIX'),
  checkpointEvery: Number(process.env.CHECKPOINT_EVERY ?? 1_000),
  hooks: {
    onAcked: ({ lastPosition }) => emit({ acked: lastPosition }),
    onCaughtUp: (position) => emit({ caughtUp: position, metrics: relay.metrics() }),
    onError: (error) => emit({ error: String(error) }),
  },
});
emit({ started: true });

process.once('SIGTERM', () => {
  void (async () => {
    await relay.stop();
    emit({ stopped: true, metrics: relay.metrics() });
    await store.close();
    await nc.close();
    process.exit(0);
  })();
});
