/**
 * `gatehouse dlq list|show|redrive`: the dead letters of a running Gatehouse, through its gateway
 * (`/api/admin/dead-letters`, for SREs and release engineers). The token comes from --token or
 * $GATEHOUSE_TOKEN (mint one with `gatehouse token --roles sre`), the gateway from --url or $GATEHOUSE_URL.
 */
import { Command } from 'commander';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';
/** The gateway refused or failed the request (its status and message are printed). */
export const EXIT_REQUEST_FAILED = 4;

export interface ConnectionOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- gateway replies are printed field by field
type Json = any;

export function registerDlqCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const dlq = program.command('dlq').description('dead letters of a running Gatehouse: list, show and redrive them (sre, release_engineer)');
  const connection = (command: Command): Command =>
    command
      .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_GATEWAY_URL})`)
      .option('--token <jwt>', 'bearer token (default: $GATEHOUSE_TOKEN)')
      .option('--json', 'print the gateway reply as JSON');

  connection(dlq.command('list').description('dead letters, oldest first: id, reason, consumer, event'))
    .option('--after <id>', 'only dead letters after this id')
    .option('--limit <n>', 'at most this many (1–1000)')
    .action(async (options: ConnectionOptions & { after?: string; limit?: string }) => {
      const query = new URLSearchParams({ ...(options.after === undefined ? {} : { after: options.after }), ...(options.limit === undefined ? {} : { limit: options.limit }) }).toString();
      const reply = await call(io, options, 'GET', `/api/admin/dead-letters${query === '' ? '' : `?${query}`}`);
      if (reply === null) return void (exit.value = EXIT_REQUEST_FAILED);
      if (options.json) io.stdout(`${JSON.stringify(reply, null, 2)}\n`);
      else if (reply.deadLetters.length === 0) io.stdout('no dead letters\n');
      else for (const d of reply.deadLetters as Json[]) io.stdout(`${d.id}\t${d.reason}\t${d.consumer ?? '-'}\t${d.originalSubject ?? '-'}\t${d.eventId ?? '-'}\t${d.error ?? ''}\n`);
      exit.value = EXIT_OK;
    });

  connection(dlq.command('show').description('one dead letter with the message it holds').argument('<id>', 'dead letter id (from dlq list)')).action(async (id: string, options: ConnectionOptions) => {
    const reply = await call(io, options, 'GET', `/api/admin/dead-letters/${encodeURIComponent(requireId(id))}`);
    if (reply === null) return void (exit.value = EXIT_REQUEST_FAILED);
    io.stdout(`${JSON.stringify(options.json ? reply : reply.deadLetter, null, 2)}\n`);
    exit.value = EXIT_OK;
  });

  connection(dlq.command('redrive').description('hand a dead letter back to the consumer that parked it').argument('<id>', 'dead letter id (from dlq list)')).action(async (id: string, options: ConnectionOptions) => {
    const reply = await call(io, options, 'POST', `/api/admin/dead-letters/${encodeURIComponent(requireId(id))}/redrive`);
    if (reply === null) return void (exit.value = EXIT_REQUEST_FAILED);
    if (options.json) io.stdout(`${JSON.stringify(reply, null, 2)}\n`);
    else io.stdout(`dead letter ${reply.redriven.id} redriven to ${reply.redriven.consumer}${reply.redriven.eventId ? ` (event ${reply.redriven.eventId})` : ''}\n`);
    exit.value = EXIT_OK;
  });
}

function requireId(id: string): string {
  if (!/^[1-9]\d{0,15}$/.test(id)) throw new CliInputError(`dead letter id '${id}' must be a positive whole number, as dlq list prints it`);
  return id;
}

/** One request to the gateway; prints the refusal and returns null when it is not 2xx. */
export async function call(io: CliIo, options: ConnectionOptions, method: string, path: string, body?: unknown): Promise<Json | null> {
  const token = options.token ?? io.env['GATEHOUSE_TOKEN'];
  if (token === undefined || token.trim() === '') throw new CliInputError('no token: pass --token or set GATEHOUSE_TOKEN (gatehouse token --sub you --roles sre)');
  const base = options.url ?? io.env['GATEHOUSE_URL'] ?? DEFAULT_GATEWAY_URL;
  let url: URL;
  try {
    url = new URL(path, base);
  } catch {
    throw new CliInputError(`--url ${base} is not a URL, e.g. ${DEFAULT_GATEWAY_URL}`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    io.stderr(`error: cannot reach the gateway at ${base}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}\n`);
    return null;
  }
  const text = await response.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: print the text
  }
  if (response.ok) return parsed;
  io.stderr(`error: ${response.status} ${typeof parsed === 'object' && parsed !== null ? `${parsed.error ?? ''}: ${parsed.message ?? text}` : text}\n`);
  return null;
}
