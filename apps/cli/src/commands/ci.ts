/**
 * CI as a first-class user: `gatehouse ci publish <fact>` sends one CloudEvent 1.0 to POST /api/ingest
 * with the CI token, and `gatehouse ci wait <change>` blocks until the change is deployed (exit 0) or
 * refused, rolled back or ended (exit 3, with the reasons and the next allowed time); `deploy watch`
 * follows the same change with a live progress bar.
 */
import { createHash } from 'node:crypto';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { CHANGE_KINDS, CHANGE_REQUEST_TYPES, IMPACTS, PRIORITIES, RELEASE_CHANGE_KINDS, RELEASE_TYPES, RISK_LEVELS } from '@gatehouse/domain';
import { CliInputError, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import type { GatewayClient, Json } from '../gateway/client.js';
import { connect, withConnection, type ConnectionOptions } from '../gateway/connection.js';
import { DEFAULT_POLL_INTERVAL_MS, DEFAULT_WAIT_TIMEOUT_S, followChange, progressLine, type FollowOutcome, type Progress } from '../gateway/follow.js';
import { documentExitCodes, print, runGatewayCommand } from '../gateway/output.js';

const GATE_STATUSES = ['passed', 'failed', 'timed_out', 'running'] as const;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

type Options = ConnectionOptions & Record<string, unknown>;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function instant(option: string) {
  return (value: string): string => {
    if (!INSTANT.test(value) || Number.isNaN(Date.parse(value))) throw new CliInputError(`${option} '${value}' must be an ISO-8601 instant with a zone, e.g. 2026-12-01T10:00:00Z`);
    return value;
  };
}

function seconds(option: string) {
  return (value: string): number => {
    if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0) throw new CliInputError(`${option} ${value} must be a positive number of seconds`);
    return Number(value);
  };
}

/** Who publishes: $GATEHOUSE_CI_SOURCE, else the CI system's project, else the CLI. */
function sourceOf(io: CliIo, explicit: unknown): string {
  if (typeof explicit === 'string') return explicit;
  const env = io.env;
  if (env['GATEHOUSE_CI_SOURCE']) return env['GATEHOUSE_CI_SOURCE'];
  if (env['GITHUB_REPOSITORY']) return `https://github.com/${env['GITHUB_REPOSITORY']}/actions`;
  if (env['CI_PROJECT_URL']) return `${env['CI_PROJECT_URL']}/-/pipelines`;
  return 'gatehouse-cli';
}

/** The release a fact is about: --release <id>, or --service and --version. */
function releaseRef(o: Options): Json {
  if (o['release'] !== undefined) return { releaseId: o['release'] };
  if (o['service'] !== undefined && o['version'] !== undefined) return { service: o['service'], version: o['version'] };
  throw new CliInputError('name the release: --release <releaseId>, or --service and --version');
}

/**
 * The same fact published twice gets the same id, so Gatehouse applies it once (ingestion is idempotent
 * by source and id): a retried pipeline step does not record a second test run or open a second change.
 */
function factId(type: string, data: unknown, explicit: unknown): string {
  if (typeof explicit === 'string') return explicit;
  return createHash('sha256').update(`${type}\n${JSON.stringify(data)}`).digest('hex').slice(0, 32);
}

async function gatewayNow(client: GatewayClient): Promise<string> {
  return (await client.call('GET', '/api/admin/clock')).now;
}

function withRelease(c: Command): Command {
  return c.option('--release <releaseId>', 'the release (or --service and --version)').option('--service <name>', 'service of the release').option('--version <semver>', 'version of the release');
}

function withEnvelope(c: Command): Command {
  return c.option('--source <uri>', 'CloudEvent source (default: $GATEHOUSE_CI_SOURCE, else the CI project)').option('--id <id>', 'CloudEvent id (default: derived from the fact, so a retry is applied once)');
}

