/** `gatehouse policy evaluate | calendar | validate`: the policy engine from the command line. */
import { Command, Option } from 'commander';
import {
  CHANGE_TYPES,
  DEPLOYMENT_STRATEGIES,
  ROLES,
  environmentCalendar,
  evaluateDeployment,
  formatInstant,
  getEnvironmentPolicy,
  interval,
  MS_PER_DAY,
  type Approval,
  type ChangeType,
  type Decision,
  type DeploymentStrategy,
  type EvaluationContext,
  type Role,
} from '@gatehouse/policy';
import { CliInputError, EXIT_OK, EXIT_REFUSED, type CliIo } from '../io.js';
import { loadPolicies } from '../policyFiles.js';
import type { ExitCode } from '../program.js';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const REASON_MARKERS = { allow: 'allow', deny: 'DENY ', info: 'info ' } as const;

interface EvaluateOptions {
  env: string;
  at?: string;
  type: ChangeType;
  strategy?: DeploymentStrategy;
  approval: string[];
  author?: string;
  migration?: boolean;
  runbook?: boolean;
  majorRelease: string[];
  policies?: string;
  json?: boolean;
}

interface CalendarCommandOptions {
  env: string;
  from: string;
  to: string;
  type: ChangeType;
  majorRelease: string[];
  policies?: string;
  json?: boolean;
}

export function registerPolicyCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const policy = program.command('policy').description('evaluate deployments against the environment policies in deploy/policies');

  policy
    .command('evaluate')
    .description('may a deployment start in an environment at an instant? exit 0 allowed, 3 refused, 2 bad input')
    .requiredOption('--env <environment>', 'environment, e.g. production')
    .option('--at <instant>', 'ISO-8601 instant with zone, e.g. 2026-11-25T10:30:00Z (default: now)')
    .addOption(new Option('--type <type>', 'change type').choices(CHANGE_TYPES).default('normal'))
    .addOption(new Option('--strategy <strategy>', 'deployment strategy: also checks that its whole plan fits the window').choices(DEPLOYMENT_STRATEGIES))
    .option('--approval <role:person>', `an approval given, repeatable; roles: ${ROLES.join(', ')}`, collect, [])
    .option('--author <person>', 'author of the change (cannot approve it)')
    .option('--migration', 'the change includes a database migration')
    .option('--runbook', 'the change has runbook documentation')
    .option('--no-runbook', 'the change has no runbook documentation')
    .option('--major-release <instant>', 'a scheduled major release (for freezes), repeatable', collect, [])
    .option('--policies <dir>', 'policy directory (default: $GATEHOUSE_POLICIES or deploy/policies)')
    .option('--json', 'print the decision as JSON')
    .action((options: EvaluateOptions) => {
      exit.value = evaluateCommand(io, options);
    });

  policy
    .command('calendar')
    .description('list allowed windows and blocked periods of an environment between two dates')
    .requiredOption('--env <environment>', 'environment, e.g. production')
    .requiredOption('--from <date>', 'start: a date (00:00Z) or an instant')
    .requiredOption('--to <date>', 'end: a date (inclusive, up to 24:00Z) or an instant (exclusive)')
    .addOption(new Option('--type <type>', 'change type (freezes may exempt some)').choices(CHANGE_TYPES).default('normal'))
    .option('--major-release <instant>', 'a scheduled major release (for freezes), repeatable', collect, [])
    .option('--policies <dir>', 'policy directory (default: $GATEHOUSE_POLICIES or deploy/policies)')
    .option('--json', 'print the calendar as JSON')
    .action((options: CalendarCommandOptions) => {
      exit.value = calendarCommand(io, options);
    });

  policy
    .command('validate')
    .description('check the policy files of a directory; exit 0 valid, 2 invalid')
    .argument('[dir]', 'policy directory (default: --policies, $GATEHOUSE_POLICIES or deploy/policies)')
    .option('--policies <dir>', 'policy directory')
    .action((dir: string | undefined, options: { policies?: string }) => {
      exit.value = validateCommand(io, dir ?? options.policies);
    });
}

function evaluateCommand(io: CliIo, options: EvaluateOptions): number {
  const { policySet } = loadPolicies(io, options.policies);
  const decision = evaluateDeployment(policySet, {
    environment: options.env,
    at: options.at === undefined ? io.now() : parseInstant('--at', options.at),
    changeType: options.type,
    ...(options.strategy ? { strategy: options.strategy } : {}),
    approvals: options.approval.length > 0 ? options.approval.map(parseApproval) : undefined,
    ...(options.author ? { author: options.author } : {}),
    ...(options.migration ? { includesMigration: true } : {}),
    ...(options.runbook === undefined ? {} : { hasRunbook: options.runbook }),
    context: contextOf(options.majorRelease),
  });
  io.stdout(options.json ? `${JSON.stringify(decisionJson(decision), null, 2)}\n` : formatDecision(decision));
  return decision.allowed ? EXIT_OK : EXIT_REFUSED;
}

