/**
 * `gatehouse flags list|show|set|evaluate`: feature flags of a running Gatehouse, through its gateway
 * (`/api/flags`). Setting a flag in an environment needs that environment's deploy roles. The token comes
 * from --token or $GATEHOUSE_TOKEN (`gatehouse token --sub you --roles sre`), the gateway from --url or $GATEHOUSE_URL.
 */
import { Command } from 'commander';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { call, type ConnectionOptions, DEFAULT_GATEWAY_URL, EXIT_REQUEST_FAILED } from './dlq.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- gateway replies are printed field by field
type Json = any;

const ROLLOUTS = ['immediate', 'percentage', 'user_segment', 'gradual'] as const;

/** One line per environment: on/off and the rollout in words. */
function settingLine(environment: string, setting: Json): string {
  const r = setting.rollout;
  const rollout =
    r.strategy === 'percentage'
      ? `percentage ${r.percentage}%`
      : r.strategy === 'user_segment'
        ? `segments ${r.userSegments.join(',')}`
        : r.strategy === 'gradual'
          ? `gradual from ${r.startAt}${r.rampEndAt ? ` to ${r.rampEndAt}` : ''}`
          : 'immediate';
  const ramp = setting.ramp ? ` (deployment ${setting.ramp.deploymentId} step ${setting.ramp.stepIndex})` : '';
  return `${environment}\t${setting.enabled ? 'on' : 'off'}\t${rollout}\t${setting.changedBy} ${setting.changedAt}${ramp}`;
}

