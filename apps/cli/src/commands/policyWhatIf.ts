/**
 * `gatehouse policy whatif --policies DIR --from --to`: the period's changes decided again under a
 * proposed policy set, on this machine (the proposal never leaves it). The history comes from a
 * gateway's log (`/api/events`, audit-reader token) or from a replay export (`--log FILE`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { type AuditEvent, type LoggedEvent, toAuditEvent, whatIfPolicy, whatIfTable } from '@gatehouse/domain';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import { loadPolicies } from '../policyFiles.js';
import type { ExitCode } from '../program.js';
import { DEFAULT_GATEWAY_URL, EXIT_SERVER_ERROR } from './audit.js';
import { AuditServerError } from './auditClient.js';

/** Events per `/api/events` page (the gateway's maximum). */
const PAGE_SIZE = 1_000;

async function eventsFromGateway(baseUrl: string, token: string | undefined): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for (let after = '0'; ; ) {
    const url = `${baseUrl.replace(/\/$/, '')}/api/events?after=${after}&limit=${PAGE_SIZE}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new AuditServerError(`cannot reach ${url}: ${(error as Error).message}`);
    }
    const body = await response.text();
    if (!response.ok) throw new AuditServerError(`GET /api/events answered ${response.status}: ${body}`);
    const page = JSON.parse(body) as { events: LoggedEvent[]; next: string | null };
    events.push(...page.events.map(toAuditEvent));
    if (page.next === null) return events;
    after = page.next;
  }
}

/** A replay export (`gatehouse audit replay`: `{"event": ...}` lines between a header and an end line) or plain event lines. */
async function eventsFromFile(file: string): Promise<AuditEvent[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliInputError(`cannot read --log ${file}: ${(error as Error).message}`);
  }
  const events: AuditEvent[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let parsed: { event?: LoggedEvent; type?: string };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      throw new CliInputError(`--log ${file} line ${index + 1} is not JSON`);
    }
    const event = parsed.event ?? (typeof parsed.type === 'string' ? (parsed as LoggedEvent) : undefined);
    if (event !== undefined) events.push(toAuditEvent(event));
  }
  return events;
}

const instant = (option: string, value: string): Date => {
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new CliInputError(`${option} ${value} must be a date (2026-11-24) or an ISO-8601 instant (2026-11-24T10:05:00Z)`);
  }
  return new Date(value);
};

export function registerPolicyWhatIfCommand(program: Command, io: CliIo, exit: ExitCode): void {
  const policy = program.commands.find((command) => command.name() === 'policy');
  if (policy === undefined) throw new Error('register the policy commands first');
  policy
    .command('whatif')
    .description('replay a period\'s changes against proposed policies: which would have been refused, delayed (by how long), earlier or allowed')
    .option('--policies <dir>', 'the proposed policy files (default: $GATEHOUSE_POLICIES, else deploy/policies)')
    .requiredOption('--from <date>', 'start of the period (inclusive, governance time)')
    .requiredOption('--to <date>', 'end of the period (exclusive)')
    .option('--log <file>', 'read the history from this replay export (gatehouse audit replay) instead of the gateway')
    .option('--json', 'print the report as JSON')
    .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_GATEWAY_URL})`)
    .option('--token <jwt>', 'bearer token with an audit-reader role (default: $GATEHOUSE_TOKEN)')
    .action(async (options: { policies?: string; from: string; to: string; log?: string; json?: boolean; url?: string; token?: string }) => {
      const from = instant('--from', options.from);
      const to = instant('--to', options.to);
      if (from.getTime() >= to.getTime()) throw new CliInputError(`--from ${options.from} must be before --to ${options.to}`);
      const { policySet } = loadPolicies(io, options.policies);
      try {
        const events = options.log === undefined
          ? await eventsFromGateway(options.url ?? io.env['GATEHOUSE_URL'] ?? DEFAULT_GATEWAY_URL, options.token ?? io.env['GATEHOUSE_TOKEN'])
          : await eventsFromFile(path.resolve(io.cwd, options.log));
        const report = whatIfPolicy(events, policySet, { from, to });
        io.stdout(options.json === true ? `${JSON.stringify(report, null, 2)}\n` : whatIfTable(report));
        exit.value = EXIT_OK;
      } catch (error) {
        if (!(error instanceof AuditServerError)) throw error;
        io.stderr(`error: ${error.message}\n`);
        exit.value = EXIT_SERVER_ERROR;
      }
    });
}
