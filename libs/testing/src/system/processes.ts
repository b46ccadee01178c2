/**
 * Gatehouse processes for end-to-end tests and benchmarks: each built entry point (`apps/<name>/dist/main.js`)
 * runs as a real child process, logs to a file, and counts as started once its /health/ready answers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from this file in src/ or dist/ alike. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The built entry point of an app; fails with what to run when it was not built. */
export function entryPoint(app: string): string {
  const entry = path.join(REPO_ROOT, 'apps', app, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first`);
  return entry;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ProcessSpec {
  name: string;
  /** Path of the script node runs. */
  entry: string;
  env: Record<string, string>;
  port: number;
  logFile: string;
  /** @defaultValue 60 s */
  startTimeoutMs?: number;
  /** Extra node options, e.g. ['--cpu-prof'] to profile it. */
  nodeArgs?: string[];
  /** Variables of this process's environment the child must not inherit (e.g. NATS_URL for the embedded form). */
  unset?: string[];
}

export interface ManagedProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Sends the signal and waits for the process to exit (SIGKILL: a crash, no cleanup). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same environment and port, and waits until it is ready. */
  restart(): Promise<void>;
  /** SIGTERM (graceful stop), then SIGKILL if it has not exited after 10 s. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts the process and resolves once GET /health/ready answers 200. */
export async function startProcess(spec: ProcessSpec): Promise<ManagedProcess> {
  const url = `http://127.0.0.1:${spec.port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function launch(): Promise<void> {
    const log = openSync(spec.logFile, 'a');
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(spec.unset ?? []).includes(name)));
    const started = spawn(process.execPath, [...(spec.nodeArgs ?? []), spec.entry], {
      env: { ...inherited, NODE_OPTIONS: '', ...spec.env, PORT: String(spec.port), HOST: '127.0.0.1' },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    child = started;
    let exitCode: number | null | undefined;
    exited = new Promise((resolve) =>
      started.once('exit', (code, signal) => {
        exitCode = code ?? (signal ? -1 : 0);
        resolve();
      }),
    );
    const deadline = Date.now() + (spec.startTimeoutMs ?? 60_000);
    for (;;) {
      if (exitCode !== undefined) throw new Error(`${spec.name} exited (${exitCode}) before it was ready; its log ends:\n${tail(spec.logFile)}`);
      const ready = await fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false);
      if (ready) return;
      if (Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`${spec.name} was not ready after ${spec.startTimeoutMs ?? 60_000} ms; its log ends:\n${tail(spec.logFile)}`);
      }
      await sleep(100);
    }
  }

  async function kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  }

  await launch();
  return {
    name: spec.name,
    url,
    get pid() {
      return child?.pid;
    },
    logFile: spec.logFile,
    kill,
    restart: async () => {
      await kill('SIGKILL');
      await launch();
    },
    stop: async () => {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
