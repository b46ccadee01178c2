/**
 * The lifecycle against a running gateway (HTTP): releases, change requests, review, approvals,
 * scheduling, deployment operations and the hotfix lane. Each command is one or two API calls;
 * the rules are the gateway's and the services', never re-decided here.
 */
import { randomUUID } from 'node:crypto';
import { Command, Option } from 'commander';
import { CHANGE_KINDS, CHANGE_REQUEST_STATUSES, CHANGE_SIZES, CHANGE_REQUEST_TYPES, IMPACTS, INCIDENT_SEVERITIES, LIKELIHOODS, PRIORITIES, RELEASE_CHANGE_KINDS, RELEASE_STATUSES, RELEASE_TYPES, RISK_LEVELS } from '@gatehouse/domain';
import { ROLES } from '@gatehouse/policy';
import { CliInputError, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { GatewayError, type GatewayClient, type Json } from '../gateway/client.js';
import { connect, withConnection, type ConnectionOptions } from '../gateway/connection.js';
import { documentExitCodes, print, runGatewayCommand, table } from '../gateway/output.js';
import { storyMarkdown } from './why.js';

/** How long `approve` waits for the approval request a completed review leads to. */
const APPROVAL_REQUEST_WAIT_MS = 10_000;
const APPROVAL_RETRY_MS = 250;

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function id(kind: string, value: string): string {
  if (!ID.test(value)) throw new CliInputError(`'${value}' is not a ${kind} id (1-128 letters, digits, "-" or "_")`);
  return encodeURIComponent(value);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInt(option: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) <= 0) throw new CliInputError(`${option} ${value} must be a positive whole number`);
    return Number(value);
  };
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
function instant(option: string) {
  return (value: string): string => {
    if (!INSTANT.test(value) || Number.isNaN(Date.parse(value))) throw new CliInputError(`${option} '${value}' must be an ISO-8601 instant with a zone, e.g. 2026-12-01T10:00:00Z`);
    return value;
  };
}

/** `kind:description` as the release's listed change. */
function parseChange(value: string): { kind: string; description: string } {
  const separator = value.indexOf(':');
  const kind = value.slice(0, separator);
  const description = value.slice(separator + 1).trim();
  if (separator <= 0 || description === '' || !(RELEASE_CHANGE_KINDS as readonly string[]).includes(kind)) {
    throw new CliInputError(`--change '${value}' must be kind:description with a kind of ${RELEASE_CHANGE_KINDS.join(', ')}`);
  }
  return { kind, description };
}

type Options = ConnectionOptions & Record<string, unknown>;

/** Registers a gateway command: connection options, exit codes in --help, failures mapped to exit codes. */
function gatewayCommand(parent: Command, name: string, description: string, io: CliIo, exit: ExitCode, build: (c: Command) => Command, body: (client: GatewayClient, args: string[], options: Options) => Promise<number | void>): Command {
  const command = documentExitCodes(withConnection(build(parent.command(name).description(description))));
  return command.action(async (...params: unknown[]) => {
    const cmd = params.at(-1) as Command;
    const options = cmd.opts<Options>();
    const args = params.slice(0, cmd.registeredArguments.length) as string[];
    await runGatewayCommand(io, exit, options.json, () => body(connect(io, options), args, options));
  });
}

function changeLine(c: Json): string[] {
  return [c.changeRequestId, c.status, c.kind, (c.environments ?? []).join(','), c.service === null || c.service === undefined ? '-' : `${c.service}@${c.version}`, c.title];
}

