import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeNats } from './nats.js';
import { freePort } from './system/processes.js';

/** Debian's nats-server (2.9.10 on the build machines). */
export const NATS_SERVER_BINARY = process.env['NATS_SERVER_BINARY'] ?? '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 10_000;

export interface OwnNatsServer {
  readonly url: string;
  readonly port: number;
  /** What the server wrote (its log): permission violations and authorization errors appear here. */
  log(): string;
  /** Stops the server and removes its storage. Idempotent. */
  stop(): Promise<void>;
}

export interface OwnNatsServerOptions {
  /**
   * The configuration file's text for this port and JetStream folder (e.g. `natsServerConfig` from
   * `@gatehouse/bus`); unset: JetStream on 127.0.0.1 without authentication.
   */
  config?: (server: { port: number; storeDir: string }) => string;
  /** Environment of the server process (passwords the configuration references). */
  env?: Record<string, string>;
}

/**
 * A nats-server of the test's own on a free loopback port, so a test can configure (or stop) it
 * without touching the shared server on 4222.
 */
export async function startOwnNatsServer({ config, env = {} }: OwnNatsServerOptions = {}): Promise<OwnNatsServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-nats-'));
  const storeDir = path.join(dir, 'jetstream');
  let args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (config !== undefined) {
    const file = path.join(dir, 'nats-server.conf');
    await writeFile(file, config({ port, storeDir }));
    args = ['-c', file, '-a', '127.0.0.1', '-p', String(port)];
  }
  const child: ChildProcess = spawn(NATS_SERVER_BINARY, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `nats://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })());
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await probeNats(url)).available) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`nats-server did not start on ${url}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, port, log: () => output, stop };
}
