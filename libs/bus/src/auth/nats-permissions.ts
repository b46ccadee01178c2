/**
 * Who may publish and subscribe to what on NATS, per Gatehouse process, rendered as a nats-server
 * configuration (`authorization { users = [...] }`, understood by nats-server 2.9 and later).
 * Deny by default: each user gets only the subjects its process uses.
 */
import { COMMAND_SEGMENT, DEFAULT_SUBJECT_PREFIX, DLQ_SEGMENT, EVENT_SEGMENT } from '../subjects.js';
import { DEAD_LETTER_CONTEXT } from '../events/dead-letters.js';

/** A service process: the command contexts it serves and the commands (`context.command`) it sends to other services. */
export interface ServiceProcess {
  serves: readonly string[];
  sends: readonly string[];
}

/** Gatehouse's services as they register and send commands today (apps/*: `commands.register` / `commands.send`). */
export const GATEHOUSE_SERVICES: Readonly<Record<string, ServiceProcess>> = {
  'change-requests': { serves: ['changeRequests', 'hotfixes', 'flags', 'releasePlans'], sends: [] },
  approvals: { serves: ['approvals'], sends: ['changeRequests.getChange', 'releasePlans.getReleasePlan'] },
  scheduling: { serves: ['scheduling'], sends: [] },
  deployments: { serves: ['deployments'], sends: ['flags.rampFlags', 'flags.turnOffFlags', 'flags.flagsOfService'] },
  monitoring: { serves: ['monitoring'], sends: [] },
  projections: { serves: ['projections'], sends: [] },
};

/**
 * Where a user's connections receive replies (nats.js `inboxPrefix`): each user subscribes only to its
 * own, so no one can read the replies addressed to another process. Clients of the `ci` user set it too
 * (e.g. `nats --inbox-prefix _INBOX_ci`).
 */
export function inboxPrefixOf(user: string): string {
  return `_INBOX_${user}`;
}

/** NATS users besides the services: the gateway, the relay, CI publishers, and an operator. */
export const GATEWAY_USER = 'gateway';
export const RELAY_USER = 'relay';
/** CI systems publishing release facts on `<prefix>.ingest.>`. */
export const INGEST_USER = 'ci';
/** Operators and tooling (`nats` CLI, stream clean-up): everything. */
export const ADMIN_USER = 'admin';

export interface NatsLayout {
  /** @defaultValue DEFAULT_SUBJECT_PREFIX */
  prefix?: string;
  /** @defaultValue 'GATEHOUSE_EVENTS' */
  eventStream?: string;
  /** @defaultValue 'GATEHOUSE_DLQ' */
  deadLetterStream?: string;
  /** Stream of the shared clock setting. @defaultValue `<PREFIX>_CLOCK` */
  clockStream?: string;
  /** @defaultValue GATEHOUSE_SERVICES */
  services?: Readonly<Record<string, ServiceProcess>>;
}

export interface UserPermissions {
  publish: string[];
  subscribe: string[];
  /** May answer requests it received (command replies), on their reply subjects only. */
  allowResponses: boolean;
}