function releaseHuman(release: Json, plannedAt?: string): string {
  const deployments = Object.entries(release.deployments ?? {}) as [string, Json][];
  return [
    `Release ${release.releaseId}: ${release.service} ${release.version} (${release.releaseType}) — ${release.title}`,
    `Status: ${release.status}, revision ${release.revision}${plannedAt ? `, planned ${plannedAt}` : ''}`,
    ...(release.description ? [`Description: ${release.description}`] : []),
    `Deployments: ${deployments.length === 0 ? '-' : deployments.map(([env, d]) => `${env} ${d.status}${d.completedAt ? ` at ${d.completedAt}` : ''}`).join(', ')}`,
    `Changes (${release.changes.length}):`,
    ...release.changes.map((c: Json) => `  ${c.kind.padEnd(11)} ${c.description}${c.reference ? ` [${c.reference}]` : ''}`),
    ...(release.migrations.length > 0 ? ['Migrations:', ...release.migrations.map((m: Json) => `  ${m.migrationId} ${m.reversible ? 'reversible' : 'IRREVERSIBLE'}: ${m.description}`)] : []),
    '',
  ].join('\n');
}

function changeHuman(view: Json): string {
  const c = view.changeRequest;
  const lastSchedule = [...(view.schedule ?? [])].reverse().find((e: Json) => BOOKING_FACTS.has(e.type));
  const lines = [
    `Change ${c.changeRequestId}: ${c.draft.title}`,
    `Status: ${c.status} (${c.kind}, risk ${c.riskLevel}) to ${c.draft.environments.join(', ')}${c.release ? `, release ${c.release.service} ${c.release.version}` : ''}`,
    `Author: ${c.draft.author}${c.draft.initiator ? `, initiated by ${c.draft.initiator}` : ''}`,
    ...(c.window ? [`Window: ${c.window.start} – ${c.window.end}`] : []),
    ...(lastSchedule ? [`Booking: ${scheduleLine(lastSchedule)}`] : []),
    'History:',
    ...view.history.map((e: Json) => `  ${e.metadata?.occurredAt ?? e.recordedAt}  ${e.type}${e.metadata?.actor ? ` by ${e.metadata.actor}` : ''}${e.data?.reason ? ` — ${e.data.reason}` : ''}`),
    '',
  ];
  return lines.join('\n');
}

/** The schedule stream's facts about where the change is booked (not its timers). */
const BOOKING_FACTS = new Set(['DeploymentScheduled', 'DeploymentRescheduled', 'SchedulingRefused', 'DeploymentStartRefused', 'BookingCancelled']);

export function scheduleLine(event: Json): string {
  const d = event.data ?? {};
  switch (event.type) {
    case 'DeploymentScheduled':
    case 'DeploymentRescheduled':
      return `booked for ${d.scheduledFor}${d.windowId ? ` (window ${d.windowId})` : ''}`;
    case 'SchedulingRefused':
    case 'DeploymentStartRefused':
      return `refused: ${(d.reasons ?? []).join('; ')}${d.nextAllowedAt ? `; next allowed: ${d.nextAllowedAt}` : ''}`;
    case 'BookingCancelled':
      return `cancelled${d.reason ? `: ${d.reason}` : ''}`;
    default:
      return event.type;
  }
}

/** The gateway's "now" (a demo may have moved its clock): the default planned time of a change. */
async function gatewayNow(client: GatewayClient): Promise<string> {
  return (await client.call('GET', '/api/admin/clock')).now;
}

function resultLine(what: string, answer: Json): string {
  const result = answer.result ?? {};
  return `${what}${result.status ? `: ${result.status}` : ''}${result.duplicate ? ' (already done; nothing written)' : ''}\n`;
}

