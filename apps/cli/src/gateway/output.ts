/** How a lifecycle command reports: human text by default, JSON with --json; failures with the gateway's reasons. */
import type { Command } from 'commander';
import { EXIT_OK, EXIT_CODES_HELP, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { GatewayError, type Json } from './client.js';

/** Prints what the gateway said when it refused: its message, each reason and the next allowed time when it has them. */
export function describeFailure(error: GatewayError): string {
  const lines = [`error: ${error.message}`];
  const details: Json = error.body?.details ?? error.body ?? {};
  const reasons: unknown = details?.reasons;
  if (Array.isArray(reasons)) for (const reason of reasons) lines.push(`  reason: ${typeof reason === 'string' ? reason : (reason as Json)?.message ?? JSON.stringify(reason)}`);
  const next = details?.nextAllowedAt ?? error.body?.nextAllowedAt;
  if (typeof next === 'string') lines.push(`  next allowed: ${next}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs a command's body and turns a gateway failure into its exit code: the reasons on stderr and,
 * with --json, the gateway's error body on stdout.
 */
export async function runGatewayCommand(io: CliIo, exit: ExitCode, json: boolean | undefined, body: () => Promise<number | void>): Promise<void> {
  try {
    exit.value = (await body()) ?? EXIT_OK;
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    io.stderr(describeFailure(error));
    if (json === true) io.stdout(`${JSON.stringify({ error: error.body?.error ?? 'GatewayError', status: error.status, message: error.message, body: error.body }, null, 2)}\n`);
    exit.value = error.exitCode;
  }
}

export function print(io: CliIo, json: boolean | undefined, value: unknown, human: () => string): void {
  io.stdout(json === true ? `${JSON.stringify(value, null, 2)}\n` : human());
}

/** Every command of a group names the exit codes in its --help. */
export function documentExitCodes(command: Command): Command {
  return command.addHelpText('after', `\n${EXIT_CODES_HELP}`);
}

/** Fixed-width table rows for people. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
