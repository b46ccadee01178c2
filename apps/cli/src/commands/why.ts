/** `gatehouse why <change>`: the whole story of a change, as Markdown for people or JSON for programs. */
import type { Command } from 'commander';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { DEFAULT_GATEWAY_URL, EXIT_SERVER_ERROR } from './audit.js';
import { auditClient, AuditServerError, type ChangeStoryView } from './auditClient.js';

/** Longest rendering of an event's data in the table; the JSON form has all of it. */
const MAX_DETAIL = 160;

/** The facts a reader looks for first, when the event has them; otherwise its data, shortened. */
function detailOf(data: unknown): string {
  if (data === null || typeof data !== 'object') return String(data);
  const record = data as Record<string, unknown>;
  const facts: string[] = [];
  for (const key of ['role', 'approver', 'status', 'environment', 'scheduledFor', 'strategy', 'trafficPercent', 'outcome']) {
    if (record[key] !== undefined && record[key] !== null) facts.push(`${key} ${String(record[key])}`);
  }
  const reasons = record['reasons'] ?? record['reason'];
  if (Array.isArray(reasons)) facts.push(`reasons: ${reasons.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('; ')}`);
  else if (typeof reasons === 'string') facts.push(`reason: ${reasons}`);
  const text = facts.length > 0 ? facts.join(', ') : JSON.stringify(data);
  return (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function storyMarkdown(story: ChangeStoryView): string {
  const policies = [...new Set(story.events.map((e) => e.policyVersion).filter((p): p is string => p !== null))];
  const actors = [...new Set(story.events.map((e) => e.actor).filter((a): a is string => a !== null))];
  const rows = story.events.map(
    (e) => `| ${e.occurredAt ?? '-'} | ${e.globalPosition} | ${e.streamId}@${e.streamVersion} | ${e.type} | ${e.actor ?? '-'} | ${detailOf(e.data)} |`,
  );
  const { state } = story;
  const asOf = story.asOf === null ? '' : ` as of ${'position' in story.asOf ? `position ${story.asOf.position}` : story.asOf.at}`;
  const approval = state.approval === null
    ? 'not requested'
    : `${state.approval.status}${state.approval.grants.length > 0 ? ` (${state.approval.grants.map((g) => `${g.role} by ${g.approver}`).join(', ')})` : ''}`;
  return [
    `# Change ${story.changeRequestId}${asOf}`,
    '',
    `Status: ${state.status}${state.window === null ? '' : `, window ${state.window.start} to ${state.window.end}`}${state.outcome === null ? '' : `, outcome ${state.outcome}`}`,
    `Approval: ${approval}`,
    `${story.events.length} events in ${story.streams.length} streams: ${story.streams.join(', ')}`,
    `Actors: ${actors.join(', ') || '-'}`,
    `Policy versions applied: ${policies.join(', ') || '-'}`,
    '',
    '| governance time | position | stream@version | event | actor | details |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Prove any row: gatehouse audit verify-inclusion --position <position>',
    '',
  ].join('\n');
}

export function registerWhyCommand(program: Command, io: CliIo, exit: ExitCode): void {
  program
    .command('why')
    .description('the whole story of a change: every decision with its actors, policy versions, reasons and the positions that prove it')
    .argument('<changeRequestId>', 'the change request id')
    .option('--json', 'print the story as JSON')
    .option('--as-of <when>', 'time travel: the story and state as of a global position or an ISO-8601 instant')
    .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_GATEWAY_URL})`)
    .option('--token <jwt>', 'bearer token with an audit-reader role (default: $GATEHOUSE_TOKEN)')
    .action(async (changeRequestId: string, options: { json?: boolean; asOf?: string; url?: string; token?: string }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{7,127}$/.test(changeRequestId)) throw new CliInputError(`'${changeRequestId}' is not a change request id (8-128 letters, digits, "-" or "_")`);
      const client = auditClient(options.url ?? io.env['GATEHOUSE_URL'] ?? DEFAULT_GATEWAY_URL, options.token ?? io.env['GATEHOUSE_TOKEN']);
      try {
        if (options.asOf !== undefined && !/^\d{1,19}$/.test(options.asOf) && Number.isNaN(Date.parse(options.asOf))) {
          throw new CliInputError(`--as-of ${options.asOf} must be a global position or an ISO-8601 instant`);
        }
        const story = await client.story(changeRequestId, options.asOf);
        io.stdout(options.json === true ? `${JSON.stringify(story, null, 2)}\n` : storyMarkdown(story));
        exit.value = EXIT_OK;
      } catch (error) {
        if (!(error instanceof AuditServerError)) throw error;
        io.stderr(`error: ${error.message}\n`);
        exit.value = EXIT_SERVER_ERROR;
      }
    });
}
