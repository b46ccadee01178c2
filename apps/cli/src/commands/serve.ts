/**
 * `gatehouse serve <service>`: runs one part of the distributed form in the foreground.
 * It SPAWNS (Node cannot exec in place) `node apps/<service>/dist/main.js` — the same entry
 * as `npm run start:<service>` and the containers' `command:` — with the CLI's environment
 * and stdio, forwards SIGINT/SIGTERM to it, and exits with its exit code (2 = bad configuration).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliInputError, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';

/** What `serve` can start: the six services, the outbox relay and the gateway. */
export const SERVABLE = ['gateway', 'change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections', 'relay'] as const;
export type Servable = (typeof SERVABLE)[number];

/** apps/cli/{src,dist}/commands → apps/<name>/dist/main.js: the same depth from sources and from the build. */
export function entryFor(name: Servable, from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  return path.resolve(from, '../../..', name, 'dist/main.js');
}

/** Runs an entry in a child process until it ends; resolves with its exit code. */
export type Launch = (entry: string, env: Readonly<Record<string, string | undefined>>) => Promise<number>;

const SIGNAL_EXIT_BASE = 128;
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGKILL: 9 };

export const spawnEntry: Launch = (entry, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: { ...env } });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? SIGNAL_EXIT_BASE + (signal === null ? 0 : (SIGNAL_NUMBERS[signal] ?? 0)));
    });
  });

export interface ServeOptions {
  launch?: Launch;
  exists?: (file: string) => boolean;
}

export function registerServeCommand(program: Command, io: CliIo, exit: ExitCode, { launch = spawnEntry, exists = existsSync }: ServeOptions = {}): void {
  program
    .command('serve')
    .description('run one service of the distributed form in the foreground (spawns node apps/<service>/dist/main.js; needs DATABASE_URL and NATS_URL)')
    .argument('<service>', SERVABLE.join(' | '))
    .action(async (service: string) => {
      if (!(SERVABLE as readonly string[]).includes(service)) throw new CliInputError(`unknown service '${service}': one of ${SERVABLE.join(', ')}`);
      const entry = entryFor(service as Servable);
      if (!exists(entry)) throw new CliInputError(`${entry} does not exist: build first (npm run build)`);
      exit.value = await launch(entry, io.env);
    });
}