export function registerLifecycleCommands(program: Command, io: CliIo, exit: ExitCode): void {
  // ------------------------------------------------------------ releases
  const release = program.command('release').description('plan releases and read them back, with their release notes');
  gatewayCommand(
    release,
    'create',
    'plan a release of a service version (its id is derived from service and version)',
    io,
    exit,
    (c) =>
      c
        .requiredOption('--service <name>', 'service, e.g. campaign-api')
        .requiredOption('--version <semver>', 'version, e.g. 2.2.0')
        .addOption(new Option('--type <type>', 'release type').choices(RELEASE_TYPES).makeOptionMandatory())
        .requiredOption('--title <text>', 'title')
        .option('--description <text>', 'description')
        .option('--previous-version <semver>', 'the version running now (the type must match the bump)')
        .option('--change <kind:description>', `a listed change, repeatable; kinds: ${RELEASE_CHANGE_KINDS.join(', ')}`, collect, []),
    async (client, _args, o) => {
      const body = {
        service: o['service'],
        version: o['version'],
        type: o['type'],
        title: o['title'],
        ...(o['description'] === undefined ? {} : { description: o['description'] }),
        ...(o['previousVersion'] === undefined ? {} : { previousVersion: o['previousVersion'] }),
        changes: (o['change'] as string[]).map(parseChange),
      };
      const answer = await client.call('POST', '/api/releases', body);
      print(io, o.json, answer, () => `${answer.releaseId}\n`);
    },
  );
  gatewayCommand(release, 'show', 'one release: status, deployments, changes, migrations', io, exit, (c) => c.argument('<releaseId>'), async (client, [releaseId], o) => {
    const answer = await client.call('GET', `/api/releases/${id('release', releaseId!)}`);
    print(io, o.json, answer, () => releaseHuman(answer.release, answer.history[0]?.data?.plannedAt));
  });
  gatewayCommand(
    release,
    'list',
    'releases, the most recently planned first',
    io,
    exit,
    (c) =>
      c
        .option('--service <name>', 'only this service')
        .addOption(new Option('--status <status>', 'only this status').choices(RELEASE_STATUSES))
        .option('--limit <n>', 'at most this many (default 50)', positiveInt('--limit')),
    async (client, _args, o) => {
      const query = new URLSearchParams();
      for (const key of ['service', 'status', 'limit'] as const) if (o[key] !== undefined) query.set(key, String(o[key]));
      const answer = await client.call('GET', `/api/releases${query.size > 0 ? `?${query}` : ''}`);
      print(io, o.json, answer, () =>
        table(['RELEASE', 'SERVICE', 'VERSION', 'TYPE', 'STATUS', 'PLANNED', 'TITLE'], answer.items.map((r: Json) => [r.releaseId, r.service, r.version, r.releaseType, r.status, r.plannedAt, r.title])),
      );
    },
  );
  gatewayCommand(
    release,
    'notes',
    'release notes in the seeds’ format (Markdown; --json for the sections as data)',
    io,
    exit,
    (c) => c.argument('<releaseId>').option('--product <name>', 'product name in the header (default: the service)'),
    async (client, [releaseId], o) => {
      const query = o['product'] === undefined ? '' : `?product=${encodeURIComponent(String(o['product']))}`;
      const answer = await client.call('GET', `/api/releases/${id('release', releaseId!)}/notes${query}`);
      print(io, o.json, answer, () => answer.markdown);
    },
  );

  // ------------------------------------------------------------ change requests
  const cr = program.command('cr').description('change requests: submit, read, list, cancel, close; the whole story with why');
  gatewayCommand(
    cr,
    'submit',
    'submit a change request to one environment; you are its author (prints its id)',
    io,
    exit,
    (c) =>
      c
        .requiredOption('--env <environment>', 'the environment, e.g. staging')
        .option('--release <releaseId>', 'the release it deploys (needed where the environment promotes from another)')
        .requiredOption('--title <text>', 'title')
        .requiredOption('--description <text>', 'what changes and why')
        .addOption(new Option('--kind <kind>', 'change kind').choices(CHANGE_KINDS).default('normal'))
        .addOption(new Option('--type <type>', 'change type').choices(CHANGE_REQUEST_TYPES).default('enhancement'))
        .addOption(new Option('--priority <priority>', 'priority').choices(PRIORITIES).default('medium'))
        .addOption(new Option('--impact <impact>', 'business impact').choices(IMPACTS).default('low'))
        .addOption(new Option('--risk <risk>', 'your risk estimate').choices(RISK_LEVELS).default('low'))
        .addOption(new Option('--likelihood <likelihood>', 'likelihood of a problem').choices(LIKELIHOODS))
        .addOption(new Option('--size <size>', 'size of the change').choices(CHANGE_SIZES))
        .option('--planned <instant>', 'planned start (default: the gateway’s now)', instant('--planned'))
        .option('--duration <minutes>', 'planned duration in minutes', positiveInt('--duration'), 60)
        .option('--maintenance', 'a maintenance change')
        .option('--implementation-plan <text>', 'how it is implemented', 'Roll out the new version with the environment’s strategy')
        .option('--rollback-plan <text>', 'how it is rolled back', 'Roll back to the previous version')
        .option('--testing-plan <text>', 'how it is tested', 'The environment’s testing gates and the post-deployment watch')
        .option('--runbook <ref>', 'runbook reference (production needs one)')
        .option('--migration', 'includes a database migration')
        .option('--hotfix <hotfixId>', 'the hotfix lane an emergency change ships')
        .option('--standard-template <id>', 'pre-approved template of a standard change'),
    async (client, _args, o) => {
      const body = {
        kind: o['kind'],
        title: o['title'],
        description: o['description'],
        type: o['type'],
        priority: o['priority'],
        impact: o['impact'],
        risk: o['risk'],
        ...(o['likelihood'] === undefined ? {} : { likelihood: o['likelihood'] }),
        ...(o['size'] === undefined ? {} : { size: o['size'] }),
        environments: [o['env']],
        schedule: { planned: (o['planned'] as string | undefined) ?? (await gatewayNow(client)), duration: o['duration'], maintenance: o['maintenance'] === true },
        implementationPlan: o['implementationPlan'],
        rollbackPlan: o['rollbackPlan'],
        testingPlan: o['testingPlan'],
        ...(o['runbook'] === undefined ? {} : { runbookRef: o['runbook'] }),
        ...(o['release'] === undefined ? {} : { releaseId: o['release'] }),
        ...(o['hotfix'] === undefined ? {} : { hotfixId: o['hotfix'] }),
        ...(o['standardTemplate'] === undefined ? {} : { standardTemplateId: o['standardTemplate'] }),
        includesMigration: o['migration'] === true,
      };
      const answer = await client.call('POST', '/api/change-requests', body);
      print(io, o.json, answer, () => `${answer.changeRequestId}\n`);
    },
  );
  gatewayCommand(cr, 'show', 'one change request: status, booking, history', io, exit, (c) => c.argument('<changeRequestId>'), async (client, [changeId], o) => {
    const answer = await client.call('GET', `/api/change-requests/${id('change request', changeId!)}`);
    print(io, o.json, answer, () => changeHuman(answer));
  });
  gatewayCommand(
    cr,
    'why',
    'the whole story of a change: every decision, actor, reason and policy version (audit-reader roles)',
    io,
    exit,
    (c) => c.argument('<changeRequestId>').option('--as-of <when>', 'a global position or an ISO-8601 instant'),
    async (client, [changeId], o) => {
      const asOf = o['asOf'] === undefined ? '' : `?asOf=${encodeURIComponent(String(o['asOf']))}`;
      const story = await client.call('GET', `/api/change-requests/${id('change request', changeId!)}/story${asOf}`);
      print(io, o.json, story, () => storyMarkdown(story));
    },
  );
  gatewayCommand(
    cr,
    'list',
    'change requests, the most recently updated first',
    io,
    exit,
    (c) =>
      c
        .addOption(new Option('--status <status>', 'only this status').choices(CHANGE_REQUEST_STATUSES))
        .option('--env <environment>', 'only this environment')
        .option('--service <name>', 'only this service')
        .addOption(new Option('--kind <kind>', 'only this kind').choices(CHANGE_KINDS))
        .option('--limit <n>', 'at most this many', positiveInt('--limit')),
    async (client, _args, o) => {
      const query = new URLSearchParams();
      if (o['env'] !== undefined) query.set('environment', String(o['env']));
      for (const key of ['status', 'service', 'kind', 'limit'] as const) if (o[key] !== undefined) query.set(key, String(o[key]));
      const answer = await client.call('GET', `/api/change-requests${query.size > 0 ? `?${query}` : ''}`);
      print(io, o.json, answer, () => table(['CHANGE', 'STATUS', 'KIND', 'ENV', 'RELEASE', 'TITLE'], answer.items.map(changeLine)));
    },
  );
  gatewayCommand(cr, 'cancel', 'cancel a change request before it is implemented', io, exit, (c) => c.argument('<changeRequestId>').requiredOption('--reason <text>', 'why (recorded)'), async (client, [changeId], o) => {
    const answer = await client.call('POST', `/api/change-requests/${id('change request', changeId!)}/cancel`, { reason: o['reason'] });
    print(io, o.json, answer, () => resultLine(`cancelled ${changeId}`, answer));
  });
  gatewayCommand(
    cr,
    'close',
    'close a validated, rolled-back or failed change',
    io,
    exit,
    (c) => c.argument('<changeRequestId>').option('--post-implementation-review <ref>', 'the review an emergency change closes with'),
    async (client, [changeId], o) => {
      const body = o['postImplementationReview'] === undefined ? {} : { postImplementationReviewRef: o['postImplementationReview'] };
      const answer = await client.call('POST', `/api/change-requests/${id('change request', changeId!)}/close`, body);
      print(io, o.json, answer, () => resultLine(`closed ${changeId}`, answer));
    },
  );

  // ------------------------------------------------------------ review and approvals
  const review = program.command('review').description('review a change request (code_reviewer, tech_lead)');
  gatewayCommand(review, 'start', 'start the review; you become its reviewer', io, exit, (c) => c.argument('<changeRequestId>'), async (client, [changeId], o) => {
    const answer = await client.call('POST', `/api/change-requests/${id('change request', changeId!)}/review`, { action: 'start' });
    print(io, o.json, answer, () => resultLine(`review of ${changeId} started`, answer));
  });
  gatewayCommand(review, 'complete', 'complete the review; approvals are then requested', io, exit, (c) => c.argument('<changeRequestId>').option('--notes <text>', 'review notes'), async (client, [changeId], o) => {
    const answer = await client.call('POST', `/api/change-requests/${id('change request', changeId!)}/review`, { action: 'complete', ...(o['notes'] === undefined ? {} : { notes: o['notes'] }) });
    print(io, o.json, answer, () => resultLine(`review of ${changeId} completed`, answer));
  });
  gatewayCommand(
    program,
    'approve',
    'approve a change request in a role your token holds',
    io,
    exit,
    (c) => c.argument('<changeRequestId>').addOption(new Option('--role <role>', 'the role you approve as').choices(ROLES).makeOptionMandatory()).option('--comment <text>', 'comment'),
    async (client, [changeId], o) => {
      const route = `/api/change-requests/${id('change request', changeId!)}/approvals`;
      const body = { role: o['role'], ...(o['comment'] === undefined ? {} : { comment: o['comment'] }) };
      // Approvals are opened by a reaction to the completed review, a moment after it; the gateway waits for that a few
      // seconds, then answers 503 APPROVALS_NOT_OPENED_YET (nothing written): asked again, with the same key, a while longer.
      const deadline = Date.now() + APPROVAL_REQUEST_WAIT_MS;
      const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
      const idempotencyKey = randomUUID();
      let answer: Json;
      for (;;) {
        try {
          answer = await client.call('POST', route, body, { idempotencyKey });
          break;
        } catch (error) {
          const notOpenedYet = error instanceof GatewayError && error.status === 503 && error.body?.details?.code === 'APPROVALS_NOT_OPENED_YET';
          if (!notOpenedYet || Date.now() >= deadline) throw error;
          await sleep(APPROVAL_RETRY_MS);
        }
      }
      print(io, o.json, answer, () => resultLine(`approved ${changeId} as ${String(o['role'])}`, answer));
    },
  );
  gatewayCommand(
    program,
    'reject',
    'turn a change request down, as an approver (default) or as its reviewer (--in-review)',
    io,
    exit,
    (c) => c.argument('<changeRequestId>').requiredOption('--reason <text>', 'why (recorded)').option('--in-review', 'reject as the reviewer, during review'),
    async (client, [changeId], o) => {
      const answer = await client.call('POST', `/api/change-requests/${id('change request', changeId!)}/rejections`, { reason: o['reason'], stage: o['inReview'] === true ? 'review' : 'approval' });
      print(io, o.json, answer, () => resultLine(`rejected ${changeId}`, answer));
    },
  );
  gatewayCommand(program, 'revoke', 'withdraw your own approval of a change request', io, exit, (c) => c.argument('<changeRequestId>').requiredOption('--reason <text>', 'why (recorded)'), async (client, [changeId], o) => {
    const answer = await client.call('POST', `/api/change-requests/${id('change request', changeId!)}/approvals/revoke`, { reason: o['reason'] });
    print(io, o.json, answer, () => resultLine(`approval of ${changeId} revoked`, answer));
  });

  // ------------------------------------------------------------ scheduling and deployment operations
  gatewayCommand(
    program,
    'schedule',
    'move a booked deployment to an instant, or to the next allowed slot; a refusal prints every reason and the next allowed time',
    io,
    exit,
    (c) => c.argument('<changeRequestId>').requiredOption('--reason <text>', 'why (recorded)').option('--at <instant>', 'the instant wanted (default: the next allowed slot)', instant('--at')),
    async (client, [changeId], o) => {
      const answer = await client.call('POST', `/api/deployments/${id('change request', changeId!)}/schedule`, { reason: o['reason'], ...(o['at'] === undefined ? {} : { at: o['at'] }) });
      const booking = [...((await client.call('GET', `/api/change-requests/${id('change request', changeId!)}`)).schedule ?? [])].reverse().find((e: Json) => BOOKING_FACTS.has(e.type));
      print(io, o.json, { ...answer, booking: booking ?? null }, () => `${changeId} ${booking === undefined ? 'rescheduled' : scheduleLine(booking)}\n`);
    },
  );
  gatewayCommand(program, 'promote', 'promote a canary to its next step (a rollout paused on an inconclusive analysis needs --reason)', io, exit, (c) => c.argument('<changeRequestId>').option('--reason <text>', 'why (recorded)'), async (client, [changeId], o) => {
    const answer = await client.call('POST', `/api/deployments/${id('change request', changeId!)}/promote`, o['reason'] === undefined ? {} : { reason: o['reason'] });
    print(io, o.json, answer, () => resultLine(`promoted ${changeId}`, answer));
  });
  gatewayCommand(program, 'abort', 'abort a running or paused deployment; the previous version is restored', io, exit, (c) => c.argument('<changeRequestId>').requiredOption('--reason <text>', 'why (recorded)'), async (client, [changeId], o) => {
    const answer = await client.call('POST', `/api/deployments/${id('change request', changeId!)}/abort`, { reason: o['reason'] });
    print(io, o.json, answer, () => resultLine(`aborted ${changeId}`, answer));
  });
  gatewayCommand(
    program,
    'rollback',
    'roll a deployment back by hand, within the policy’s manual window',
    io,
    exit,
    (c) => c.argument('<changeRequestId>').requiredOption('--reason <text>', 'why (recorded)').option('--incident-review <ref>', 'the incident review that authorises a late rollback'),
    async (client, [changeId], o) => {
      const answer = await client.call('POST', `/api/deployments/${id('change request', changeId!)}/rollback`, { reason: o['reason'], ...(o['incidentReview'] === undefined ? {} : { incidentReviewRef: o['incidentReview'] }) });
      print(io, o.json, answer, () => resultLine(`rollback of ${changeId} requested`, answer));
    },
  );

  // ------------------------------------------------------------ the hotfix lane
  const hotfix = program.command('hotfix').description('the emergency hotfix lane: open, branch, validate in staging, post-incident review');
  gatewayCommand(
    hotfix,
    'open',
    'open the hotfix lane for an incident (prints the hotfix id)',
    io,
    exit,
    (c) =>
      c
        .requiredOption('--incident <id>', 'incident id')
        .requiredOption('--service <name>', 'affected service')
        .addOption(new Option('--severity <severity>', 'severity').choices(INCIDENT_SEVERITIES).makeOptionMandatory())
        .option('--identified-at <instant>', 'when it was identified (default: now)', instant('--identified-at')),
    async (client, _args, o) => {
      const answer = await client.call('POST', '/api/hotfixes', { incidentId: o['incident'], service: o['service'], severity: o['severity'], ...(o['identifiedAt'] === undefined ? {} : { identifiedAt: o['identifiedAt'] }) });
      print(io, o.json, answer, () => `${answer.hotfixId}\n`);
    },
  );
  gatewayCommand(hotfix, 'branch', 'record the hotfix branch, cut from a tag production runs', io, exit, (c) => c.argument('<hotfixId>').requiredOption('--branch <name>', 'branch').requiredOption('--from-tag <tag>', 'production tag'), async (client, [hotfixId], o) => {
    const answer = await client.call('POST', `/api/hotfixes/${id('hotfix', hotfixId!)}/branch`, { branch: o['branch'], fromTag: o['fromTag'] });
    print(io, o.json, answer, () => resultLine(`branch of ${hotfixId} recorded`, answer));
  });
  gatewayCommand(hotfix, 'validate', 'start the capped staging validation of the hotfix release', io, exit, (c) => c.argument('<hotfixId>').requiredOption('--release <releaseId>', 'the hotfix release'), async (client, [hotfixId], o) => {
    const answer = await client.call('POST', `/api/hotfixes/${id('hotfix', hotfixId!)}/validation/start`, { releaseId: o['release'] });
    print(io, o.json, answer, () => resultLine(`validation of ${hotfixId} started`, answer));
  });
  gatewayCommand(
    hotfix,
    'validated',
    'report how staging validation went',
    io,
    exit,
    (c) => c.argument('<hotfixId>').addOption(new Option('--outcome <outcome>', 'outcome').choices(['passed', 'failed']).makeOptionMandatory()).option('--notes <text>', 'notes'),
    async (client, [hotfixId], o) => {
      const answer = await client.call('POST', `/api/hotfixes/${id('hotfix', hotfixId!)}/validation/complete`, { outcome: o['outcome'], ...(o['notes'] === undefined ? {} : { notes: o['notes'] }) });
      print(io, o.json, answer, () => resultLine(`validation of ${hotfixId} ${String(o['outcome'])}`, answer));
    },
  );
  gatewayCommand(hotfix, 'review', 'record the post-incident review', io, exit, (c) => c.argument('<hotfixId>').requiredOption('--ref <ref>', 'review reference'), async (client, [hotfixId], o) => {
    const answer = await client.call('POST', `/api/hotfixes/${id('hotfix', hotfixId!)}/review`, { reviewRef: o['ref'] });
    print(io, o.json, answer, () => resultLine(`post-incident review of ${hotfixId} recorded`, answer));
  });
  gatewayCommand(hotfix, 'show', 'one hotfix: incident, SLA, validation, obligations', io, exit, (c) => c.argument('<hotfixId>'), async (client, [hotfixId], o) => {
    const answer = await client.call('GET', `/api/hotfixes/${id('hotfix', hotfixId!)}`);
    print(io, o.json, answer, () => `${JSON.stringify(answer.hotfix, null, 2)}\n`);
  });

  // ------------------------------------------------------------ the clock (demos)
  const clock = program.command('clock').description('Gatehouse’s clock: read it; move it for a demo (GATEHOUSE_CLOCK_CONTROL=on, release_engineer or sre)');
  gatewayCommand(clock, 'show', 'what time it is for Gatehouse', io, exit, (c) => c, async (client, _args, o) => {
    const answer = await client.call('GET', '/api/admin/clock');
    print(io, o.json, answer, () => `${answer.now} (control ${answer.control})\n`);
  });
  gatewayCommand(
    clock,
    'set',
    'move the clock of every process to an instant',
    io,
    exit,
    (c) => c.argument('<instant>').option('--stopped', 'hold it there (default: it runs on from there)'),
    async (client, [at], o) => {
      const answer = await client.call('PUT', '/api/admin/clock', { at: instant('<instant>')(at!), running: o['stopped'] !== true });
      print(io, o.json, answer, () => `${answer.now}\n`);
    },
  );
}