/** The permissions of every Gatehouse NATS user, by user name (process name). */
export function natsPermissions({
  prefix = DEFAULT_SUBJECT_PREFIX,
  eventStream = 'GATEHOUSE_EVENTS',
  deadLetterStream = 'GATEHOUSE_DLQ',
  clockStream = `${prefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_CLOCK`,
  services = GATEHOUSE_SERVICES,
}: NatsLayout = {}): Record<string, UserPermissions> {
  const cmd = (subject: string) => `${prefix}.${COMMAND_SEGMENT}.${subject}`;
  const clockSet = `${prefix}.admin.clock.set`;
  const clockState = `${prefix}.admin.clock.state`;
  // Requests get their replies on the requester's own inbox.
  const inbox = (user: string) => `${inboxPrefixOf(user)}.>`;
  // The stream management every process does at start (create or update the streams it needs) and reads.
  const streamApi = [eventStream, deadLetterStream, clockStream].flatMap((stream) => ['INFO', 'CREATE', 'UPDATE'].map((op) => `$JS.API.STREAM.${op}.${stream}`));
  const jetStream = ['$JS.API.INFO', ...streamApi, `$JS.API.STREAM.MSG.GET.${clockStream}`, `$JS.API.DIRECT.GET.${clockStream}`, `$JS.API.DIRECT.GET.${clockStream}.>`];
  // Durable and replay consumers on the events stream, and each durable's redrive consumer on the dead-letter
  // stream: create, look up, pull, acknowledge, delete.
  const consuming = [eventStream, deadLetterStream].flatMap((stream) => [
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.ACK.${stream}.>`,
  ]);
  // Every service process answers `deadLetters.list|get|redrive`: it reads and deletes dead letters by sequence.
  const deadLetterAdmin = [`$JS.API.STREAM.MSG.GET.${deadLetterStream}`, `$JS.API.STREAM.MSG.DELETE.${deadLetterStream}`];
  const deadLetters = `${prefix}.${DLQ_SEGMENT}.>`;

  const users: Record<string, UserPermissions> = {
    [GATEWAY_USER]: {
      // Commands to every service, ingest facts it could not process to the DLQ, and the shared clock.
      publish: [cmd('>'), `${prefix}.${DLQ_SEGMENT}.ingest.>`, clockSet, clockState, ...jetStream],
      subscribe: [inbox(GATEWAY_USER), `${prefix}.ingest.>`, clockSet],
      allowResponses: true,
    },
    // The only publisher of events.
    [RELAY_USER]: { publish: [`${prefix}.${EVENT_SEGMENT}.>`, ...jetStream], subscribe: [inbox(RELAY_USER)], allowResponses: false },
    [INGEST_USER]: { publish: [`${prefix}.ingest.>`], subscribe: [inbox(INGEST_USER)], allowResponses: false },
  };
  for (const [name, service] of Object.entries(services)) {
    users[name] = {
      publish: [...service.sends.map(cmd), deadLetters, ...jetStream, ...consuming, ...deadLetterAdmin],
      subscribe: [...service.serves.map((context) => cmd(`${context}.>`)), cmd(`${DEAD_LETTER_CONTEXT}.>`), inbox(name), clockSet],
      allowResponses: true,
    };
  }
  return users;
}

export interface NatsServerConfigOptions extends NatsLayout {
  /**
   * How each user's password appears: `'env'` renders a reference to `GATEHOUSE_NATS_<USER>_PASSWORD`
   * (nats-server reads it from its environment at start), or literal passwords by user (tests).
   * @defaultValue 'env'
   */
  passwords?: 'env' | Readonly<Record<string, string>>;
  /** Listen port. @defaultValue 4222 */
  port?: number;
  /** Listen address. @defaultValue '0.0.0.0' */
  host?: string;
  /** JetStream storage folder. @defaultValue '/data/jetstream' */
  storeDir?: string;
  /** HTTP monitoring port; none when unset. */
  monitorPort?: number;
}

/** The environment variable holding a user's password in the rendered configuration. */
export function natsPasswordVariable(user: string): string {
  return `GATEHOUSE_NATS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

/** A nats-server configuration file enforcing {@link natsPermissions}, with an `admin` user for operators. */
export function natsServerConfig({ passwords = 'env', port = 4222, host = '0.0.0.0', storeDir = '/data/jetstream', monitorPort, ...layout }: NatsServerConfigOptions = {}): string {
  const permissions = natsPermissions(layout);
  const password = (user: string): string => {
    if (passwords === 'env') return `$${natsPasswordVariable(user)}`;
    const literal = passwords[user];
    if (literal === undefined) throw new RangeError(`no password given for NATS user '${user}'`);
    return JSON.stringify(literal);
  };
  const list = (subjects: readonly string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  const lines = [
    '# Gatehouse NATS server: JetStream, and one user per process with only the subjects it uses.',
    '# Generated by `gatehouse nats-config` (libs/bus/src/auth/nats-permissions.ts); edit that, not this file.',
    ...(passwords === 'env' ? ['# Passwords come from the environment: ' + [...Object.keys(permissions), ADMIN_USER].map(natsPasswordVariable).join(', ')] : []),
    `host: ${JSON.stringify(host)}`,
    `port: ${port}`,
    ...(monitorPort === undefined ? [] : [`http_port: ${monitorPort}`]),
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    'authorization {',
    '  users = [',
    ...Object.entries(permissions).map(
      ([user, p]) =>
        `    { user: ${JSON.stringify(user)}, password: ${password(user)}, permissions: { publish: { allow: ${list(p.publish)} }, subscribe: { allow: ${list(p.subscribe)} }${p.allowResponses ? ', allow_responses: true' : ''} } }`,
    ),
    `    { user: ${JSON.stringify(ADMIN_USER)}, password: ${password(ADMIN_USER)} }`,
    '  ]',
    '}',
    '',
  ];
  return lines.join('\n');
}