export function registerCiCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const ci = program.command('ci').description('for pipelines: publish release facts as CloudEvents (POST /api/ingest with the CI token) and wait for a change to deploy');
  const publish = ci.command('publish').description('publish one release fact: release-built, testgate, migration, deployment-requested, validation');

  function publisher(name: string, description: string, build: (c: Command) => Command, toEvent: (client: GatewayClient, o: Options) => Promise<{ type: string; data: Json; extra?: Json }>, human: (answer: Json) => string): void {
    const command = documentExitCodes(withConnection(withEnvelope(build(publish.command(name).description(description)))));
    command.action(async (o: Options) => {
      await runGatewayCommand(io, exit, o.json, async () => {
        const client = connect(io, o);
        const { type, data, extra } = await toEvent(client, o);
        const event = { specversion: '1.0', id: factId(type, data, o['id']), source: sourceOf(io, o['source']), type, datacontenttype: 'application/json', data, ...extra };
        const answer = await client.call('POST', '/api/ingest', event);
        print(io, o.json, { event, ...answer }, () => human(answer));
        return EXIT_OK;
      });
    });
  }

  publisher(
    'release-built',
    'a release was built: plans it in Gatehouse (prints the release id)',
    (c) =>
      c
        .requiredOption('--service <name>', 'service')
        .requiredOption('--version <semver>', 'version')
        .addOption(new Option('--type <type>', 'release type').choices(RELEASE_TYPES).makeOptionMandatory())
        .requiredOption('--title <text>', 'title')
        .option('--description <text>', 'description')
        .option('--change <kind:description>', `a listed change, repeatable; kinds: ${RELEASE_CHANGE_KINDS.join(', ')}`, collect, []),
    async (_client, o) => ({
      type: 'gatehouse.release.built',
      data: {
        service: o['service'],
        version: o['version'],
        type: o['type'],
        title: o['title'],
        ...(o['description'] === undefined ? {} : { description: o['description'] }),
        changes: (o['change'] as string[]).map((value) => {
          const separator = value.indexOf(':');
          const kind = value.slice(0, separator);
          if (separator <= 0 || !(RELEASE_CHANGE_KINDS as readonly string[]).includes(kind) || value.slice(separator + 1).trim() === '') {
            throw new CliInputError(`--change '${value}' must be kind:description with a kind of ${RELEASE_CHANGE_KINDS.join(', ')}`);
          }
          return { kind, description: value.slice(separator + 1).trim() };
        }),
      },
    }),
    (answer) => `${answer.result?.streamId?.replace(/^release-/, '') ?? answer.commandId}\n`,
  );

  publisher(
    'testgate',
    'a testing gate ran for a release in an environment',
    (c) =>
      withRelease(c)
        .requiredOption('--env <environment>', 'environment the gate guards')
        .requiredOption('--gate <gateId>', 'gate id of the environment policy, e.g. unit-tests')
        .addOption(new Option('--status <status>', 'result').choices(GATE_STATUSES).makeOptionMandatory())
        .option('--started-at <instant>', 'when it started (default: the gateway’s now)', instant('--started-at'))
        .option('--finished-at <instant>', 'when it finished (default: --started-at, unless running)', instant('--finished-at'))
        .option('--summary <text>', 'one-line summary')
        .option('--report-url <url>', 'link to the report'),
    async (client, o) => {
      const startedAt = (o['startedAt'] as string | undefined) ?? (await gatewayNow(client));
      const finishedAt = o['status'] === 'running' ? undefined : ((o['finishedAt'] as string | undefined) ?? startedAt);
      return {
        type: 'gatehouse.testgate.result',
        data: {
          release: releaseRef(o),
          environment: o['env'],
          gateId: o['gate'],
          status: o['status'],
          startedAt,
          ...(finishedAt === undefined ? {} : { finishedAt }),
          ...(o['summary'] === undefined ? {} : { summary: o['summary'] }),
          ...(o['reportUrl'] === undefined ? {} : { reportUrl: o['reportUrl'] }),
        },
      };
    },
    (answer) => `${answer.command}: ${answer.result?.status ?? 'accepted'}${answer.result?.duplicate ? ' (already recorded)' : ''}\n`,
  );

  publisher(
    'migration',
    'a database migration is part of a release',
    (c) =>
      withRelease(c)
        .requiredOption('--migration-id <id>', 'migration id, e.g. 0042_add_campaign_index')
        .requiredOption('--description <text>', 'what it does')
        .option('--reversible', 'a down-migration exists')
        .option('--irreversible', 'no down-migration: a rollback does not undo it')
        .option('--database <name>', 'database'),
    async (_client, o) => {
      if ((o['reversible'] === true) === (o['irreversible'] === true)) throw new CliInputError('say whether the migration can be undone: --reversible or --irreversible');
      return {
        type: 'gatehouse.migration.included',
        data: { release: releaseRef(o), migrationId: o['migrationId'], description: o['description'], reversible: o['reversible'] === true, ...(o['database'] === undefined ? {} : { database: o['database'] }) },
      };
    },
    (answer) => `${answer.command}: ${answer.result?.status ?? 'accepted'}${answer.result?.duplicate ? ' (already recorded)' : ''}\n`,
  );

  publisher(
    'validation',
    'a post-deployment check (smoke, integration…) ran against a change that deployed',
    (c) =>
      c
        .requiredOption('--change <changeRequestId>', 'the change request that deployed')
        .requiredOption('--check <name>', 'check name of the environment policy’s postDeploymentValidation, e.g. smoke')
        .addOption(new Option('--status <status>', 'result').choices(['passed', 'failed']).makeOptionMandatory())
        .option('--summary <text>', 'one-line summary')
        .option('--report-url <url>', 'link to the report'),
    async (_client, o) => ({
      type: 'gatehouse.validation.result',
      data: {
        changeRequestId: o['change'],
        check: o['check'],
        status: o['status'],
        ...(o['summary'] === undefined ? {} : { summary: o['summary'] }),
        ...(o['reportUrl'] === undefined ? {} : { reportUrl: o['reportUrl'] }),
      },
    }),
    (answer) => `${answer.command}: ${answer.result?.status ?? 'accepted'}${answer.result?.duplicate ? ' (already recorded)' : ''}
`,
  );

  publisher(
    'deployment-requested',
    'ask for a deployment: opens a change request authored by the CI identity (prints its id)',
    (c) =>
      withRelease(c)
        .requiredOption('--env <environment>', 'target environment')
        .option('--initiator <person>', 'whose push asked for it (default: $GITHUB_ACTOR, $GITLAB_USER_LOGIN; may be left out when the CI token carries the initiator claim)')
        .requiredOption('--title <text>', 'title of the change')
        .option('--description <text>', 'description', 'Deployment requested by CI')
        .addOption(new Option('--kind <kind>', 'change kind').choices(CHANGE_KINDS).default('normal'))
        .addOption(new Option('--type <type>', 'change type').choices(CHANGE_REQUEST_TYPES).default('enhancement'))
        .addOption(new Option('--priority <priority>', 'priority').choices(PRIORITIES).default('medium'))
        .addOption(new Option('--impact <impact>', 'impact').choices(IMPACTS).default('low'))
        .addOption(new Option('--risk <risk>', 'risk').choices(RISK_LEVELS).default('low'))
        .option('--planned <instant>', 'planned start (default: the gateway’s now)', instant('--planned'))
        .option('--duration <minutes>', 'planned minutes', '60')
        .option('--runbook <ref>', 'runbook reference (production needs one)')
        .option('--migration', 'includes a database migration'),
    async (client, o) => {
      // A CI token that carries the initiator claim names the person itself; the gateway refuses a value that contradicts it.
      const initiator = [o['initiator'] as string | undefined, io.env['GITHUB_ACTOR'], io.env['GITLAB_USER_LOGIN']].find((v) => v !== undefined && v.trim() !== '');
      const duration = Number(o['duration']);
      if (!Number.isInteger(duration) || duration <= 0) throw new CliInputError(`--duration ${String(o['duration'])} must be a positive whole number of minutes`);
      return {
        type: 'gatehouse.deployment.requested',
        extra: initiator === undefined ? {} : { initiator },
        data: {
          release: releaseRef(o),
          environment: o['env'],
          kind: o['kind'],
          changeRequest: {
            title: o['title'],
            description: o['description'],
            type: o['type'],
            priority: o['priority'],
            impact: o['impact'],
            risk: o['risk'],
            schedule: { planned: (o['planned'] as string | undefined) ?? (await gatewayNow(client)), duration },
            implementationPlan: 'Deploy the release with the environment’s strategy',
            rollbackPlan: 'Roll back to the previous version',
            testingPlan: 'The environment’s testing gates and the post-deployment watch',
            ...(o['runbook'] === undefined ? {} : { runbookRef: o['runbook'] }),
            includesMigration: o['migration'] === true,
          },
        },
      };
    },
    (answer) => `${answer.result?.streamId?.replace(/^changeRequest-/, '') ?? answer.commandId}\n`,
  );

  const waitCommand = documentExitCodes(
    withConnection(
      ci
        .command('wait')
        .description('block until the change is deployed (exit 0), or refused, rolled back or ended (exit 3, printing the reasons and the next allowed time); exit 5 on timeout')
        .argument('<changeRequestId>')
        .option('--timeout <seconds>', `give up after this long (default ${DEFAULT_WAIT_TIMEOUT_S})`, seconds('--timeout'), DEFAULT_WAIT_TIMEOUT_S)
        .option('--interval <seconds>', `pause between two reads (default ${DEFAULT_POLL_INTERVAL_MS / 1000})`, seconds('--interval'), DEFAULT_POLL_INTERVAL_MS / 1000),
    ),
  );
  waitCommand.action(async (changeRequestId: string, o: Options) => {
    await runGatewayCommand(io, exit, o.json, async () => {
      const outcome = await followChange(io, connect(io, o), changeRequestId, {
        intervalMs: Number(o['interval']) * 1000,
        timeoutMs: Number(o['timeout']) * 1000,
        stopOnRefusal: true,
        onProgress: (p) => (o.json === true ? io.stdout(`${JSON.stringify({ changeRequestId, ...p })}\n`) : io.stdout(`${progressLine(changeRequestId, p)}\n`)),
      });
      return reportOutcome(io, changeRequestId, outcome, o.json === true);
    });
  });

  const deploy = program.command('deploy').description('follow deployments');
  const watchCommand = documentExitCodes(
    withConnection(
      deploy
        .command('watch')
        .description('a live progress bar of the change’s deployment, step by step, until it is deployed (exit 0) or rolled back or ended (exit 3)')
        .argument('<changeRequestId>')
        .option('--timeout <seconds>', `give up after this long (default ${DEFAULT_WAIT_TIMEOUT_S})`, seconds('--timeout'), DEFAULT_WAIT_TIMEOUT_S)
        .option('--interval <seconds>', `pause between two reads (default ${DEFAULT_POLL_INTERVAL_MS / 1000})`, seconds('--interval'), DEFAULT_POLL_INTERVAL_MS / 1000),
    ),
  );
  watchCommand.action(async (changeRequestId: string, o: Options) => {
    await runGatewayCommand(io, exit, o.json, async () => {
      const bar = io.isTty === true && o.json !== true ? progressBar() : null;
      let started = false;
      const onProgress = (p: Progress): void => {
        if (o.json === true) return io.stdout(`${JSON.stringify({ changeRequestId, ...p })}\n`);
        if (bar === null) return io.stdout(`${progressLine(changeRequestId, p)}\n`);
        const payload = { what: `${p.environment ?? ''} ${p.version ?? ''}`.trim(), step: p.deployment?.currentStepName ?? p.status, traffic: p.deployment?.trafficPercent ?? 0 };
        if (!started) {
          bar.start(p.deployment?.totalSteps ?? 1, p.deployment?.currentStep ?? 0, payload);
          started = true;
        } else {
          if (p.deployment !== null) bar.setTotal(p.deployment.totalSteps);
          bar.update(p.deployment?.currentStep ?? (p.status === 'implementing' || p.deployment === null ? 0 : 0), payload);
        }
      };
      try {
        const outcome = await followChange(io, connect(io, o), changeRequestId, {
          intervalMs: Number(o['interval']) * 1000,
          timeoutMs: Number(o['timeout']) * 1000,
          stopOnRefusal: false,
          onProgress,
        });
        if (bar !== null && started && outcome.kind === 'deployed') bar.update(bar.getTotal(), { what: `${outcome.progress.environment ?? ''}`, step: outcome.progress.status, traffic: 100 });
        bar?.stop();
        return reportOutcome(io, changeRequestId, outcome, o.json === true);
      } finally {
        bar?.stop();
      }
    });
  });
}

