/**
 * `gatehouse audit compliance|dora|state|rederive`: the auditors' reports, fetched from a gateway
 * and printed as Markdown for people, or as JSON / CSV for programs.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { rederivationMarkdown, type RederivationReport } from '@gatehouse/domain';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { DEFAULT_GATEWAY_URL, EXIT_SERVER_ERROR } from './audit.js';
import { AuditServerError } from './auditClient.js';

/** A re-derivation found recorded decisions the events do not justify. */
export const EXIT_UNJUSTIFIED_DECISIONS = 4;

interface ReportOptions {
  url?: string;
  token?: string;
  out?: string;
}

/** GET `route`, returning the body as text (any content type); AuditServerError on failure. */
async function fetchText(baseUrl: string, token: string | undefined, route: string): Promise<string> {
  const url = `${baseUrl.replace(/\/$/, '')}${route}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  } catch (error) {
    throw new AuditServerError(`cannot reach ${url}: ${(error as Error).message}`);
  }
  const body = await response.text();
  if (!response.ok) {
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      // not JSON: the raw body is the message
    }
    throw new AuditServerError(`GET ${route} answered ${response.status}: ${message}`);
  }
  return body;
}

const instant = (option: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new CliInputError(`${option} ${value} must be a date (2026-11-24) or an ISO-8601 instant (2026-11-24T10:05:00Z)`);
  }
  return new Date(value).toISOString();
};

export function registerAuditReportCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const audit = program.commands.find((command) => command.name() === 'audit');
  if (audit === undefined) throw new Error('register the audit commands first');
  const withServer = (command: Command): Command =>
    command
      .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_GATEWAY_URL})`)
      .option('--token <jwt>', 'bearer token with an audit-reader role (default: $GATEHOUSE_TOKEN)')
      .option('--out <file>', 'write the report to this file instead of standard output');
  /** Fetches, prints (or writes --out) and maps the gateway's failures to EXIT_SERVER_ERROR. */
  const report = async (
    options: ReportOptions,
    route: string,
    exitCodeOf: (body: string) => number = () => EXIT_OK,
    render?: (report: RederivationReport) => string,
    out: string | undefined = options.out,
  ): Promise<void> => {
    try {
      const body = await fetchText(options.url ?? io.env['GATEHOUSE_URL'] ?? DEFAULT_GATEWAY_URL, options.token ?? io.env['GATEHOUSE_TOKEN'], route);
      const shown = render === undefined ? body : render(JSON.parse(body) as RederivationReport);
      if (out === undefined) io.stdout(shown.endsWith('\n') ? shown : `${shown}\n`);
      else await writeFile(path.resolve(io.cwd, out), shown);
      exit.value = exitCodeOf(body);
    } catch (error) {
      if (!(error instanceof AuditServerError)) throw error;
      io.stderr(`error: ${error.message}\n`);
      exit.value = EXIT_SERVER_ERROR;
    }
  };
  const periodQuery = (options: { from?: string; to?: string }, format: string): string => {
    const query = new URLSearchParams({ format });
    const from = instant('--from', options.from);
    const to = instant('--to', options.to);
    if (from !== undefined) query.set('from', from);
    if (to !== undefined) query.set('to', to);
    return query.toString();
  };
  const formatOf = (value: string | undefined, allowed: string[]): string => {
    const format = value ?? 'markdown';
    if (!allowed.includes(format)) throw new CliInputError(`--format ${format} must be one of ${allowed.join(', ')}`);
    return format;
  };

  withServer(
    audit
      .command('compliance')
      .description('compliance report for a period: production changes with approvals and separation of duties, emergency changes, rollbacks, policy changes')
      .option('--from <date>', 'start of the period (inclusive); default: 30 days before --to')
      .option('--to <date>', 'end of the period (exclusive); default: now')
      .option('--format <format>', 'markdown (default), csv or json'),
  ).action((options: ReportOptions & { from?: string; to?: string; format?: string }) =>
    report(options, `/api/audit/compliance?${periodQuery(options, formatOf(options.format, ['markdown', 'csv', 'json']))}`),
  );

  withServer(
    audit
      .command('dora')
      .description('DORA metrics per service and environment (deployment frequency, lead time, change failure rate, time to restore), approval latency and freeze-bypass rate')
      .option('--from <date>', 'start of the period (inclusive); default: 30 days before --to')
      .option('--to <date>', 'end of the period (exclusive); default: now')
      .option('--format <format>', 'markdown (default) or json'),
  ).action((options: ReportOptions & { from?: string; to?: string; format?: string }) =>
    report(options, `/api/audit/dora?${periodQuery(options, formatOf(options.format, ['markdown', 'json']))}`),
  );

  withServer(
    audit
      .command('state')
      .description('time travel: what ran, was deploying, scheduled, approved or awaiting approval in an environment at a moment, and which policy applied')
      .requiredOption('--as-of <when>', 'an ISO-8601 instant (governance time) or a global position')
      .option('--environment <name>', 'the environment', 'production')
      .option('--format <format>', 'markdown (default) or json'),
  ).action((options: ReportOptions & { asOf: string; environment: string; format?: string }) => {
    const asOf = /^\d{1,19}$/.test(options.asOf) ? options.asOf : instant('--as-of', options.asOf)!;
    const query = new URLSearchParams({ asOf, environment: options.environment, format: formatOf(options.format, ['markdown', 'json']) });
    return report(options, `/api/audit/state?${query.toString()}`);
  });

  withServer(
    audit
      .command('rederive')
      .description('replay the raw events through the same pure deciders under the policy in force at the time; exit 4 listing every recorded decision the events do not justify')
      .option('--until <position>', 'replay up to this global position (default: the whole log)')
      .option('--format <format>', 'markdown (default) or json'),
  ).action((options: ReportOptions & { until?: string; format?: string }) => {
    if (options.until !== undefined && !/^\d{1,19}$/.test(options.until)) throw new CliInputError(`--until ${options.until} must be a global position (a non-negative integer)`);
    const format = formatOf(options.format, ['markdown', 'json']);
    const query = new URLSearchParams({ format: 'json', ...(options.until === undefined ? {} : { until: options.until }) });
    // Always fetched as JSON, so the exit code can say whether every decision held; rendered as asked.
    return report({ ...options, out: undefined }, `/api/audit/rederive?${query.toString()}`, (body) => (JSON.parse(body) as { ok: boolean }).ok ? EXIT_OK : EXIT_UNJUSTIFIED_DECISIONS, format === 'json' ? undefined : rederivationMarkdown, options.out);
  });
}
