/**
 * A nats-server and a PostgreSQL cluster of a test's own, on free ports, that the test may stop and
 * start again (infrastructure-fault tests). Never the shared servers on 4222/5432: stopping those
 * would break every other suite.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { probeNats } from '../nats.js';
import { freePort } from './processes.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A server the test controls: stop it (an outage), start it again on the same port and data. */
export interface OwnServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and deletes its data. */
  close(): Promise<void>;
}

async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** `NATS_SERVER_BIN` (or `NATS_SERVER_BINARY`) or /usr/sbin/nats-server (Debian's package). */
export function natsServerBinary(): string {
  return process.env['NATS_SERVER_BIN'] ?? process.env['NATS_SERVER_BINARY'] ?? '/usr/sbin/nats-server';
}
export const NATS_SERVER_BINARY = natsServerBinary();

export interface OwnNatsServer extends OwnServer {
  /** The server's HTTP monitoring endpoint (`/subsz?subs=1` lists every subscription). */
  readonly monitorUrl: string;
  /** What the server wrote (its log): permission violations and authorization errors appear here. */
  log(): string;
}

export interface OwnNatsServerOptions {
  /**
   * The configuration file's text for this port and JetStream folder (e.g. `natsServerConfig` from
   * `@gatehouse/bus`, with users and permissions); unset: JetStream on 127.0.0.1 without authentication.
   */
  config?: (server: { port: number; storeDir: string }) => string;
  /** Environment of the server process (passwords the configuration references). */
  env?: Record<string, string>;
}

/** nats-server with JetStream on a free loopback port, its store in a temporary folder, with monitoring. */
export async function startOwnNatsServer({ config, env = {} }: OwnNatsServerOptions = {}): Promise<OwnNatsServer> {
  const port = await freePort();
  const monitorPort = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-nats-'));
  const storeDir = path.join(dir, 'jetstream');
  const url = `nats://127.0.0.1:${port}`;
  const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)];
  if (config === undefined) args.push('-js', '-sd', storeDir);
  else {
    const file = path.join(dir, 'nats-server.conf');
    await writeFile(file, config({ port, storeDir }));
    args.unshift('-c', file);
  }
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async (): Promise<void> => {
    if (running()) return;
    const started = spawn(natsServerBinary(), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child = started;
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    await waitUntil(`nats-server on ${port}`, async () => {
      if (!running()) throw new Error(`nats-server on ${port} exited:\n${output}`);
      return (await probeNats(url)).available;
    });
  };
  const stop = async (): Promise<void> => {
    if (!running()) return;
    child!.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url,
    port,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    log: () => output,
    start,
    stop,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The subjects somebody subscribes to on `server` (from its monitoring endpoint), e.g. every command subject of a running system. */
export async function subscribedSubjects(server: OwnNatsServer): Promise<string[]> {
  const response = await fetch(`${server.monitorUrl}/subsz?subs=1&limit=100000`);
  const body = (await response.json()) as { subscriptions_list?: Array<{ subject: string }> };
  return [...new Set((body.subscriptions_list ?? []).map((s) => s.subject))].sort();
}

/** The newest PostgreSQL server binaries installed (`PG_BIN_DIR` or /usr/lib/postgresql/<newest>/bin). */
export function postgresBinDir(): string {
  const given = process.env['PG_BIN_DIR'];
  if (given !== undefined) return given;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions[0] === undefined) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql), or set PG_BIN_DIR');
  return path.join(root, versions[0], 'bin');
}

/**
 * PostgreSQL refuses to run as root: as root, the cluster's commands run as the `postgres` user
 * (Debian's package creates it) through `su`; otherwise as the current user.
 */
async function asClusterOwner(command: string[]): Promise<void> {
  const quoted = command.map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
  if (process.getuid?.() === 0) await run('su', ['postgres', '-s', '/bin/sh', '-c', quoted]);
  else await run('/bin/sh', ['-c', quoted]);
}

/**
 * A PostgreSQL cluster of its own (initdb, trust auth, loopback on a free port, fsync off: it is
 * thrown away, and only its processes crash, never the machine). `stop()` is an immediate-mode shutdown: connections are cut as in a crash.
 */
export async function startOwnPostgres(): Promise<OwnServer> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  await asClusterOwner([path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const answers = async (): Promise<boolean> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  // fsync off only matters when the machine crashes; synchronous_commit stays on, or an immediate
  // shutdown (the outage tests' crash) would lose commits already reported to the clients.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`;
  const start = async (): Promise<void> => {
    if (await answers()) return;
    await asClusterOwner([path.join(bin, 'pg_ctl'), '-D', data, '-o', options, '-l', path.join(dir, 'postgres.log'), 'start']);
    await waitUntil(`PostgreSQL on ${port}`, answers);
  };
  const stop = async (): Promise<void> => {
    await asClusterOwner([path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  };
  await start();
  return {
    url,
    port,
    start,
    stop,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