function calendarCommand(io: CliIo, options: CalendarCommandOptions): number {
  const { policySet } = loadPolicies(io, options.policies);
  const policy = getEnvironmentPolicy(policySet, options.env);
  const from = parseBoundary('--from', options.from, false);
  const to = parseBoundary('--to', options.to, true);
  if (to.getTime() <= from.getTime()) throw new CliInputError(`--to ${options.to} must be after --from ${options.from}`);
  const calendar = environmentCalendar(policy, interval(from, to), { changeType: options.type, context: contextOf(options.majorRelease) });
  if (options.json) {
    const json = {
      environment: calendar.environment,
      from,
      to,
      changeType: options.type,
      policyVersion: policySet.policyVersion,
      allowed: calendar.allowed,
      windows: calendar.windows,
      blocked: calendar.blocked,
    };
    io.stdout(`${JSON.stringify(json, null, 2)}\n`);
    return EXIT_OK;
  }
  const lines = [
    `${calendar.environment} calendar ${formatInstant(from)} – ${formatInstant(to)} (${options.type} changes; ${policy.frequency.description})`,
    '',
    `allowed (${calendar.allowed.length}):`,
    ...calendar.allowed.map((a) => `  ${formatInstant(a.start)} – ${formatInstant(a.end)}  ${weekday(a.start)}`),
    '',
    `blocked (${calendar.blocked.length}):`,
    ...calendar.blocked.map((b) => `  ${formatInstant(b.start)} – ${formatInstant(b.end)}  ${b.name} [${b.ruleId}]`),
    '',
    `policy version: ${policySet.policyVersion}`,
  ];
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

function validateCommand(io: CliIo, dir: string | undefined): number {
  const { dir: resolved, policySet } = loadPolicies(io, dir);
  const environments = Object.values(policySet.environments);
  const optional = environments.filter((p) => p.optional).map((p) => p.environment).sort();
  io.stdout(
    `valid: ${environments.length} environments in ${resolved}\n` +
      `  promotion path: ${policySet.promotionOrder.join(' → ')}\n` +
      (optional.length > 0 ? `  optional: ${optional.join(', ')}\n` : '') +
      `  policy version: ${policySet.policyVersion}\n`,
  );
  return EXIT_OK;
}

function formatDecision(decision: Decision): string {
  const verdict = decision.allowed ? 'ALLOWED' : 'REFUSED';
  const lines = [
    `${verdict}: ${decision.changeType} deployment to ${decision.environment} at ${formatInstant(decision.at)}`,
    ...decision.reasons.map((r) => `  ${REASON_MARKERS[r.kind]}  ${r.message}  [${r.ruleId}]`),
  ];
  if (decision.plan) {
    const fits = !decision.reasons.some((r) => r.kind === 'deny' && r.ruleId.endsWith('/strategy/plan-fits-window'));
    lines.push(`plan: ${decision.plan.strategy}, ${decision.plan.totalMinutes} min, ${formatInstant(decision.plan.start)} – ${formatInstant(decision.plan.end)}; fits: ${fits ? 'yes' : 'no'}`);
    for (const step of decision.plan.steps) {
      lines.push(`  +${step.startOffsetMinutes} min  ${step.name} (${step.trafficPercent}% traffic, ${step.durationMinutes} min${step.analysis ? ', analysis' : ''})`);
    }
  }
  if (decision.nextAllowedAt) lines.push(`next allowed: ${formatInstant(decision.nextAllowedAt)}`);
  lines.push(`policy version: ${decision.policyVersion}`);
  return `${lines.join('\n')}\n`;
}

function decisionJson(decision: Decision) {
  const planFits = decision.plan ? !decision.reasons.some((r) => r.kind === 'deny' && r.ruleId.endsWith('/strategy/plan-fits-window')) : undefined;
  return { ...decision, ...(planFits === undefined ? {} : { planFits }) };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseInstant(option: string, value: string): Date {
  const at = new Date(value);
  if (!INSTANT.test(value) || Number.isNaN(at.getTime())) {
    throw new CliInputError(`${option}: '${value}' is not an ISO-8601 instant with a zone, e.g. 2026-11-25T10:30:00Z`);
  }
  return at;
}

/** A date means its midnight UTC; as an end (`--to`) the whole day is included. */
function parseBoundary(option: string, value: string, isEnd: boolean): Date {
  if (!DATE_ONLY.test(value)) return parseInstant(option, value);
  const midnight = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(midnight.getTime()) || midnight.toISOString().slice(0, 10) !== value) {
    throw new CliInputError(`${option}: '${value}' is not a valid date, e.g. 2026-11-01`);
  }
  return isEnd ? new Date(midnight.getTime() + MS_PER_DAY) : midnight;
}

function parseApproval(value: string): Approval {
  const separator = value.indexOf(':');
  const role = value.slice(0, separator);
  const approver = value.slice(separator + 1);
  if (separator <= 0 || approver === '' || !ROLES.includes(role as Role)) {
    throw new CliInputError(`--approval: '${value}' must be role:person with a role of ${ROLES.join(', ')}`);
  }
  return { role: role as Role, approver };
}

function contextOf(majorReleases: readonly string[]): EvaluationContext {
  return { majorReleases: majorReleases.map((value) => ({ scheduledAt: parseInstant('--major-release', value) })) };
}

function weekday(at: Date): string {
  return at.toLocaleDateString('en-US', { weekday: 'short', timeZone: 'UTC' });
}
