import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { EventStore, StoredEvent } from '@gatehouse/eventstore';
import { isolatedSchema, natsUrl, requireNats, requirePostgres, visibleHead } from '@gatehouse/testing';
import { ensureEventStream } from '../stream.js';
import { openTestStore } from '../test-fixtures/store.js';
import { uniqueSuffix } from '../test-support/events.js';
import { readWholeStream } from '../test-support/jetstream.js';

const EVENT_COUNT = 20_000;
const APPEND_BATCH = 500;

const postgres = await requirePostgres();
const ready = (await requireNats()) && postgres.available;
const describeIf = ready ? describe : describe.skip;

const busRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Under node_modules so the compiled child resolves @nats-io/* and @gatehouse/* from the workspace, and git ignores it.
const childBuild = path.join(busRoot, 'node_modules/.cache/relay-child');

/** Compile the bus sources (and the eventstore, when it has sources to build) for a plain `node` child. */
function buildChild(): string {
  mkdirSync(childBuild, { recursive: true });
  // Package scope stops at node_modules: declare ESM for the compiled files.
  writeFileSync(path.join(childBuild, 'package.json'), '{ "type": "module" }\n');
  execFileSync('npx', ['swc', 'src', '-d', childBuild, '--strip-leading-paths', '--config-file', '../../.swcrc'], { cwd: busRoot, stdio: 'pipe' });
  // The child imports @gatehouse/eventstore by package name, which resolves to its dist/.
  execFileSync('npm', ['run', 'build'], { cwd: path.join(busRoot, '../eventstore'), stdio: 'pipe' });
  return path.join(childBuild, 'test-fixtures/relay-child.js');
}

interface ChildHandle {
  process: ChildProcess;
  lines: Record<string, unknown>[];
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

function runChild(entry: string, env: Record<string, string>): ChildHandle {
  const child = spawn(process.execPath, [entry], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters) wake();
  });
  return {
    process: child,
    lines,
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(predicate);
          if (hit !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`relay child: condition not met within ${timeoutMs} ms; stderr: ${stderr.slice(-2_000)}`));
        }, timeoutMs);
        child.once('exit', (code, signal) => {
          if (!lines.some(predicate)) reject(new Error(`relay child exited (${code ?? signal}) early; stderr: ${stderr.slice(-2_000)}`));
        });
        waiters.add(check);
        check();
      });
    },
  };
}

describeIf(`relay crash recovery (PostgreSQL → child process relay → JetStream, ${EVENT_COUNT} events)`, () => {
  const suffix = uniqueSuffix();
  const names = { subjectPrefix: `t${suffix}`, streamName: `T_CRASH_${suffix}`, deadLetterStreamName: `T_CRASH_DLQ_${suffix}` };
  const schema = isolatedSchema('bus_relay_crash');
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let store: EventStore;
  let entry: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    entry = buildChild();
    nc = await connect({ servers: natsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureEventStream(jsm, names);
    store = await openTestStore(postgres.url, schema.name);
  }, 60_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await jsm?.streams.delete(names.streamName).catch(() => undefined);
    await jsm?.streams.delete(names.deadLetterStreamName).catch(() => undefined);
    await nc?.close();
    await store?.close();
    await schema.drop();
  });

  it('holds every stored event exactly once and in commit order after a SIGKILL mid-stream and a restart', async () => {
    const streams = 50;
    for (let offset = 0; offset < EVENT_COUNT; offset += APPEND_BATCH) {
      await store.appendToStream(
        `changeRequest-${suffix}${(offset / APPEND_BATCH) % streams}`,
        Array.from({ length: APPEND_BATCH }, (_, i) => ({ type: 'ChangeRequested', data: { n: offset + i, title: `change ${offset + i}` }, metadata: { actor: 'crash-test' } })),
      );
    }
    // The log readers hold events back behind any write transaction open on the server (another suite's, in CI).
    await visibleHead(store);
    const stored: StoredEvent[] = [];
    for await (const event of store.readAll()) stored.push(event);
    expect(stored).toHaveLength(EVENT_COUNT);

    const env = { NATS_URL: natsUrl(), DATABASE_URL: postgres.url, STORE_SCHEMA: schema.name, CHECKPOINT_NAME: 'relay', SUBJECT_PREFIX: names.subjectPrefix, CHECKPOINT_EVERY: '3000' };
    const first = runChild(entry, env);
    children.push(first.process);
    const killAt = stored[Math.floor(EVENT_COUNT / 3)]!.globalPosition;
    await first.waitFor((line) => line.acked !== undefined && BigInt(line.acked as string) >= killAt);
    first.process.kill('SIGKILL');
    await new Promise((resolve) => first.process.once('exit', resolve));

    const checkpointAfterCrash = await store.readCheckpoint('relay');
    const inStreamAfterCrash = (await jsm.streams.info(names.streamName)).state.messages;
    // The crash must land between publish and checkpoint, or the test proves nothing about duplicates.
    expect(inStreamAfterCrash).toBeLessThan(EVENT_COUNT);
    expect(BigInt(inStreamAfterCrash)).toBeGreaterThan(checkpointAfterCrash ?? 0n);

    const second = runChild(entry, env);
    children.push(second.process);
    const caughtUp = await second.waitFor((line) => line.caughtUp !== undefined, 45_000);
    second.process.kill('SIGTERM');
    const stopped = await second.waitFor((line) => line.stopped === true);
    const metrics = stopped.metrics as { duplicates: number; published: number };
    expect(BigInt(caughtUp.caughtUp as string)).toBe(stored[stored.length - 1]!.globalPosition);
    expect(metrics.duplicates).toBe(inStreamAfterCrash - Number(checkpointAfterCrash ?? 0n));
    expect(metrics.published).toBe(EVENT_COUNT - inStreamAfterCrash);

    const streamed = await readWholeStream(js, names.streamName);
    expect(streamed).toHaveLength(EVENT_COUNT);
    expect(new Set(streamed.map((m) => m.msgId))).toEqual(new Set(stored.map((e) => e.id)));
    expect(streamed.map((m) => m.id)).toEqual(stored.map((e) => e.id));
    expect(streamed.map((m) => m.globalPosition)).toEqual(stored.map((e) => e.globalPosition));
    expect(await store.readCheckpoint('relay')).toBe(stored[stored.length - 1]!.globalPosition);
  }, 60_000);
});