export function registerFlagsCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const flags = program.command('flags').description('feature flags of a running Gatehouse: list, show, set and evaluate them');
  const connection = (command: Command): Command =>
    command
      .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_GATEWAY_URL})`)
      .option('--token <jwt>', 'bearer token (default: $GATEHOUSE_TOKEN)')
      .option('--json', 'print the gateway reply as JSON');
  const done = (reply: Json | null, options: ConnectionOptions, print: (reply: Json) => string): void => {
    if (reply === null) return void (exit.value = EXIT_REQUEST_FAILED);
    io.stdout(options.json ? `${JSON.stringify(reply, null, 2)}\n` : print(reply));
    exit.value = EXIT_OK;
  };

  connection(flags.command('list').description('every flag: name, service, and its setting per environment'))
    .option('--environment <env>', 'only this environment’s settings')
    .action(async (options: ConnectionOptions & { environment?: string }) => {
      const query = options.environment === undefined ? '' : `?${new URLSearchParams({ environment: options.environment }).toString()}`;
      done(await call(io, options, 'GET', `/api/flags${query}`), options, (reply) =>
        reply.flags.length === 0
          ? 'no feature flags\n'
          : (reply.flags as Json[]).map((f) => [`${f.name}${f.service ? ` (service ${f.service})` : ''}`, ...Object.entries(f.environments).map(([env, s]) => `  ${settingLine(env, s)}`)].join('\n') + '\n').join(''),
      );
    });

  connection(flags.command('show').description('one flag').argument('<name>', 'flag name')).action(async (name: string, options: ConnectionOptions) => {
    done(await call(io, options, 'GET', `/api/flags/${encodeURIComponent(name)}`), options, ({ flag }) =>
      [`${flag.name}: ${flag.description || '(no description)'}`, `service: ${flag.service ?? '-'}`, ...Object.entries(flag.environments).map(([env, s]) => settingLine(env, s)), ''].join('\n'),
    );
  });

  connection(
    flags
      .command('set')
      .description('set a flag in an environment (the whole setting, or with --patch only the options given)')
      .argument('<name>', 'flag name')
      .requiredOption('--environment <env>', 'the environment the setting is for')
      .option('--on', 'turn the flag on')
      .option('--off', 'turn the flag off')
      .option('--rollout <strategy>', `one of ${ROLLOUTS.join(', ')}`)
      .option('--percentage <n>', 'percentage rollout: share of users (0-100), by sticky bucket')
      .option('--segments <list>', 'user_segment rollout: comma-separated segments')
      .option('--start-at <instant>', 'gradual rollout: on from this ISO-8601 instant')
      .option('--ramp-end-at <instant>', 'gradual rollout: 100% at this instant, ramping linearly from --start-at')
      .option('--description <text>', 'what the flag is for')
      .option('--service <service>', 'the service whose feature-flag deployments ramp this flag')
      .option('--patch', 'change only what is given (PATCH) instead of replacing the setting (PUT)'),
  ).action(async (name: string, options: ConnectionOptions & SetOptions) => {
    const body = settingBody(options);
    done(await call(io, options, options.patch ? 'PATCH' : 'PUT', `/api/flags/${encodeURIComponent(name)}`, body), options, (reply) =>
      `${reply.events.length === 0 ? 'unchanged' : reply.events.join(', ')}\n${settingLine(options.environment, reply.flag.environments[options.environment])}\n`,
    );
  });

  connection(
    flags
      .command('evaluate')
      .description('is the flag on for a user in an environment (and why)')
      .argument('<name>', 'flag name')
      .requiredOption('--environment <env>', 'the environment to evaluate in')
      .option('--user <id>', 'user id (sticky bucketing); anonymous when absent')
      .option('--segment <segment...>', 'segments the user belongs to'),
  ).action(async (name: string, options: ConnectionOptions & { environment: string; user?: string; segment?: string[] }) => {
    const query = new URLSearchParams({ environment: options.environment, ...(options.user === undefined ? {} : { userId: options.user }) });
    for (const s of options.segment ?? []) query.append('segment', s);
    done(await call(io, options, 'GET', `/api/flags/${encodeURIComponent(name)}/evaluate?${query.toString()}`), options, (r) => `${r.enabled ? 'on' : 'off'}\t${r.reason}\n`);
  });
}

interface SetOptions {
  environment: string;
  on?: boolean;
  off?: boolean;
  rollout?: string;
  percentage?: string;
  segments?: string;
  startAt?: string;
  rampEndAt?: string;
  description?: string;
  service?: string;
  patch?: boolean;
}

/** The request body from the options; the gateway and the flags service check the values and name bad ones. */
function settingBody(o: SetOptions): Record<string, unknown> {
  if (o.on && o.off) throw new CliInputError('--on and --off contradict each other; give one');
  const body: Record<string, unknown> = { environment: o.environment };
  if (o.on || o.off) body['enabled'] = Boolean(o.on);
  else if (!o.patch) throw new CliInputError('give --on or --off (or --patch to change only other fields)');
  if (o.rollout !== undefined) {
    if (!(ROLLOUTS as readonly string[]).includes(o.rollout)) throw new CliInputError(`--rollout must be one of ${ROLLOUTS.join(', ')}; got '${o.rollout}'`);
    const rollout: Record<string, unknown> = { strategy: o.rollout };
    if (o.percentage !== undefined) {
      const n = Number(o.percentage);
      if (o.percentage.trim() === '' || !Number.isFinite(n)) throw new CliInputError(`--percentage must be a number from 0 to 100; got '${o.percentage}'`);
      rollout['percentage'] = n;
    }
    if (o.segments !== undefined) rollout['userSegments'] = o.segments.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (o.startAt !== undefined) rollout['startAt'] = o.startAt;
    if (o.rampEndAt !== undefined) rollout['rampEndAt'] = o.rampEndAt;
    body['rollout'] = rollout;
  } else if (o.percentage !== undefined || o.segments !== undefined || o.startAt !== undefined || o.rampEndAt !== undefined) {
    throw new CliInputError('--percentage, --segments, --start-at and --ramp-end-at go with --rollout');
  } else if (!o.patch) {
    throw new CliInputError(`give --rollout (${ROLLOUTS.join(', ')}), or --patch to keep the current one`);
  }
  if (o.description !== undefined) body['description'] = o.description;
  if (o.service !== undefined) body['service'] = o.service;
  return body;
}