function progressBar(): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { format: '{what} [{bar}] step {value}/{total} {step} ({traffic}% traffic)', hideCursor: true, clearOnComplete: false, stopOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
}

function reportOutcome(io: CliIo, changeRequestId: string, outcome: FollowOutcome, json: boolean): number {
  switch (outcome.kind) {
    case 'deployed':
      if (json) io.stdout(`${JSON.stringify({ changeRequestId, outcome: 'deployed', status: outcome.progress.status })}\n`);
      else io.stdout(`${changeRequestId} deployed to ${outcome.progress.environment} (${outcome.progress.status})\n`);
      return EXIT_OK;
    case 'refused':
    case 'ended': {
      const verdict = outcome.kind === 'refused' ? 'refused' : outcome.progress.status;
      if (json) io.stdout(`${JSON.stringify({ changeRequestId, outcome: verdict, reasons: outcome.reasons, nextAllowedAt: outcome.nextAllowedAt })}\n`);
      io.stderr(
        [`${changeRequestId} ${verdict}${outcome.kind === 'refused' ? ` (${outcome.progress.status})` : ''}:`, ...outcome.reasons.map((r) => `  reason: ${r}`), ...(outcome.nextAllowedAt ? [`  next allowed: ${outcome.nextAllowedAt}`] : [])].join('\n') + '\n',
      );
      return EXIT_REFUSED;
    }
    case 'timeout':
      io.stderr(`${changeRequestId}: still ${outcome.progress?.status ?? 'unknown'} when the wait timed out\n`);
      return EXIT_UNAVAILABLE;
  }
}
